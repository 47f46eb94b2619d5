// _core.Job: a CI job container wired to a dind sidecar or the host socket (layer 6). Options arrive as plain
// values from python/dind/job.py; run() and cancel() talk to the engine without the GIL.
#include "dind/job.hpp"

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "common.hpp"

namespace {

namespace pyb = pybind11;
using namespace pybind11::literals;

dind::JobMode job_mode(const std::string& m) {
  if (m == "dind" || m == "sidecar") return dind::JobMode::sidecar;
  if (m == "socket") return dind::JobMode::socket;
  throw pyb::value_error("mode must be 'dind' (a sidecar daemon) or 'socket' (the host's socket), not '" + m + "'");
}

}  // namespace

DIND_BINDINGS(job) {
  pyb::class_<dind::Job>(m, "Job")
      .def(pyb::init([](const std::string& image, const std::vector<std::string>& command,
                        const std::vector<std::string>& env, const std::string& workdir, const std::string& workspace,
                        const std::string& mode, dind::Daemon* daemon, const std::string& dind_image,
                        double start_timeout, const std::vector<std::string>& load_images, bool allow_host_socket,
                        const std::map<std::string, std::string>& labels, const std::string& name,
                        const std::string& cert_dir, bool require_docker_cli, std::optional<dind::Client> outer,
                        const pyb::object& on_warning) {
             dind::JobOptions o;
             o.image(image).command(command).workdir(workdir).workspace(workspace).mode(job_mode(mode));
             o.allow_host_socket(allow_host_socket).name(name).require_docker_cli(require_docker_cli);
             if (!cert_dir.empty()) o.cert_dir(cert_dir);
             for (const auto& e : env) o.env(e);
             for (const auto& i : load_images) o.load_image(i);
             for (const auto& [k, v] : labels) o.label(k, v);
             if (daemon) o.daemon(*daemon);
             dind::DaemonOptions d;
             if (!dind_image.empty()) d.image(dind_image);
             d.start_timeout(std::chrono::milliseconds(static_cast<long long>(start_timeout * 1000)));
             if (outer) {
               d.outer(*outer);
               o.outer(*outer);
             }
             o.daemon_options(std::move(d));
             if (!on_warning.is_none()) {
               o.on_warning([on_warning](const std::string& text) {
                 pyb::gil_scoped_acquire acquire;
                 on_warning(text);
               });
             }
             pyb::gil_scoped_release release;  // Client::from_env() may read files
             return dind::Job(std::move(o));
           }),
           "image"_a, "command"_a, "env"_a, "workdir"_a, "workspace"_a, "mode"_a, "daemon"_a, "dind_image"_a,
           "start_timeout"_a, "load_images"_a, "allow_host_socket"_a, "labels"_a, "name"_a, "cert_dir"_a,
           "require_docker_cli"_a, "outer"_a, "on_warning"_a,
           pyb::keep_alive<1, 8>())  // a given daemon lives as long as the job that uses it
      .def_property_readonly("name", &dind::Job::name)
      .def_property_readonly("workspace", &dind::Job::workspace)
      .def(
          "run",
          [](dind::Job& job, const pyb::object& on_output) {
            dind::Job::OutputCallback cb;
            if (!on_output.is_none()) {
              cb = [on_output](dind::StdStream s, std::string_view data) {
                pyb::gil_scoped_acquire acquire;
                on_output(pyb::bytes(data.data(), data.size()), s == dind::StdStream::err ? "stderr" : "stdout");
              };
            }
            pyb::gil_scoped_release release;
            return job.run(cb);
          },
          "on_output"_a = pyb::none(),
          "Runs the job; on_output(data: bytes, stream: 'stdout'|'stderr') gets its output live. Returns its exit "
          "code; removes what it made.")
      .def(
          "cancel",
          [](dind::Job& job) {
            pyb::gil_scoped_release release;
            job.cancel();
          },
          "Ends a run in progress from another thread (kills the job container).");
}
