#include "common.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dind/errors.hpp"

namespace dind::py {

pyb::object to_python(const nlohmann::json& j) {
  using T = nlohmann::json::value_t;
  switch (j.type()) {
    case T::null:
    case T::discarded: return pyb::none();
    case T::boolean: return pyb::bool_(j.get<bool>());
    case T::number_integer: return pyb::int_(j.get<std::int64_t>());
    case T::number_unsigned: return pyb::int_(j.get<std::uint64_t>());
    case T::number_float: return pyb::float_(j.get<double>());
    case T::string: {
      const auto& s = j.get_ref<const std::string&>();
      // The engine may hand back bytes that are not UTF-8 (e.g. in labels); never fail on them.
      PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
      if (!o) throw pyb::error_already_set();
      return pyb::reinterpret_steal<pyb::object>(o);
    }
    case T::binary: {
      const auto& b = j.get_binary();
      return pyb::bytes(reinterpret_cast<const char*>(b.data()), b.size());
    }
    case T::array: {
      pyb::list out(j.size());
      std::size_t i = 0;
      for (const auto& e : j) out[i++] = to_python(e);
      return std::move(out);
    }
    case T::object: {
      pyb::dict out;
      for (auto it = j.begin(); it != j.end(); ++it) out[pyb::str(it.key())] = to_python(it.value());
      return std::move(out);
    }
  }
  return pyb::none();
}

nlohmann::json from_python(pyb::handle obj) {
  if (obj.is_none()) return nullptr;
  if (pyb::isinstance<pyb::bool_>(obj)) return obj.cast<bool>();
  if (pyb::isinstance<pyb::int_>(obj)) {
    // Python ints are unbounded; the API's are 64-bit.
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
    if (overflow == 0) return v;
    if (overflow > 0) return obj.cast<unsigned long long>();
    throw pyb::value_error("integer out of range for the Engine API: " + pyb::repr(obj).cast<std::string>());
  }
  if (pyb::isinstance<pyb::float_>(obj)) return obj.cast<double>();
  if (pyb::isinstance<pyb::str>(obj)) return obj.cast<std::string>();
  if (pyb::isinstance<pyb::bytes>(obj)) return obj.cast<std::string>();
  if (pyb::isinstance<pyb::dict>(obj)) {
    nlohmann::json out = nlohmann::json::object();
    for (auto item : pyb::reinterpret_borrow<pyb::dict>(obj)) {
      out[pyb::str(item.first).cast<std::string>()] = from_python(item.second);
    }
    return out;
  }
  if (pyb::isinstance<pyb::list>(obj) || pyb::isinstance<pyb::tuple>(obj) || pyb::isinstance<pyb::set>(obj) ||
      pyb::isinstance<pyb::frozenset>(obj)) {
    nlohmann::json out = nlohmann::json::array();
    for (auto e : obj) out.push_back(from_python(e));
    return out;
  }
  throw pyb::type_error("cannot send a " + std::string(Py_TYPE(obj.ptr())->tp_name) + " to the Engine API as JSON");
}

std::string opt_str(pyb::handle o) {
  return o.is_none() ? std::string() : pyb::str(o).cast<std::string>();
}

std::optional<bool> opt_bool(pyb::handle o) {
  if (o.is_none()) return std::nullopt;
  return o.cast<bool>();
}

std::optional<nlohmann::json> opt_json(pyb::handle o) {
  if (o.is_none()) return std::nullopt;
  return from_python(o);
}

std::map<std::string, std::string> str_map(pyb::handle o, const char* what) {
  std::map<std::string, std::string> m;
  if (o.is_none()) return m;
  if (!pyb::isinstance<pyb::dict>(o)) throw pyb::type_error(std::string(what) + " must be a dictionary");
  for (auto item : pyb::reinterpret_borrow<pyb::dict>(o))
    m[pyb::str(item.first)] = pyb::str(item.second).cast<std::string>();
  return m;
}

std::vector<std::string> str_list(pyb::handle o) {
  std::vector<std::string> v;
  if (o.is_none()) return v;
  if (pyb::isinstance<pyb::str>(o)) return {o.cast<std::string>()};
  for (auto item : o) v.push_back(pyb::str(item).cast<std::string>());
  return v;
}

namespace {

// Ctrl-C while the main thread blocks in a read, without a thread hop per read: while it reads, a pipe is Python's
// signal wakeup fd (Python's C-level handler writes the signal number there), and a watcher thread calls `cancel`
// when SIGINT arrives; back with the GIL, PyErr_CheckSignals() raises KeyboardInterrupt.
class SignalWatch {
 public:
  static SignalWatch& get() {
    static SignalWatch* w = new SignalWatch();  // leaked: the watcher lives as long as the process
    return *w;
  }
  bool ok() const { return rfd_ >= 0; }

  // GIL held, main thread. False if the wakeup fd belongs to someone else (left untouched then).
  bool arm(const std::function<void()>* cancel) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancel_ = cancel;
    }
    const int old = set_wakeup_fd(wfd_);
    if (old != -1 && old != wfd_) {
      set_wakeup_fd(old);
      std::lock_guard<std::mutex> lock(mu_);
      cancel_ = nullptr;
      return false;
    }
    return true;
  }
  void disarm() {
    set_wakeup_fd(-1);
    std::lock_guard<std::mutex> lock(mu_);
    cancel_ = nullptr;
  }

 private:
  SignalWatch() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return;
    rfd_ = fds[0];
    wfd_ = fds[1];
    std::thread([this] { loop(); }).detach();
  }
  // signal.set_wakeup_fd (the C function is not exported); GIL held, main thread.
  int set_wakeup_fd(int fd) {
    if (!setter_) setter_ = new pyb::object(pyb::module_::import("signal").attr("set_wakeup_fd"));  // leaked with us
    return (*setter_)(fd).cast<int>();
  }
  void loop() {
    unsigned char buf[64];
    for (;;) {
      pollfd p{rfd_, POLLIN, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) return;
      const ssize_t n = ::read(rfd_, buf, sizeof buf);
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] != SIGINT) continue;
        std::lock_guard<std::mutex> lock(mu_);
        if (cancel_) (*cancel_)();
      }
    }
  }

  int rfd_ = -1, wfd_ = -1;
  pyb::object* setter_ = nullptr;
  std::mutex mu_;
  const std::function<void()>* cancel_ = nullptr;
};

// GIL held. Python runs signal handlers on its main thread only.
bool on_main_thread() {
  static const unsigned long main_id =
      pyb::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  return PyThread_get_thread_ident() == main_id;
}

}  // namespace

void Interruptible::run(const std::function<void()>& job, const std::function<void()>& cancel, Kind kind,
                        std::optional<std::chrono::milliseconds> timeout, const std::string& what) {
  const bool main = on_main_thread();
  if (!main && !timeout) {  // no handlers run here: nothing to interrupt with
    pyb::gil_scoped_release release;
    job();
    return;
  }
  SignalWatch& w = SignalWatch::get();
  if (kind == Kind::any_signal || timeout || !main || !w.ok() || !w.arm(&cancel)) {
    on_helper(job, cancel, main, timeout, what);
    return;
  }
  if (PyErr_CheckSignals() != 0) {  // a Ctrl-C that came just before we armed
    w.disarm();
    cancel();
    throw pyb::error_already_set();
  }
  std::exception_ptr error;
  {
    pyb::gil_scoped_release release;
    try {
      job();
    } catch (...) {
      error = std::current_exception();
    }
  }
  w.disarm();
  if (PyErr_CheckSignals() != 0) {
    cancel();
    throw pyb::error_already_set();
  }
  if (error) std::rethrow_exception(error);
}

void Interruptible::on_helper(const std::function<void()>& job, const std::function<void()>& cancel, bool main,
                              std::optional<std::chrono::milliseconds> timeout, const std::string& what) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (busy_) throw std::runtime_error("this stream is already being read by another thread");
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    job_ = job;
    busy_ = true;
    error_ = nullptr;
    cv_.notify_all();
  }
  const auto deadline =
      timeout ? std::chrono::steady_clock::now() + *timeout : std::chrono::steady_clock::time_point::max();
  bool interrupted = false, timed_out = false;
  std::exception_ptr error;
  {
    pyb::gil_scoped_release release;
    std::unique_lock<std::mutex> lock(mu_);
    while (busy_) {
      if (cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return !busy_; })) break;
      lock.unlock();
      if (main) {
        pyb::gil_scoped_acquire acquire;
        if (PyErr_CheckSignals() != 0) interrupted = true;
      }
      timed_out = !interrupted && std::chrono::steady_clock::now() >= deadline;
      if (interrupted || timed_out) cancel();
      lock.lock();
      if (interrupted || timed_out) {
        cv_.wait(lock, [this] { return !busy_; });
        break;
      }
    }
    error = std::exchange(error_, nullptr);
  }
  if (interrupted) throw pyb::error_already_set();
  if (timed_out)
    throw dind::TimeoutError(what + ": no result within " + std::to_string(timeout->count() / 1000.0) + " s");
  if (error) std::rethrow_exception(error);
}

void Interruptible::stop() noexcept {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void Interruptible::loop() {
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

namespace {
std::vector<std::pair<std::string, Binder>>& binders() {
  static std::vector<std::pair<std::string, Binder>> all;  // function-local: safe from static init order
  return all;
}
}  // namespace

void register_binder(const char* name, Binder fn) {
  binders().emplace_back(name, fn);
}

void run_binders(pyb::module_& m) {
  auto all = binders();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [name, fn] : all) fn(m);
}

}  // namespace dind::py
