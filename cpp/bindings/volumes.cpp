// _core.Volumes(client): the /volumes group. Arguments are converted with the GIL held, the call runs without it.
#include "dind/volumes.hpp"

#include <map>
#include <string>

#include "common.hpp"

namespace {

namespace pyb = pybind11;
using namespace pybind11::literals;
using dind::py::from_python;
using dind::py::json_call;
using dind::py::opt_str;
using dind::py::str_map;
using nlohmann::json;

}  // namespace

DIND_BINDINGS(volumes) {
  pyb::class_<dind::Volumes>(m, "Volumes", "The /volumes endpoints of one client (JSON in, dicts out).")
      .def(pyb::init<dind::Client>(), "client"_a, "The volume endpoints of `client`.")
      .def(
          "create",
          [](dind::Volumes& v, const pyb::object& name, const pyb::object& driver, const pyb::object& driver_opts,
             const pyb::object& labels) {
            std::string n = opt_str(name), d = opt_str(driver);
            auto o = str_map(driver_opts, "driver_opts");
            auto l = str_map(labels, "labels");
            return json_call<dind::py::JsonObject>([&] { return v.create(n, d, o, l); });
          },
          "name"_a = pyb::none(), "driver"_a = pyb::none(), "driver_opts"_a = pyb::none(), "labels"_a = pyb::none(),
          "POST /volumes/create; returns the volume.")
      .def(
          "inspect",
          [](dind::Volumes& v, const std::string& name) {
            return json_call<dind::py::JsonObject>([&] { return v.inspect(name); });
          },
          "name"_a, "GET /volumes/{name}.")
      .def(
          "list",
          [](dind::Volumes& v, const pyb::object& filters) {
            json f = from_python(filters);
            return json_call<dind::py::JsonObject>([&] { return v.list(f); });
          },
          "filters"_a = pyb::none(), "GET /volumes; returns {'Volumes': [...] or None, 'Warnings': ...}.")
      .def("remove", &dind::Volumes::remove, "name"_a, "force"_a = false, pyb::call_guard<pyb::gil_scoped_release>(),
           "DELETE /volumes/{name}.")
      .def(
          "prune",
          [](dind::Volumes& v, const pyb::object& filters) {
            json f = from_python(filters);
            return json_call<dind::py::JsonObject>([&] { return v.prune(f); });
          },
          "filters"_a = pyb::none(), "POST /volumes/prune; returns {'VolumesDeleted': [...], 'SpaceReclaimed': n}.");
}
