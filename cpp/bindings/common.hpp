// Shared by every binding file of dind._core: JSON <-> Python conversion, argument conversion, GIL-released calls,
// the blocking-read worker and the iterator protocol of stream objects, and the registry through which each
// resource group's file adds its classes to the module without editing module.cpp.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/typing.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dind/http.hpp"
#include "dind/images.hpp"

namespace dind::py {

namespace pyb = pybind11;

// What the stubs (python/dind/_core.pyi, made by scripts/stubs.sh) say a binding returns where pyb::object would say
// `object`: a JSON value (or a value whose type depends on an argument) is typing.Any; an answer that is a JSON object
// a dict[str, Any], a JSON array of objects a list of them; the stream objects that bodies.cpp makes by their classes.
// Only names: nothing is checked.
class AnyValue : public pyb::object {
  using object::object;
};
using JsonObject = pyb::typing::Dict<pyb::str, AnyValue>;
// A list named builtins.list[T]: the stubs' plain `list` would mean the method `list` of the class it is in.
template <class T>
class BuiltinList : public pyb::typing::List<T> {
  using pyb::typing::List<T>::List;
};
using JsonObjects = BuiltinList<JsonObject>;
class ByteStreamObject : public pyb::object {
  using object::object;
};
class ImageProgressObject : public pyb::object {
  using object::object;
};

// JSON values to Python objects and back (dict, list, str, int, float, bool, None). Call with the GIL held.
pyb::object to_python(const nlohmann::json& j);
// A value built here (a tuple, dict or list), named T for the stubs: named<pyb::typing::Tuple<int, pyb::bytes>>(t).
template <class T>
T named(pyb::object o) {
  return pyb::reinterpret_steal<T>(o.release());
}
// The same, named for the stubs as R (AnyValue, JsonObject, JsonObjects).
template <class R>
R to_python_as(const nlohmann::json& j) {
  return pyb::reinterpret_steal<R>(to_python(j).release());
}
nlohmann::json from_python(pyb::handle obj);

// Optional arguments (None → empty/nullopt). opt_str sends a non-str value as its str().
std::string opt_str(pyb::handle o);
std::optional<bool> opt_bool(pyb::handle o);
std::optional<nlohmann::json> opt_json(pyb::handle o);
// A str → str map from a dict (None: empty); values that are not strings are sent as their str().
std::map<std::string, std::string> str_map(pyb::handle o, const char* what);
// A str or an iterable of str (None: empty).
std::vector<std::string> str_list(pyb::handle o);

// Runs `f` with the GIL released (call with it held); arguments must be converted before.
template <class F>
auto without_gil(F&& f) {
  pyb::gil_scoped_release release;
  return f();
}

// Runs `f` (returning JSON) without the GIL, then builds the Python result with it, named R for the stubs.
template <class R = AnyValue, class F>
R json_call(F&& f) {
  nlohmann::json r;
  {
    pyb::gil_scoped_release release;
    r = f();
  }
  return to_python_as<R>(r);
}

// The one way a blocking call from Python (GIL held on entry) runs, so that a signal handler that raises (Ctrl-C's
// KeyboardInterrupt, a SIGTERM handler) ends it: `cancel` is called, the call returns, and the handler's exception
// propagates; the call's own exceptions propagate as they are. Off the main thread, where Python runs no handlers,
// it is a plain call with the GIL released.
//
// Two ways on the main thread, chosen by `Kind`:
//   per_chunk   calls made once per chunk of a stream run on this thread (no thread hop per read); while they block,
//               a pipe is Python's signal wakeup fd and a watcher thread cancels on SIGINT. If someone else owns the
//               wakeup fd (an asyncio loop), they run like `any_signal`.
//   any_signal  the call runs on a helper thread while this one runs Python's handlers every 100 ms: any handler
//               that raises cancels it (a start that SIGTERM must abandon, a wait), and `timeout` bounds it
//               (dind::TimeoutError naming `what`).
// One object per stream (it keeps its helper thread); calls on it run one at a time.
class Interruptible {
 public:
  enum class Kind { per_chunk, any_signal };

  Interruptible() = default;
  Interruptible(const Interruptible&) = delete;
  Interruptible& operator=(const Interruptible&) = delete;
  ~Interruptible() { stop(); }

  void run(const std::function<void()>& job, const std::function<void()>& cancel, Kind kind = Kind::any_signal,
           std::optional<std::chrono::milliseconds> timeout = std::nullopt, const std::string& what = {});
  void stop() noexcept;

 private:
  void on_helper(const std::function<void()>& job, const std::function<void()>& cancel, bool main,
                 std::optional<std::chrono::milliseconds> timeout, const std::string& what);
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool busy_ = false;
  bool quit_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

// Gives a plain option struct (bound with def_readwrite) a constructor that takes its fields by keyword:
// _core.DaemonOptions(image="docker:dind", tls=True). Each value goes through the field's own setter (so types are
// checked there); an unknown keyword raises TypeError naming it. Also a __repr__ listing the fields.
template <class T>
void def_keyword_init(pyb::class_<T>& c) {
  c.def(pyb::init([](const pyb::KWArgs<pyb::object>& kw) {
    pyb::object self = pyb::cast(T{});
    const pyb::dict fields = pyb::type::of(self).attr("__dict__");
    const pyb::object property = pyb::module_::import("builtins").attr("property");
    for (auto item : kw) {
      const std::string key = pyb::str(item.first);
      if (key.empty() || key[0] == '_' || !fields.contains(key.c_str()) ||
          !pyb::isinstance(fields[key.c_str()], property))
        throw pyb::type_error(pyb::str(pyb::type::of(self).attr("__name__")).cast<std::string>() +
                              "() got an unexpected keyword argument '" + key + "'");
      self.attr(key.c_str()) = item.second;
    }
    return self.cast<T>();
  }));
  c.def("__repr__", [](const pyb::object& self) {
    const pyb::dict fields = pyb::type::of(self).attr("__dict__");
    const pyb::object property = pyb::module_::import("builtins").attr("property");
    std::string out = pyb::str(pyb::type::of(self).attr("__name__")).cast<std::string>() + "(";
    bool first = true;
    for (auto item : fields) {
      const std::string key = pyb::str(item.first);
      if (key[0] == '_' || !pyb::isinstance(item.second, property)) continue;
      out += (first ? "" : ", ") + key + "=" + pyb::repr(self.attr(key.c_str())).cast<std::string>();
      first = false;
    }
    return out + ")";
  });
}

// The iterator and context-manager protocol of a stream class with next() and close(): __iter__ returns the
// stream, __next__ is its next(), __exit__ closes it (exceptions propagate).
template <class T>
pyb::class_<T>& def_stream_protocol(pyb::class_<T>& c) {
  c.def(
       "__iter__", [](T& s) -> T& { return s; }, pyb::return_value_policy::reference)
      .def("__next__", &T::next)
      .def(
          "__enter__", [](T& s) -> T& { return s; }, pyb::return_value_policy::reference)
      .def("__exit__", [](T& s, const pyb::Args<pyb::object>&) {
        s.close();
        return false;
      });
  return c;
}

// Python data and response bodies as streamed HTTP bodies, shared by the archive and image bindings (defined in
// archive.cpp, with the ByteStream and ImageProgress classes they create).
//
// Runs `call(source)` without the GIL, streaming `data` (bytes, a buffer, a binary file object, an iterable of
// bytes or a ByteStream) as the body; a Python error raised by the data (or Ctrl-C) re-raises as it was.
void with_python_body(const pyb::object& data, const std::string& what, const std::function<void(BodySource)>& call);
// A response body as a _core.ByteStream (an iterator of bytes chunks of `chunk` bytes).
ByteStreamObject wrap_byte_stream(BodyReader r, std::size_t chunk);
// A JSON-lines progress stream as a _core.ImageProgress (dicts with `decode`, else bytes lines).
ImageProgressObject wrap_progress(JsonStream s, bool decode);

// A binding file registers its function once:  DIND_BINDINGS(containers) { m.def(...); }
// module.cpp calls every registered function in name order when dind._core is imported.
using Binder = void (*)(pyb::module_&);
void register_binder(const char* name, Binder fn);
void run_binders(pyb::module_& m);

struct BinderRegistration {
  BinderRegistration(const char* name, Binder fn) { register_binder(name, fn); }
};

}  // namespace dind::py

namespace pybind11::detail {
template <>
struct handle_type_name<dind::py::AnyValue> {
  static constexpr auto name = const_name("typing.Any");
};
template <class T>
struct handle_type_name<dind::py::BuiltinList<T>> {
  static constexpr auto name = const_name("builtins.list[") + make_caster<T>::name + const_name("]");
};
template <>
struct handle_type_name<dind::py::ByteStreamObject> {
  static constexpr auto name = const_name("dind._core.ByteStream");
};
template <>
struct handle_type_name<dind::py::ImageProgressObject> {
  static constexpr auto name = const_name("dind._core.ImageProgress");
};
}  // namespace pybind11::detail

#define DIND_BINDINGS(name)                                                                 \
  static void dind_bind_##name(::pybind11::module_& m);                                     \
  static const ::dind::py::BinderRegistration dind_binder_##name{#name, &dind_bind_##name}; \
  static void dind_bind_##name([[maybe_unused]] ::pybind11::module_& m)
