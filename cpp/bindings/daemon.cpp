// _core.Daemon and _core.reap: the dind lifecycle (layer 6). Options arrive as plain values from python/dind/daemon.py;
// every call that talks to an engine runs without the GIL.
#include "dind/daemon.hpp"

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "common.hpp"
#include "dind/session.hpp"

namespace {

namespace pyb = pybind11;
using namespace pybind11::literals;

dind::PullPolicy pull_policy(const std::string& p) {
  if (p == "missing") return dind::PullPolicy::missing;
  if (p == "always") return dind::PullPolicy::always;
  if (p == "never") return dind::PullPolicy::never;
  throw pyb::value_error("pull must be 'missing', 'always' or 'never', not '" + p + "'");
}

double seconds(std::chrono::microseconds us) {
  return static_cast<double>(us.count()) / 1e6;
}

}  // namespace

DIND_BINDINGS(daemon) {
  pyb::class_<dind::Daemon>(m, "Daemon")
      .def_static(
          "start",
          [](const std::string& image, bool privileged, const std::string& runtime, bool tls,
             const std::vector<std::string>& tls_san, const std::string& network,
             const std::vector<std::string>& aliases, int host_port, const std::vector<std::string>& dockerd_args,
             const std::vector<std::string>& env, const std::vector<std::string>& mounts, const std::string& name,
             const std::map<std::string, std::string>& labels, const std::string& pull,
             std::optional<dind::Client> outer, double start_timeout, const std::string& owner) {
            if (host_port < 0 || host_port > 65535) throw pyb::value_error("host_port must be 0..65535");
            if (owner != "self" && owner != "parent") throw pyb::value_error("owner must be 'self' or 'parent'");
            dind::DaemonOptions o;
            o.image(image).privileged(privileged).runtime(runtime).tls(tls).network(network).name(name);
            o.host_port(static_cast<std::uint16_t>(host_port)).pull(pull_policy(pull));
            o.start_timeout(std::chrono::milliseconds(static_cast<long long>(start_timeout * 1000)));
            for (const auto& s : tls_san) o.tls_san(s);
            for (const auto& a : aliases) o.alias(a);
            for (const auto& a : dockerd_args) o.dockerd_arg(a);
            for (const auto& e : env) o.env(e);
            for (const auto& v : mounts) o.mount(v);
            for (const auto& [k, v] : labels) o.label(k, v);
            if (outer) o.outer(*outer);
            o.owner(owner == "parent" ? dind::Owner::parent() : dind::Owner::self());
            // On a worker thread, so that Ctrl-C (a signal handler that raises) abandons the start at once: the
            // flag makes start() remove what it made, then the KeyboardInterrupt propagates.
            auto cancel = std::make_shared<std::atomic<bool>>(false);
            o.cancel_flag(cancel);
            std::optional<dind::Daemon> started;
            dind::py::Worker worker;
            worker.run([&] { started.emplace(dind::Daemon::start(o)); }, [&] { cancel->store(true); });
            return std::move(*started);
          },
          "image"_a, "privileged"_a, "runtime"_a, "tls"_a, "tls_san"_a, "network"_a, "aliases"_a, "host_port"_a,
          "dockerd_args"_a, "env"_a, "mounts"_a, "name"_a, "labels"_a, "pull"_a, "outer"_a, "start_timeout"_a,
          "owner"_a)
      .def_static(
          "attach",
          [](const std::string& name_or_id, std::optional<dind::Client> outer) {
            pyb::gil_scoped_release release;
            return dind::Daemon::attach(name_or_id, std::move(outer));
          },
          "name_or_id"_a, "outer"_a = pyb::none())
      .def_property_readonly("id", &dind::Daemon::id)
      .def_property_readonly("name", &dind::Daemon::name)
      .def_property_readonly("host", &dind::Daemon::host)
      .def_property_readonly("cert_path", &dind::Daemon::cert_path)
      .def_property_readonly("tls", &dind::Daemon::tls)
      .def_property_readonly("removed", &dind::Daemon::removed)
      .def_property_readonly("client", [](dind::Daemon& d) { return d.client(); })
      .def_property_readonly("outer", [](dind::Daemon& d) { return d.outer(); })
      .def_property_readonly("env", &dind::Daemon::env)
      .def_property_readonly("timings",
                             [](const dind::Daemon& d) {
                               const auto& t = d.timings();
                               pyb::dict out;
                               out["certs"] = seconds(t.certs);
                               out["create"] = seconds(t.create);
                               out["start"] = seconds(t.start);
                               out["ready"] = seconds(t.ready);
                               out["total"] = seconds(t.total);
                               return out;
                             })
      .def(
          "logs",
          [](dind::Daemon& d, int tail) {
            std::string s;
            {
              pyb::gil_scoped_release release;
              s = d.logs(tail);
            }
            return pyb::str(pyb::reinterpret_steal<pyb::object>(
                PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace")));
          },
          "tail"_a = 50)
      .def(
          "exec",
          [](dind::Daemon& d, const std::vector<std::string>& cmd) {
            dind::ExecResult r;
            {
              pyb::gil_scoped_release release;
              r = d.exec(cmd);
            }
            return pyb::make_tuple(r.exit_code, pyb::bytes(r.out + r.err));
          },
          "cmd"_a)
      .def(
          "load_images",
          [](dind::Daemon& d, const std::vector<std::string>& names, const pyb::object& progress) {
            std::function<void(std::uint64_t)> cb;
            if (!progress.is_none()) {
              cb = [progress](std::uint64_t n) {
                pyb::gil_scoped_acquire acquire;
                progress(n);
              };
            }
            pyb::gil_scoped_release release;
            return d.load_images(names, cb);
          },
          "names"_a, "progress"_a = pyb::none())
      .def(
          "remove",
          [](dind::Daemon& d, std::optional<double> graceful) {
            std::optional<std::chrono::seconds> g;
            if (graceful) g = std::chrono::seconds(static_cast<long long>(*graceful));
            pyb::gil_scoped_release release;
            d.remove(g);
          },
          "graceful"_a = pyb::none())
      .def("keep", &dind::Daemon::keep, "keep"_a = true);

  m.def(
      "reap",
      [](std::optional<dind::Client> outer, std::optional<double> older_than, bool everything) {
        dind::ReapOptions o;
        if (older_than) o.older_than = std::chrono::seconds(static_cast<long long>(*older_than));
        o.everything = everything;
        dind::ReapResult r;
        {
          pyb::gil_scoped_release release;
          r = dind::reap(outer ? *outer : dind::Client::from_env(), o);
        }
        pyb::dict out;
        out["containers"] = r.containers;
        out["volumes"] = r.volumes;
        out["networks"] = r.networks;
        return out;
      },
      "outer"_a = pyb::none(), "older_than"_a = pyb::none(), "everything"_a = false);
  m.def("session_id", &dind::session_id);
}
