// _core.Job and _core.JobOptions: a CI job container wired to a dind sidecar or the host socket (layer 6). Options
// cross as a plain struct built by keyword; run() and cancel() talk to the engine without the GIL.
#include "dind/job.hpp"

#include <pybind11/chrono.h>
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "common.hpp"

namespace {

namespace pyb = pybind11;
using namespace pybind11::literals;

dind::JobMode job_mode(const std::string& m) {
  if (m == "dind" || m == "sidecar") return dind::JobMode::sidecar;
  if (m == "socket") return dind::JobMode::socket;
  throw pyb::value_error("mode must be 'dind' (a sidecar daemon) or 'socket' (the host's socket), not '" +
                         m.substr(0, 100) + "'");
}

}  // namespace

DIND_BINDINGS(job) {
  pyb::enum_<dind::JobMode> mode(m, "JobMode", "How a job reaches Docker: a sidecar daemon, or the host's socket.");
  mode.value("sidecar", dind::JobMode::sidecar).value("socket", dind::JobMode::socket);
  mode.def(pyb::init(&job_mode), "name"_a, "The mode named 'dind' (or 'sidecar') or 'socket'.");
  pyb::implicitly_convertible<std::string, dind::JobMode>();

  pyb::class_<dind::JobOptions> opts(m, "JobOptions", "What Job runs (cpp/include/dind/job.hpp).");
  opts.def_readwrite("image", &dind::JobOptions::image, "The job image (it needs a docker CLI on its PATH).")
      .def_readwrite("command", &dind::JobOptions::command, "The command (empty: the image's default).")
      .def_readwrite("env", &dind::JobOptions::env, "The job's environment, \"KEY=VALUE\".")
      .def_readwrite("workdir", &dind::JobOptions::workdir,
                     "The working directory (default: the workspace, else the image's).")
      .def_readwrite("workspace", &dind::JobOptions::workspace,
                     "A host directory mounted at the same path in the job and the sidecar.")
      .def_readwrite("mode", &dind::JobOptions::mode, "How the job reaches Docker (JobMode).")
      .def_readwrite("daemon", &dind::JobOptions::daemon,
                     "A running daemon to use as the sidecar instead of starting one (the caller owns it).")
      .def_readwrite("daemon_options", &dind::JobOptions::daemon_options, "The options of the sidecar the job starts.")
      .def_readwrite("load_images", &dind::JobOptions::load_images,
                     "Images of the outer engine loaded into the sidecar it starts.")
      .def_readwrite("allow_host_socket", &dind::JobOptions::allow_host_socket,
                     "The opt-in for socket mode (the job then controls the host's daemon).")
      .def_readwrite("labels", &dind::JobOptions::labels, "Extra labels on what the job makes.")
      .def_readwrite("name", &dind::JobOptions::name, "The job container's name (empty: dind-job-<random>).")
      .def_readwrite("cert_dir", &dind::JobOptions::cert_dir,
                     "Where the client certs go in the job (DOCKER_CERT_PATH).")
      .def_readwrite("require_docker_cli", &dind::JobOptions::require_docker_cli,
                     "Check that the image has `docker` on its PATH before starting.")
      .def_readwrite("outer", &dind::JobOptions::outer, "The engine that runs the job (None: Client.from_env()).")
      .def_readwrite("on_warning", &dind::JobOptions::on_warning, "Where warnings go (default: one line on stderr).");
  dind::py::def_keyword_init(opts);

  pyb::class_<dind::Job>(m, "Job", "A CI job container wired to Docker (cpp/include/dind/job.hpp).")
      .def(pyb::init([](dind::JobOptions o) {
             pyb::gil_scoped_release release;  // Client::from_env() may read files
             return dind::Job(std::move(o));
           }),
           "options"_a, "Checks the options (workspace, socket opt-in, mode and daemon agree); creates nothing yet.")
      .def_static(
          "sidecar_options",
          [](const std::string& workspace) {
            pyb::gil_scoped_release release;  // resolves the path
            return dind::Job::sidecar_options(workspace);
          },
          "workspace"_a, "DaemonOptions of a daemon that jobs with this workspace can share (its mounts).")
      .def_property_readonly("name", &dind::Job::name, "The job container's name.")
      .def_property_readonly("workspace", &dind::Job::workspace,
                             "The workspace as mounted (absolute, symlinks resolved); empty without one.")
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
            // Ctrl-C, or any handler that raises (SIGTERM's), ends the run: the job is killed, what it made removed.
            int code = 0;
            dind::py::Interruptible().run([&] { code = job.run(cb); }, [&] { job.cancel(); });
            return code;
          },
          "on_output"_a = pyb::none(),
          "Runs the job; on_output(data: bytes, stream: 'stdout'|'stderr') gets its output live. Returns its exit "
          "code; removes what it made.")
      .def(
          "cancel",
          [](dind::Job& job, bool wait) {
            pyb::gil_scoped_release release;
            job.cancel(wait);
          },
          "wait"_a = false,
          "Ends a run in progress from any thread (kills the job container); with `wait`, returns once it removed "
          "what it made.");
}
