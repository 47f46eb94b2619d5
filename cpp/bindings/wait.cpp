// _core.WaitOptions and _core.wait_for: a container's readiness (cpp/include/dind/wait.hpp), interruptible by Ctrl-C.
#include "dind/wait.hpp"

#include <pybind11/chrono.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "common.hpp"

namespace {

namespace pyb = pybind11;
using namespace pybind11::literals;
using dind::WaitOptions;

}  // namespace

DIND_BINDINGS(wait) {
  pyb::class_<WaitOptions> opts(m, "WaitOptions", "What wait_for() waits for (cpp/include/dind/wait.hpp).");
  opts.def_readwrite("log", &WaitOptions::log, "A regex matched against the log (stdout and stderr) as it streams.")
      .def_readwrite("port", &WaitOptions::port, "The container's port N/tcp (published): a connection opens.")
      .def_readwrite("http", &WaitOptions::http, "A path: GET on the published `http_port` (default: port, else 80).")
      .def_readwrite("http_port", &WaitOptions::http_port, "The container's port the GET goes to.")
      .def_readwrite("status", &WaitOptions::status, "The status the GET must answer (0: any 2xx or 3xx).")
      .def_readwrite("healthy", &WaitOptions::healthy, "State.Health.Status is healthy.")
      .def_readwrite("timeout", &WaitOptions::timeout, "How long to wait in all.")
      .def_readwrite("log_tail", &WaitOptions::log_tail, "Lines of the container's log carried by the errors.")
      .def("describe", &WaitOptions::describe, "What is awaited, as messages say it.");
  dind::py::def_keyword_init(opts);

  m.def(
      "wait_for",
      [](const dind::Client& client, const std::string& id, const WaitOptions& options) {
        dind::ContainerWait w(client, id, options);
        dind::py::Interruptible().run([&] { w.run(); }, [&] { w.close(); });
      },
      "client"_a, "id"_a, "options"_a,
      "Blocks until container `id` meets `options`; ContainerExited if it exits first, TimeoutError at the timeout.");
}
