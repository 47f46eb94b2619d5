// dind._core.Streams: logs, attach, exec, stats and events as Python iterators.
//
// Blocking reads run on a helper thread owned by the stream, while the calling thread waits for them in 100 ms
// slices with the GIL released, taking it back between slices to let Python run its signal handlers: a read that
// waits for events can thus be interrupted by Ctrl-C (KeyboardInterrupt), and close() from any thread ends it.
// Read-only streams read one chunk ahead on that thread, which overlaps the socket with the Python consumer.
#include "dind/streams.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <condition_variable>
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

// One helper thread that runs blocking jobs one at a time for a stream.
class Worker {
 public:
  Worker() = default;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() { stop(); }

  // Queues `job` (the worker must be idle). GIL: any.
  void submit(std::function<void()> job) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    job_ = std::move(job);
    busy_ = true;
    error_ = nullptr;
    cv_.notify_all();
  }
  bool busy() {
    std::lock_guard<std::mutex> lock(mu_);
    return busy_;
  }

  // Waits for the job with the GIL released (call with it held). A pending signal whose handler raises (Ctrl-C)
  // calls `cancel`, waits for the job to give up and throws error_already_set; a job's exception is rethrown.
  void wait(const std::function<void()>& cancel) {
    bool interrupted = false;
    std::exception_ptr error;
    {
      // Fast path: the chunk read ahead is already there; no need to let go of the GIL.
      std::unique_lock<std::mutex> lock(mu_);
      if (!busy_) {
        error = std::exchange(error_, nullptr);
        lock.unlock();
        if (error) std::rethrow_exception(error);
        return;
      }
    }
    {
      py::gil_scoped_release release;
      std::unique_lock<std::mutex> lock(mu_);
      while (busy_) {
        if (cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return !busy_; })) break;
        lock.unlock();
        {
          py::gil_scoped_acquire acquire;
          if (PyErr_CheckSignals() != 0) interrupted = true;
        }
        lock.lock();
        if (interrupted) {
          lock.unlock();
          cancel();
          lock.lock();
          cv_.wait(lock, [this] { return !busy_; });
          break;
        }
      }
      error = std::exchange(error_, nullptr);
    }
    if (interrupted) throw py::error_already_set();
    if (error) std::rethrow_exception(error);
  }

  // Runs `job` on the worker and waits for it (interruptibly).
  void run(std::function<void()> job, const std::function<void()>& cancel) {
    submit(std::move(job));
    wait(cancel);
  }

  void stop() noexcept {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return quit_ || job_; });
      if (!job_) return;
      auto job = std::move(job_);
      job_ = nullptr;
      lock.unlock();
      std::exception_ptr e;
      try {
        job();
      } catch (...) {
        e = std::current_exception();
      }
      lock.lock();
      error_ = e;
      busy_ = false;
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool busy_ = false;
  bool quit_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

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
  OutputStream(dind::FrameReader reader, Mode mode) : reader_(std::move(reader)), mode_(mode) {
    read_ahead_ = !reader_.duplex();  // a duplex stream's reads and writes share its one connection: in turn
  }
  ~OutputStream() {
    reader_.close();
    worker_.stop();
  }

  py::object next() {
    auto use = lock_use(use_mu_);
    if (ended_) throw py::stop_iteration();
    dind::OutputChunk c;
    if (!take(c)) {
      ended_ = true;
      throw py::stop_iteration();
    }
    if (read_ahead_ && !reader_.closed()) start_read();
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
  py::object read_all(bool demux) {
    auto use = lock_use(use_mu_);
    std::string out, err;
    if (!ended_) {
      dind::OutputChunk first;
      bool have_first = false;
      if (pending_) have_first = take(first);
      std::pair<std::string, std::string> rest;
      std::string all;
      worker_.run(
          [&] {
            if (demux)
              rest = reader_.read_all_split();
            else
              all = reader_.read_all();
          },
          cancel_fn());
      ended_ = true;
      if (demux) {
        out = std::move(rest.first);
        err = std::move(rest.second);
        if (have_first) (first.stream == dind::StdStream::err ? err : out).insert(0, first.data);
      } else {
        out = std::move(all);
        if (have_first) out.insert(0, first.data);
      }
    }
    if (!demux) return to_bytes(out);
    return py::make_tuple(out.empty() ? py::object(py::none()) : py::object(to_bytes(out)),
                          err.empty() ? py::object(py::none()) : py::object(to_bytes(err)));
  }

  // Up to `n` bytes of output (stdout and stderr together); b"" at the end. n < 0: the next chunk.
  py::bytes read(long long n) {
    auto use = lock_use(use_mu_);
    if (leftover_.empty() && !ended_) {
      dind::OutputChunk c;
      if (take(c))
        leftover_ = std::move(c.data);
      else
        ended_ = true;
    }
    std::size_t k = leftover_.size();
    if (n >= 0 && static_cast<std::size_t>(n) < k) k = static_cast<std::size_t>(n);
    py::bytes out(leftover_.data(), k);
    leftover_.erase(0, k);
    return out;
  }

  void write(const std::string& data) {
    auto use = lock_use(use_mu_);
    if (pending_) wait_pending_into_leftover();
    worker_.run([&] { reader_.write(data); }, cancel_fn());
  }
  // shutdown(SHUT_WR) never blocks, and it is a plain syscall on the socket: allowed while another thread reads.
  void close_write() {
    py::gil_scoped_release release;
    reader_.close_write();
  }
  void close() noexcept { reader_.close(); }  // any thread, no lock: it must reach a blocked reader
  void set_mode(const std::string& m) { mode_ = parse_mode(m); }
  void set_idle_timeout(std::optional<double> seconds) {
    if (seconds)
      reader_.set_idle_timeout(
          std::chrono::duration_cast<dind::Clock::duration>(std::chrono::duration<double>(*seconds)));
    else
      reader_.set_idle_timeout(std::nullopt);
  }
  bool tty() const { return reader_.tty(); }
  bool duplex() const { return reader_.duplex(); }
  bool closed() const { return reader_.closed(); }
  const std::string& context() const { return reader_.context(); }

 private:
  std::function<void()> cancel_fn() {
    return [this] { reader_.close(); };
  }
  void start_read() {
    pending_ = true;
    worker_.submit([this] { slot_ok_ = reader_.next(slot_); });
  }
  // The next chunk: the one read ahead, or one read now. Errors end the stream.
  bool take(dind::OutputChunk& c) {
    if (!leftover_.empty()) {
      c.stream = dind::StdStream::out;
      c.data = std::move(leftover_);
      leftover_.clear();
      return true;
    }
    if (!pending_) start_read();
    try {
      worker_.wait(cancel_fn());
    } catch (...) {
      pending_ = false;
      ended_ = true;
      throw;
    }
    pending_ = false;
    if (!slot_ok_) return false;
    c = std::move(slot_);
    slot_ = {};
    return true;
  }
  void wait_pending_into_leftover() {
    dind::OutputChunk c;
    if (take(c))
      leftover_ = std::move(c.data);
    else
      ended_ = true;
  }

  dind::FrameReader reader_;
  Mode mode_;
  bool read_ahead_ = false;
  Worker worker_;
  std::mutex use_mu_;  // one Python thread at a time uses the stream (close() excepted)
  bool pending_ = false;
  dind::OutputChunk slot_;
  bool slot_ok_ = false;
  bool ended_ = false;
  std::string leftover_;
};

// A JSON-lines stream (events, stats): dicts with decode, else each line as bytes.
class JsonLines {
 public:
  JsonLines(dind::JsonStream stream, bool decode) : stream_(std::move(stream)), decode_(decode) {}
  ~JsonLines() {
    stream_.close();
    worker_.stop();
  }

  py::object next() {
    auto use = lock_use(use_mu_);
    if (ended_) throw py::stop_iteration();
    if (!pending_) start_read();
    try {
      worker_.wait([this] { stream_.close(); });
    } catch (...) {
      pending_ = false;
      ended_ = true;
      throw;
    }
    pending_ = false;
    if (!ok_) {
      ended_ = true;
      throw py::stop_iteration();
    }
    py::object result = decode_ ? dind::py::to_python(value_) : py::object(to_bytes(line_));
    start_read();  // one line ahead
    return result;
  }
  void close() noexcept { stream_.close(); }
  void set_idle_timeout(std::optional<double> seconds) {
    if (seconds)
      stream_.set_idle_timeout(
          std::chrono::duration_cast<dind::Clock::duration>(std::chrono::duration<double>(*seconds)));
    else
      stream_.set_idle_timeout(std::nullopt);
  }
  const std::string& context() const { return stream_.context(); }

 private:
  void start_read() {
    pending_ = true;
    worker_.submit([this] { ok_ = decode_ ? stream_.next(value_) : stream_.next_line(line_); });
  }

  dind::JsonStream stream_;
  bool decode_;
  Worker worker_;
  std::mutex use_mu_;
  bool pending_ = false;
  bool ok_ = false;
  bool ended_ = false;
  nlohmann::json value_;
  std::string line_;
};

std::optional<dind::Clock::duration> seconds_opt(const std::optional<double>& s) {
  if (!s) return std::nullopt;
  return std::chrono::duration_cast<dind::Clock::duration>(std::chrono::duration<double>(*s));
}

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
  py::class_<OutputStream>(m, "OutputStream",
                           "Container output (logs, attach, exec). Iterate for chunks; read_all() for everything. "
                           "close() from any thread ends a blocked read.")
      .def(
          "__iter__", [](OutputStream& s) -> OutputStream& { return s; }, py::return_value_policy::reference)
      .def("__next__", &OutputStream::next)
      .def("read_all", &OutputStream::read_all, "demux"_a = false)
      .def("read", &OutputStream::read, "n"_a = -1)
      .def("write", &OutputStream::write, "data"_a)
      .def("close_write", &OutputStream::close_write)
      .def("close", &OutputStream::close)
      .def("set_mode", &OutputStream::set_mode, "mode"_a)
      .def("set_idle_timeout", &OutputStream::set_idle_timeout, "seconds"_a)
      .def_property_readonly("tty", &OutputStream::tty)
      .def_property_readonly("duplex", &OutputStream::duplex)
      .def_property_readonly("closed", &OutputStream::closed)
      .def_property_readonly("context", &OutputStream::context)
      .def(
          "__enter__", [](OutputStream& s) -> OutputStream& { return s; }, py::return_value_policy::reference)
      .def("__exit__", [](OutputStream& s, py::args) {
        s.close();
        return false;
      });

  py::class_<JsonLines>(m, "JsonLines", "A JSON-lines stream (events, stats): dicts when decoding, else bytes lines.")
      .def(
          "__iter__", [](JsonLines& s) -> JsonLines& { return s; }, py::return_value_policy::reference)
      .def("__next__", &JsonLines::next)
      .def("close", &JsonLines::close)
      .def("set_idle_timeout", &JsonLines::set_idle_timeout, "seconds"_a)
      .def_property_readonly("context", &JsonLines::context)
      .def(
          "__enter__", [](JsonLines& s) -> JsonLines& { return s; }, py::return_value_policy::reference)
      .def("__exit__", [](JsonLines& s, py::args) {
        s.close();
        return false;
      });

  py::class_<Streams>(m, "Streams", "Streaming endpoints: logs, attach, exec, stats, events.")
      .def(py::init([](const dind::Client& c) { return Streams{c}; }), "client"_a)
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
            std::optional<dind::FrameReader> r;
            {
              py::gil_scoped_release release;
              r.emplace(dind::ContainerStreams(s.client).logs(id, o));
            }
            return std::make_unique<OutputStream>(std::move(*r), md);
          },
          "id"_a, "stdout"_a = true, "stderr"_a = true, "follow"_a = false, "timestamps"_a = false, "tail"_a = "all",
          "since"_a = py::none(), "until"_a = py::none(), "tty"_a = py::none(), "mode"_a = "bytes",
          "idle_timeout"_a = py::none())
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
            std::optional<dind::FrameReader> r;
            {
              py::gil_scoped_release release;
              r.emplace(dind::ContainerStreams(s.client).attach(id, o));
            }
            return std::make_unique<OutputStream>(std::move(*r), md);
          },
          "id"_a, "stdin"_a = false, "stdout"_a = true, "stderr"_a = true, "logs"_a = false, "stream"_a = true,
          "detach_keys"_a = py::none(), "tty"_a = py::none(), "mode"_a = "bytes", "idle_timeout"_a = py::none())
      .def(
          "stats",
          [](Streams& s, const std::string& id, bool decode, bool one_shot) {
            std::optional<dind::JsonStream> j;
            {
              py::gil_scoped_release release;
              j.emplace(dind::ContainerStreams(s.client).stats(id, one_shot));
            }
            return std::make_unique<JsonLines>(std::move(*j), decode);
          },
          "id"_a, "decode"_a = false, "one_shot"_a = false)
      .def(
          "stats_once",
          [](Streams& s, const std::string& id, bool one_shot) {
            nlohmann::json j;
            {
              py::gil_scoped_release release;
              j = dind::ContainerStreams(s.client).stats_once(id, one_shot);
            }
            return dind::py::to_python(j);
          },
          "id"_a, "one_shot"_a = false)
      .def(
          "container_tty",
          [](Streams& s, const std::string& id) {
            py::gil_scoped_release release;
            return dind::ContainerStreams(s.client).tty(id);
          },
          "id"_a)
      .def(
          "events",
          [](Streams& s, const py::object& since, const py::object& until, const py::object& filters, bool decode,
             std::optional<double> idle_timeout) {
            dind::EventsOptions o;
            o.since = time_arg(since);
            o.until = time_arg(until);
            if (!filters.is_none()) o.filters = dind::py::from_python(filters);
            o.idle_timeout = seconds_opt(idle_timeout);
            std::optional<dind::JsonStream> j;
            {
              py::gil_scoped_release release;
              j.emplace(dind::Events(s.client).stream(o));
            }
            return std::make_unique<JsonLines>(std::move(*j), decode);
          },
          "since"_a = py::none(), "until"_a = py::none(), "filters"_a = py::none(), "decode"_a = false,
          "idle_timeout"_a = py::none())
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
            std::optional<dind::FrameReader> r;
            {
              py::gil_scoped_release release;
              r.emplace(dind::Exec(s.client).start(exec_id, tty, seconds_opt(idle_timeout)));
            }
            return std::make_unique<OutputStream>(std::move(*r), md);
          },
          "exec_id"_a, "tty"_a = py::none(), "mode"_a = "bytes", "idle_timeout"_a = py::none())
      .def(
          "exec_start_detached",
          [](Streams& s, const std::string& exec_id, bool tty) {
            py::gil_scoped_release release;
            dind::Exec(s.client).start_detached(exec_id, tty);
          },
          "exec_id"_a, "tty"_a = false)
      .def(
          "exec_inspect",
          [](Streams& s, const std::string& exec_id) {
            nlohmann::json j;
            {
              py::gil_scoped_release release;
              j = dind::Exec(s.client).inspect(exec_id);
            }
            return dind::py::to_python(j);
          },
          "exec_id"_a)
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
          "exec_id"_a, "height"_a, "width"_a);
}
