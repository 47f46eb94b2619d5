// Shared by every binding file of dind._core: JSON <-> Python conversion, and the registry through which each
// resource group's file adds its classes to the module without editing module.cpp.
#pragma once

#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>

namespace dind::py {

namespace pyb = pybind11;

// JSON values to Python objects and back (dict, list, str, int, float, bool, None). Call with the GIL held.
pyb::object to_python(const nlohmann::json& j);
nlohmann::json from_python(pyb::handle obj);

// A binding file registers its function once:  DIND_BINDINGS(containers) { m.def(...); }
// module.cpp calls every registered function in name order when dind._core is imported.
using Binder = void (*)(pyb::module_&);
void register_binder(const char* name, Binder fn);
void run_binders(pyb::module_& m);

struct BinderRegistration {
  BinderRegistration(const char* name, Binder fn) { register_binder(name, fn); }
};

}  // namespace dind::py

#define DIND_BINDINGS(name)                                                                        \
  static void dind_bind_##name(::pybind11::module_& m);                                            \
  static const ::dind::py::BinderRegistration dind_binder_##name{#name, &dind_bind_##name};        \
  static void dind_bind_##name([[maybe_unused]] ::pybind11::module_& m)
