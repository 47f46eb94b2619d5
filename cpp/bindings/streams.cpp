// dind._core.Streams: logs, attach, exec, stats and events as Python iterators.
//
// Reads run on the calling thread with the GIL released; on the main thread Ctrl-C cancels a blocked read and
// raises KeyboardInterrupt (see SignalWatch); close() from any thread ends it.
#include "dind/streams.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common.hpp"
#include "dind/events.hpp"
#include "dind/exec.hpp"
#include "dind/frames.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

using dind::py::Interruptible;
using dind::py::json_call;
using dind::py::without_gil;

// Locks a stream for one Python thread. Never wait for it holding the GIL: the thread that has it may need the
// GIL for its signal checks.
std::unique_lock<std::mutex> lock_use(std::mutex& m) {
  std::unique_lock<std::mutex> lock(m, std::try_to_lock);
  if (!lock.owns_lock()) {
    py::gil_scoped_release release;
    lock.lock();
  }
  return lock;
}

py::bytes to_bytes(const std::string& s) {
  return py::bytes(s.data(), s.size());
}

std::optional<dind::Clock::duration> seconds_opt(const std::optional<double>& s) {
  if (!s) return std::nullopt;
  return std::chrono::duration_cast<dind::Clock::duration>(std::chrono::duration<double>(*s));
}

enum class Mode { bytes, demux, frames };

Mode parse_mode(const std::string& m) {
  if (m == "bytes") return Mode::bytes;
  if (m == "demux") return Mode::demux;
  if (m == "frames") return Mode::frames;
  throw py::value_error("mode must be \"bytes\", \"demux\" or \"frames\", not \"" + m + "\"");
}

// Output of logs / attach / exec start. Iteration yields bytes, (stdout, stderr) pairs with one side None, or
// (stream id, bytes); duplex streams (attach, exec with stdin) also write stdin and half-close.
class OutputStream {
 public:
  OutputStream(dind::FrameReader reader, Mode mode) : reader_(std::move(reader)), mode_(mode) {}
  ~OutputStream() {
    reader_.close();
    calls_.stop();
  }

  // bytes, or a tuple (the mode's): typing.Any in the stubs.
  dind::py::AnyValue next() { return dind::py::named<dind::py::AnyValue>(next_chunk()); }
  dind::py::AnyValue read_all(bool demux) { return dind::py::named<dind::py::AnyValue>(rest(demux)); }

  py::object next_chunk() {
    auto use = lock_use(use_mu_);
    dind::OutputChunk c;
    if (!take(c)) throw py::stop_iteration();
    switch (mode_) {
      case Mode::bytes: return to_bytes(c.data);
      case Mode::demux:
        if (c.stream == dind::StdStream::err) return py::make_tuple(py::none(), to_bytes(c.data));
        return py::make_tuple(to_bytes(c.data), py::none());
      case Mode::frames: return py::make_tuple(static_cast<int>(c.stream), to_bytes(c.data));
    }
    return py::none();
  }

  // The rest of the output: bytes, or (stdout, stderr) with None for a side that had nothing.
  py::object rest(bool demux) {
    auto use = lock_use(use_mu_);
    std::string out, err;
    if (!ended_) {
      std::pair<std::string, std::string> rest;
      std::string all;
      run([&] {
        if (demux)
          rest = reader_.read_all_split();
        else
          all = reader_.read_all();
      });
      ended_ = true;
      out = demux ? std::move(rest.first) : std::move(all);
      err = std::move(rest.second);
      if (!leftover_.empty()) out.insert(0, leftover_);
      leftover_.clear();
    }
    if (!demux) return to_bytes(out);
    return py::make_tuple(out.empty() ? py::object(py::none()) : py::object(to_bytes(out)),
                          err.empty() ? py::object(py::none()) : py::object(to_bytes(err)));
  }

  // Up to `n` bytes of output (stdout and stderr together); b"" at the end. n < 0: the next chunk.
  py::bytes read(long long n) {
    auto use = lock_use(use_mu_);
    if (leftover_.empty()) {
      dind::OutputChunk c;
      if (take(c)) leftover_ = std::move(c.data);
    }
    std::size_t k = leftover_.size();
    if (n >= 0 && static_cast<std::size_t>(n) < k) k = static_cast<std::size_t>(n);
    py::bytes out(leftover_.data(), k);
    leftover_.erase(0, k);
    return out;
  }

  void write(const std::string& data) {
    auto use = lock_use(use_mu_);
    run([&] { reader_.write(data); });
  }
  // shutdown(SHUT_WR) never blocks, and it is a plain syscall on the socket: allowed while another thread reads.
  void close_write() {
    py::gil_scoped_release release;
    reader_.close_write();
  }
  void close() noexcept { reader_.close(); }  // any thread, no lock: it must reach a blocked reader
  void set_mode(const std::string& m) { mode_ = parse_mode(m); }
  void set_idle_timeout(std::optional<double> seconds) { reader_.set_idle_timeout(seconds_opt(seconds)); }
  bool tty() const { return reader_.tty(); }
  bool duplex() const { return reader_.duplex(); }
  bool closed() const { return reader_.closed(); }
  const std::string& context() const { return reader_.context(); }

 private:
  template <class Job>
  void run(Job&& job) {
    calls_.run(
        job, [this] { reader_.close(); }, Interruptible::Kind::per_chunk);
  }
  // The next chunk (leftover of read() first). Errors and Ctrl-C end the stream.
  bool take(dind::OutputChunk& c) {
    if (!leftover_.empty()) {
      c.stream = dind::StdStream::out;
      c.data = std::move(leftover_);
      leftover_.clear();
      return true;
    }
    if (ended_) return false;
    bool ok = false;
    try {
      run([&] { ok = reader_.next(c); });
    } catch (...) {
      ended_ = true;
      throw;
    }
    if (!ok) ended_ = true;
    return ok;
  }

  dind::FrameReader reader_;
  Mode mode_;
  Interruptible calls_;
  std::mutex use_mu_;  // one Python thread at a time uses the stream (close() excepted)
  bool ended_ = false;
  std::string leftover_;
};

// A JSON-lines stream (events, stats): dicts with decode, else each line as bytes.
class JsonLines {
 public:
  JsonLines(dind::JsonStream stream, bool decode) : stream_(std::move(stream)), decode_(decode) {}
  ~JsonLines() {
    stream_.close();
    calls_.stop();
  }

  dind::py::AnyValue next() {
    auto use = lock_use(use_mu_);
    if (ended_) throw py::stop_iteration();
    bool ok = false;
    nlohmann::json value;
    std::string line;
    try {
      calls_.run([&] { ok = decode_ ? stream_.next(value) : stream_.next_line(line); }, [this] { stream_.close(); },
                 Interruptible::Kind::per_chunk);
    } catch (...) {
      ended_ = true;
      throw;
    }
    if (!ok) {
      ended_ = true;
      throw py::stop_iteration();
    }
    return dind::py::named<dind::py::AnyValue>(decode_ ? dind::py::to_python(value) : py::object(to_bytes(line)));
  }
  void close() noexcept { stream_.close(); }
  void set_idle_timeout(std::optional<double> seconds) { stream_.set_idle_timeout(seconds_opt(seconds)); }
  const std::string& context() const { return stream_.context(); }

 private:
  dind::JsonStream stream_;
  bool decode_;
  Interruptible calls_;
  std::mutex use_mu_;
  bool ended_ = false;
};

// A "since"/"until" argument: int/float seconds, or a string passed as is (RFC 3339, Go duration).
std::optional<std::string> time_arg(const py::object& v) {
  if (v.is_none()) return std::nullopt;
  if (py::isinstance<py::bool_>(v)) throw py::type_error("since/until must be a number, a datetime or a string");
  if (py::isinstance<py::int_>(v)) return std::to_string(v.cast<long long>());
  if (py::isinstance<py::float_>(v)) return dind::unix_time_arg(v.cast<double>());
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  throw py::type_error("since/until must be a number of seconds or a string here (datetime is converted in Python)");
}

struct Streams {
  dind::Client client;
};

}  // namespace

DIND_BINDINGS(streams) {
  py::class_<OutputStream> output(m, "OutputStream",
                                  "Container output (logs, attach, exec). Iterate for chunks; read_all() for "
                                  "everything. close() from any thread ends a blocked read.");
  dind::py::def_stream_protocol(output)
      .def("read_all", &OutputStream::read_all, "demux"_a = false,
           "The rest of the output: bytes, or (stdout, stderr) with `demux` (None for a side that had nothing).")
      .def("read", &OutputStream::read, "n"_a = -1,
           "Up to `n` bytes of output, stdout and stderr together (the next chunk if n < 0); b\"\" at the end.")
      .def(
          "write",
          [](OutputStream& s, const py::typing::Union<py::bytes, py::str>& data) { s.write(data.cast<std::string>()); },
          "data"_a, "Writes `data` (bytes, or str as UTF-8) to the stdin of a duplex stream.")
      .def("close_write", &OutputStream::close_write, "Half-closes: the process sees EOF on stdin (any thread).")
      .def("close", &OutputStream::close, "Ends the stream, and a read blocked on it (any thread).")
      .def("set_mode", &OutputStream::set_mode, "mode"_a,
           "What iteration yields: \"bytes\", \"demux\" ((stdout, stderr) pairs) or \"frames\" ((stream id, bytes)).")
      .def("set_idle_timeout", &OutputStream::set_idle_timeout, "seconds"_a,
           "A read that waits longer than `seconds` for data raises TimeoutError (None: no limit).")
      .def_property_readonly("tty", &OutputStream::tty, "True when the output is a TTY's (raw, not multiplexed).")
      .def_property_readonly("duplex", &OutputStream::duplex, "True when stdin can be written (attach, exec).")
      .def_property_readonly("closed", &OutputStream::closed, "True once close() was called.")
      .def_property_readonly("context", &OutputStream::context, "What the stream is of, for messages.");

  py::class_<JsonLines> json_lines(m, "JsonLines",
                                   "A JSON-lines stream (events, stats): dicts when decoding, else bytes lines.");
  dind::py::def_stream_protocol(json_lines)
      .def("close", &JsonLines::close, "Ends the stream, and a read blocked on it (any thread).")
      .def("set_idle_timeout", &JsonLines::set_idle_timeout, "seconds"_a,
           "A read that waits longer than `seconds` for a line raises TimeoutError (None: no limit).")
      .def_property_readonly("context", &JsonLines::context, "What the stream is of, for messages.");

  py::class_<Streams>(m, "Streams", "Streaming endpoints: logs, attach, exec, stats, events.")
      .def(py::init([](const dind::Client& c) { return Streams{c}; }), "client"_a,
           "The streaming endpoints of `client`.")
      .def(
          "logs",
          [](Streams& s, const std::string& id, bool stdout_, bool stderr_, bool follow, bool timestamps,
             const std::string& tail, const py::object& since, const py::object& until, std::optional<bool> tty,
             const std::string& mode, std::optional<double> idle_timeout) {
            dind::LogsOptions o;
            o.stdout_stream = stdout_;
            o.stderr_stream = stderr_;
            o.follow = follow;
            o.timestamps = timestamps;
            o.tail = tail;
            o.since = time_arg(since);
            o.until = time_arg(until);
            o.tty = tty;
            o.idle_timeout = seconds_opt(idle_timeout);
            const Mode md = parse_mode(mode);
            return std::make_unique<OutputStream>(
                without_gil([&] { return dind::ContainerStreams(s.client).logs(id, o); }), md);
          },
          "id"_a, "stdout"_a = true, "stderr"_a = true, "follow"_a = false, "timestamps"_a = false, "tail"_a = "all",
          "since"_a = py::none(), "until"_a = py::none(), "tty"_a = py::none(), "mode"_a = "bytes",
          "idle_timeout"_a = py::none(),
          "GET /containers/{id}/logs as an OutputStream (`tty`: the container's, when known, saves an inspect).")
      .def(
          "attach",
          [](Streams& s, const std::string& id, bool stdin_, bool stdout_, bool stderr_, bool logs, bool stream,
             std::optional<std::string> detach_keys, std::optional<bool> tty, const std::string& mode,
             std::optional<double> idle_timeout) {
            dind::AttachOptions o;
            o.stdin_stream = stdin_;
            o.stdout_stream = stdout_;
            o.stderr_stream = stderr_;
            o.logs = logs;
            o.stream = stream;
            o.detach_keys = std::move(detach_keys);
            o.tty = tty;
            o.idle_timeout = seconds_opt(idle_timeout);
            const Mode md = parse_mode(mode);
            return std::make_unique<OutputStream>(
                without_gil([&] { return dind::ContainerStreams(s.client).attach(id, o); }), md);
          },
          "id"_a, "stdin"_a = false, "stdout"_a = true, "stderr"_a = true, "logs"_a = false, "stream"_a = true,
          "detach_keys"_a = py::none(), "tty"_a = py::none(), "mode"_a = "bytes", "idle_timeout"_a = py::none(),
          "POST /containers/{id}/attach, hijacked: a duplex OutputStream.")
      .def(
          "stats",
          [](Streams& s, const std::string& id, bool decode, bool one_shot) {
            return std::make_unique<JsonLines>(
                without_gil([&] { return dind::ContainerStreams(s.client).stats(id, one_shot); }), decode);
          },
          "id"_a, "decode"_a = false, "one_shot"_a = false,
          "GET /containers/{id}/stats as a JsonLines stream (one sample a second).")
      .def(
          "stats_once",
          [](Streams& s, const std::string& id, bool one_shot) {
            return json_call<dind::py::JsonObject>(
                [&] { return dind::ContainerStreams(s.client).stats_once(id, one_shot); });
          },
          "id"_a, "one_shot"_a = false, "GET /containers/{id}/stats?stream=false: one sample as a dict.")
      .def(
          "container_tty",
          [](Streams& s, const std::string& id) {
            py::gil_scoped_release release;
            return dind::ContainerStreams(s.client).tty(id);
          },
          "id"_a, "Whether the container has a TTY (Config.Tty).")
      .def(
          "events",
          [](Streams& s, const py::object& since, const py::object& until, const py::object& filters, bool decode,
             std::optional<double> idle_timeout) {
            dind::EventsOptions o;
            o.since = time_arg(since);
            o.until = time_arg(until);
            if (!filters.is_none()) o.filters = dind::py::from_python(filters);
            o.idle_timeout = seconds_opt(idle_timeout);
            return std::make_unique<JsonLines>(without_gil([&] { return dind::Events(s.client).stream(o); }), decode);
          },
          "since"_a = py::none(), "until"_a = py::none(), "filters"_a = py::none(), "decode"_a = false,
          "idle_timeout"_a = py::none(), "GET /events as a JsonLines stream.")
      .def(
          "exec_create",
          [](Streams& s, const std::string& container, const std::vector<std::string>& cmd, bool stdout_, bool stderr_,
             bool stdin_, bool tty, bool privileged, const std::string& user,
             const std::vector<std::string>& environment, const std::string& workdir,
             std::optional<std::string> detach_keys) {
            dind::ExecConfig c;
            c.cmd = cmd;
            c.attach_stdout = stdout_;
            c.attach_stderr = stderr_;
            c.attach_stdin = stdin_;
            c.tty = tty;
            c.privileged = privileged;
            c.user = user;
            c.env = environment;
            c.workdir = workdir;
            c.detach_keys = std::move(detach_keys);
            py::gil_scoped_release release;
            return dind::Exec(s.client).create(container, c);
          },
          "container"_a, "cmd"_a, "stdout"_a = true, "stderr"_a = true, "stdin"_a = false, "tty"_a = false,
          "privileged"_a = false, "user"_a = "", "environment"_a = std::vector<std::string>{}, "workdir"_a = "",
          "detach_keys"_a = py::none(), "Creates an exec; returns its id.")
      .def(
          "exec_start",
          [](Streams& s, const std::string& exec_id, std::optional<bool> tty, const std::string& mode,
             std::optional<double> idle_timeout) {
            const Mode md = parse_mode(mode);
            return std::make_unique<OutputStream>(
                without_gil([&] { return dind::Exec(s.client).start(exec_id, tty, seconds_opt(idle_timeout)); }), md);
          },
          "exec_id"_a, "tty"_a = py::none(), "mode"_a = "bytes", "idle_timeout"_a = py::none(),
          "POST /exec/{id}/start, hijacked: a duplex OutputStream of the command's output.")
      .def(
          "exec_start_detached",
          [](Streams& s, const std::string& exec_id, bool tty) {
            py::gil_scoped_release release;
            dind::Exec(s.client).start_detached(exec_id, tty);
          },
          "exec_id"_a, "tty"_a = false, "POST /exec/{id}/start with Detach: the command runs on its own.")
      .def(
          "exec_inspect",
          [](Streams& s, const std::string& exec_id) {
            return json_call<dind::py::JsonObject>([&] { return dind::Exec(s.client).inspect(exec_id); });
          },
          "exec_id"_a, "GET /exec/{id}/json.")
      .def(
          "exec_exit_code",
          [](Streams& s, const std::string& exec_id, double wait) -> std::optional<long long> {
            py::gil_scoped_release release;
            auto c = dind::Exec(s.client).exit_code(
                exec_id, std::chrono::duration_cast<dind::Clock::duration>(std::chrono::duration<double>(wait)));
            if (!c) return std::nullopt;
            return static_cast<long long>(*c);
          },
          "exec_id"_a, "wait"_a = 5.0, "The exit code once the exec ended (polls up to `wait` seconds), else None.")
      .def(
          "exec_resize",
          [](Streams& s, const std::string& exec_id, int height, int width) {
            py::gil_scoped_release release;
            dind::Exec(s.client).resize(exec_id, height, width);
          },
          "exec_id"_a, "height"_a, "width"_a, "POST /exec/{id}/resize: the TTY's size.");
}
