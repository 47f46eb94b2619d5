// _core.Volumes(client): the /volumes group. Arguments are converted with the GIL held, the call runs without it.
#include "dind/volumes.hpp"

#include <map>
#include <string>

#include "common.hpp"

namespace {

namespace pyb = pybind11;
using namespace pybind11::literals;
using dind::py::from_python;
using dind::py::to_python;
using nlohmann::json;

std::map<std::string, std::string> str_map(const pyb::object& o, const char* what) {
  std::map<std::string, std::string> m;
  if (o.is_none()) return m;
  if (!pyb::isinstance<pyb::dict>(o)) throw pyb::type_error(std::string(what) + " must be a dictionary");
  for (auto item : o.cast<pyb::dict>()) m[pyb::str(item.first)] = pyb::str(item.second).cast<std::string>();
  return m;
}

std::string opt_str(const pyb::object& o) {
  return o.is_none() ? std::string() : pyb::str(o).cast<std::string>();
}

}  // namespace

DIND_BINDINGS(volumes) {
  pyb::class_<dind::Volumes>(m, "Volumes", "The /volumes endpoints of one client (JSON in, dicts out).")
      .def(pyb::init<dind::Client>(), "client"_a)
      .def(
          "create",
          [](dind::Volumes& v, const pyb::object& name, const pyb::object& driver, const pyb::object& driver_opts,
             const pyb::object& labels) {
            std::string n = opt_str(name), d = opt_str(driver);
            auto o = str_map(driver_opts, "driver_opts");
            auto l = str_map(labels, "labels");
            json r;
            {
              pyb::gil_scoped_release release;
              r = v.create(n, d, o, l);
            }
            return to_python(r);
          },
          "name"_a = pyb::none(), "driver"_a = pyb::none(), "driver_opts"_a = pyb::none(), "labels"_a = pyb::none(),
          "POST /volumes/create; returns the volume.")
      .def(
          "inspect",
          [](dind::Volumes& v, const std::string& name) {
            json r;
            {
              pyb::gil_scoped_release release;
              r = v.inspect(name);
            }
            return to_python(r);
          },
          "name"_a, "GET /volumes/{name}.")
      .def(
          "list",
          [](dind::Volumes& v, const pyb::object& filters) {
            json f = from_python(filters);
            json r;
            {
              pyb::gil_scoped_release release;
              r = v.list(f);
            }
            return to_python(r);
          },
          "filters"_a = pyb::none(), "GET /volumes; returns {'Volumes': [...] or None, 'Warnings': ...}.")
      .def("remove", &dind::Volumes::remove, "name"_a, "force"_a = false, pyb::call_guard<pyb::gil_scoped_release>(),
           "DELETE /volumes/{name}.")
      .def(
          "prune",
          [](dind::Volumes& v, const pyb::object& filters) {
            json f = from_python(filters);
            json r;
            {
              pyb::gil_scoped_release release;
              r = v.prune(f);
            }
            return to_python(r);
          },
          "filters"_a = pyb::none(), "POST /volumes/prune; returns {'VolumesDeleted': [...], 'SpaceReclaimed': n}.");
}
