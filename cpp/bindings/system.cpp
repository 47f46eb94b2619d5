// _core.df(client): GET /system/df.
#include "dind/system.hpp"

#include "common.hpp"

DIND_BINDINGS(system) {
  using namespace pybind11::literals;
  m.def(
      "df",
      [](dind::Client& client) {
        nlohmann::json r;
        {
          pybind11::gil_scoped_release release;
          r = dind::df(client);
        }
        return dind::py::to_python_as<dind::py::JsonObject>(r);
      },
      "client"_a, "GET /system/df: data usage of images, containers, volumes and the build cache.");
}
