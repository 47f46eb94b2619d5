// _core.Containers: the non-streaming containers calls. Arguments are converted with the GIL held, the call runs
// without it, and the Python result is built after it is taken back.
#include "dind/containers.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common.hpp"

namespace {

namespace pyb = pybind11;
using namespace pybind11::literals;
using dind::Containers;
using nlohmann::json;

using dind::py::json_call;
using dind::py::opt_str;
using dind::py::without_gil;

// Shared so that close() from another thread can reach a wait blocked in result().
using PendingWaitPtr = std::shared_ptr<Containers::PendingWait>;

}  // namespace

DIND_BINDINGS(containers) {
  pyb::class_<Containers::PendingWait, PendingWaitPtr>(m, "PendingWait",
                                                       "A wait the engine has registered; result() blocks for it.")
      .def(
          "result",
          [](Containers::PendingWait& w, std::optional<double> timeout, const std::string& what) {
            nlohmann::json r;
            std::optional<std::chrono::milliseconds> t;
            if (timeout) t = std::chrono::milliseconds(static_cast<long long>(*timeout * 1000));
            // Ctrl-C (or any handler that raises) and the timeout end it: the wait is closed, then it raises.
            dind::py::Interruptible().run([&] { r = w.result(); }, [&] { w.close(); },
                                          dind::py::Interruptible::Kind::any_signal, t, what);
            return dind::py::to_python_as<dind::py::JsonObject>(r);
          },
          "timeout"_a = pyb::none(), "what"_a = "waiting for the container",
          "{'StatusCode': n, 'Error': ...} once the engine answers; `timeout` (seconds) raises TimeoutError.")
      .def("close", &Containers::PendingWait::close, "Gives up on the wait (any thread).");

  pyb::class_<Containers>(m, "Containers", "The /containers endpoints (non-streaming).")
      .def(pyb::init<dind::Client>(), "client"_a, "The container endpoints of `client`.")
      .def(
          "list",
          [](Containers& c, bool all, const pyb::object& filters, int limit, bool size) {
            json f = dind::py::from_python(filters);
            return json_call<dind::py::JsonObjects>([&] { return c.list(all, f, limit, size); });
          },
          "all"_a = false, "filters"_a = pyb::none(), "limit"_a = -1, "size"_a = false,
          "GET /containers/json: the containers (running ones unless `all`), filters in docker-py's shape.")
      .def(
          "inspect",
          [](Containers& c, const std::string& id, bool size) {
            return json_call<dind::py::JsonObject>([&] { return c.inspect(id, size); });
          },
          "id"_a, "size"_a = false, "GET /containers/{id}/json (with SizeRw and SizeRootFs when `size`).")
      .def(
          "create",
          [](Containers& c, const pyb::object& config, const pyb::object& name, const pyb::object& platform) {
            json cfg = dind::py::from_python(config);
            std::string n = opt_str(name), p = opt_str(platform);
            return json_call<dind::py::JsonObject>([&] { return c.create(cfg, n, p); });
          },
          "config"_a, "name"_a = pyb::none(), "platform"_a = pyb::none(),
          "POST /containers/create with the whole JSON body; returns {'Id', 'Warnings'}.")
      .def("start", &Containers::start, "id"_a, pyb::call_guard<pyb::gil_scoped_release>(),
           "POST /containers/{id}/start; False if it was already running (304).")
      .def("stop", &Containers::stop, "id"_a, "timeout"_a = pyb::none(), pyb::call_guard<pyb::gil_scoped_release>(),
           "POST /containers/{id}/stop (waiting `timeout` seconds before the kill); False if it was already stopped "
           "(304).")
      .def(
          "kill",
          [](Containers& c, const std::string& id, const pyb::object& signal) {
            std::string s = opt_str(signal);
            pyb::gil_scoped_release release;
            c.kill(id, s);
          },
          "id"_a, "signal"_a = pyb::none(), "POST /containers/{id}/kill with `signal` (a name or a number; SIGKILL).")
      .def("restart", &Containers::restart, "id"_a, "timeout"_a = pyb::none(),
           pyb::call_guard<pyb::gil_scoped_release>(), "POST /containers/{id}/restart.")
      .def("pause", &Containers::pause, "id"_a, pyb::call_guard<pyb::gil_scoped_release>(),
           "POST /containers/{id}/pause.")
      .def("unpause", &Containers::unpause, "id"_a, pyb::call_guard<pyb::gil_scoped_release>(),
           "POST /containers/{id}/unpause.")
      .def("remove", &Containers::remove, "id"_a, "force"_a = false, "v"_a = false, "link"_a = false,
           pyb::call_guard<pyb::gil_scoped_release>(),
           "DELETE /containers/{id} (`force`: kill it first; `v`: with its anonymous volumes).")
      .def(
          "wait",
          [](Containers& c, const std::string& id, const pyb::object& condition) {
            std::string cond = opt_str(condition);
            return json_call<dind::py::JsonObject>([&] { return c.wait(id, cond); });
          },
          "id"_a, "condition"_a = pyb::none(),
          "POST /containers/{id}/wait: {'StatusCode': n, 'Error': ...}; blocks with no total timeout.")
      .def(
          "begin_wait",
          [](Containers& c, const std::string& id, const pyb::object& condition) {
            std::string cond = opt_str(condition);
            pyb::gil_scoped_release release;
            return std::make_shared<Containers::PendingWait>(c.begin_wait(id, cond));
          },
          "id"_a, "condition"_a = pyb::none(), "Registers a wait (e.g. next-exit before start).")
      .def(
          "top",
          [](Containers& c, const std::string& id, const pyb::object& ps_args) {
            std::string a = opt_str(ps_args);
            return json_call<dind::py::JsonObject>([&] { return c.top(id, a); });
          },
          "id"_a, "ps_args"_a = pyb::none(), "GET /containers/{id}/top: {'Titles': [...], 'Processes': [[...]]}.")
      .def(
          "changes", [](Containers& c, const std::string& id) { return json_call([&] { return c.changes(id); }); },
          "id"_a, "GET /containers/{id}/changes: [{'Path', 'Kind'}], or None when nothing changed.")
      .def(
          "resize",
          [](Containers& c, const std::string& id, int height, int width) {
            without_gil([&] { c.resize(id, height, width); });
          },
          "id"_a, "height"_a, "width"_a, "POST /containers/{id}/resize: the TTY's size.")
      .def(
          "stats",
          [](Containers& c, const std::string& id, bool one_shot) {
            return json_call<dind::py::JsonObject>([&] { return c.stats(id, one_shot); });
          },
          "id"_a, "one_shot"_a = false, "GET /containers/{id}/stats?stream=false: one sample as a dict.")
      .def("rename", &Containers::rename, "id"_a, "name"_a, pyb::call_guard<pyb::gil_scoped_release>(),
           "POST /containers/{id}/rename.")
      .def(
          "update",
          [](Containers& c, const std::string& id, const pyb::object& config) {
            json cfg = dind::py::from_python(config);
            return json_call<dind::py::JsonObject>([&] { return c.update(id, cfg); });
          },
          "id"_a, "config"_a, "POST /containers/{id}/update with the JSON body `config`; returns {'Warnings'}.")
      .def(
          "prune",
          [](Containers& c, const pyb::object& filters) {
            json f = dind::py::from_python(filters);
            return json_call<dind::py::JsonObject>([&] { return c.prune(f); });
          },
          "filters"_a = pyb::none(),
          "POST /containers/prune; returns {'ContainersDeleted': [...], 'SpaceReclaimed': n}.")
      .def(
          "logs_all",
          [](Containers& c, const std::string& id, bool stdout_, bool stderr_, bool timestamps, const pyb::object& tail,
             std::optional<std::int64_t> since, std::optional<std::int64_t> until, bool follow, bool demux,
             std::optional<bool> tty) {
            dind::LogsOptions o;
            o.stdout_stream = stdout_;
            o.stderr_stream = stderr_;
            o.timestamps = timestamps;
            o.tail = opt_str(tail);
            if (since) o.since = std::to_string(*since);
            if (until) o.until = std::to_string(*until);
            o.follow = follow;
            o.tty = tty;
            Containers::Output out;
            {
              pyb::gil_scoped_release release;
              out = c.logs_all(id, o, demux);
            }
            return dind::py::named<pyb::typing::Tuple<pyb::bytes, pyb::bytes>>(
                pyb::make_tuple(pyb::bytes(out.out), pyb::bytes(out.err)));
          },
          "id"_a, "stdout"_a = true, "stderr"_a = true, "timestamps"_a = false, "tail"_a = pyb::none(),
          "since"_a = pyb::none(), "until"_a = pyb::none(), "follow"_a = false, "demux"_a = true, "tty"_a = pyb::none(),
          "The whole log as (stdout bytes, stderr bytes); with demux=False everything is in the first, in order.");
}
