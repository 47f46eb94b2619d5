#include "common.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

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

namespace {
std::vector<std::pair<std::string, Binder>>& binders() {
  static std::vector<std::pair<std::string, Binder>> all;  // function-local: safe from static init order
  return all;
}
}  // namespace

void register_binder(const char* name, Binder fn) { binders().emplace_back(name, fn); }

void run_binders(pyb::module_& m) {
  auto all = binders();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [name, fn] : all) fn(m);
}

}  // namespace dind::py
