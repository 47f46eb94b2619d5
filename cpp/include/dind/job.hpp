// Layer 6: a CI job container wired to Docker, the two ways CI engines do it.
//
//   dind::JobOptions opts;
//   opts.image = "docker:cli";
//   opts.command = {"sh", "-c", "docker build ."};
//   opts.workspace = "/src";
//   int code = dind::Job(opts).run([](dind::StdStream s, std::string_view data) { ... });  // live output
//
// sidecar (the GitLab `services: docker:dind` pattern): the job runs on a private network beside a dind daemon it
// reaches as `docker` (a network alias), with DOCKER_HOST=tcp://docker:2376, DOCKER_TLS_VERIFY=1 and the daemon's
// client certs put read-only into the job at DOCKER_CERT_PATH. The daemon is one the job starts (and removes), or one
// it is given (shared by several jobs: it is connected to each job's network and disconnected afterwards).
//
// socket (the "mount /var/run/docker.sock" pattern): the job gets the outer engine's socket and with it control of
// the whole host daemon, so it is refused unless allow_host_socket is set, and it warns when used.
//
// The workspace rule: `docker run -v $PWD:/src` in the job is resolved by the daemon, on *its* filesystem. So the
// workspace (a host directory) is mounted at the same path in the job and in the daemon (GitLab's /builds), and is
// the job's working directory: bind mounts and `docker build .` from the job then see the same files. A given
// daemon must have been started with that mount (sidecar_options() makes such options).
//
// run() creates everything (labelled like every dind object), runs the job, and removes the job container, the
// network and an owned sidecar (with volumes) afterwards, on errors and on cancel() too.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dind/client.hpp"
#include "dind/daemon.hpp"
#include "dind/demux.hpp"

namespace dind {

enum class JobMode { sidecar, socket };

// What to run. A plain struct, like DaemonOptions: set the fields you need; Python builds it by keyword.
struct JobOptions {
  // The job image: it needs a docker CLI on its PATH (e.g. docker:cli).
  std::string image = "docker:cli";
  std::vector<std::string> command;  // empty: the image's default
  std::vector<std::string> env;      // "KEY=VALUE"
  // Working directory in the job (default: the workspace, else the image's).
  std::string workdir;
  // A host directory mounted at the same path in the job and in the sidecar (it must exist).
  std::string workspace;
  JobMode mode = JobMode::sidecar;
  // Sidecar mode with this running daemon instead of one the job starts; the caller keeps it alive and owns it.
  Daemon* daemon = nullptr;
  // Options of the sidecar the job starts (network, alias and workspace mount are added to them).
  DaemonOptions daemon_options;
  // Images of the outer engine to load into the sidecar the job starts (no registry needed).
  std::vector<std::string> load_images;
  // The opt-in for socket mode: the job then controls the host's daemon.
  bool allow_host_socket = false;
  std::map<std::string, std::string> labels;
  std::string name;  // the job container's name (default: dind-job-<random>)
  // Where the client certs go in the job (read-only files), which DOCKER_CERT_PATH names.
  std::string cert_dir = "/certs/client";
  // Check that the image has `docker` on its PATH before starting (off: the job brings its own CLI).
  bool require_docker_cli = true;
  // The engine that runs the job (and the sidecar it starts); default: Client::from_env().
  std::optional<Client> outer;
  // Where warnings go (socket mode); default: one line on stderr.
  std::function<void(const std::string&)> on_warning;
};

class Job {
 public:
  // Called with each piece of the job's output as it comes.
  using OutputCallback = std::function<void(StdStream, std::string_view)>;

  // Checks the options (workspace exists, socket opt-in, mode and daemon agree); creates nothing yet.
  explicit Job(JobOptions options);
  Job(Job&&) noexcept;
  Job& operator=(Job&&) noexcept;
  ~Job();

  // Creates the network, the sidecar (or connects the given one), the job container; runs it with its output passed
  // to `on_output` live; removes everything it made; returns the job's exit code. Throws dind::Error when the job
  // image has no docker CLI, when the sidecar stops mid-job (with the sidecar's log tail), or on cancel().
  int run(const OutputCallback& on_output = {});
  // Ends a run() in progress from any thread: kills the job container; run() then cleans up and throws. With
  // `wait`, returns once that run has removed what it made.
  void cancel(bool wait = false) noexcept;

  // The workspace as mounted (absolute, symlinks resolved); empty without one.
  const std::string& workspace() const noexcept;
  // The job container's name.
  const std::string& name() const noexcept;
  const JobOptions& options() const noexcept;

  // Options for a daemon that several sidecar jobs with this workspace can share: `base` plus the workspace
  // mounted at the same path (and, for a workspace below /tmp, an anonymous volume at /tmp, so that the dind
  // entrypoint's tmpfs on /tmp does not hide it). Throws like Job() when the workspace does not exist.
  static DaemonOptions sidecar_options(const std::string& workspace, DaemonOptions base = {});

  struct State;

 private:
  std::unique_ptr<State> s_;
};

}  // namespace dind
