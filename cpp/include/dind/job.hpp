// Layer 6: a CI job container wired to Docker, the two ways CI engines do it.
//
//   auto opts = dind::JobOptions{}.image("docker:cli").command({"sh", "-c", "docker build ."}).workspace("/src");
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

class JobOptions {
 public:
  // Chainable setters; each getter has the setter's name.
  // The job image: it needs a docker CLI on its PATH (e.g. docker:cli).
  JobOptions& image(std::string v) {
    image_ = std::move(v);
    return *this;
  }
  // The command (empty: the image's default).
  JobOptions& command(std::vector<std::string> v) {
    command_ = std::move(v);
    return *this;
  }
  JobOptions& env(std::string key_value) {
    env_.push_back(std::move(key_value));
    return *this;
  }
  // Working directory in the job (default: the workspace, else the image's).
  JobOptions& workdir(std::string v) {
    workdir_ = std::move(v);
    return *this;
  }
  // A host directory mounted at the same path in the job and in the sidecar (it must exist).
  JobOptions& workspace(std::string v) {
    workspace_ = std::move(v);
    return *this;
  }
  JobOptions& mode(JobMode v) {
    mode_ = v;
    return *this;
  }
  // Sidecar mode with this running daemon instead of one the job starts; the caller keeps it alive and owns it.
  JobOptions& daemon(Daemon& v) {
    daemon_ = &v;
    return *this;
  }
  // Options of the sidecar the job starts (network, alias and workspace mount are added to them).
  JobOptions& daemon_options(DaemonOptions v) {
    daemon_options_ = std::move(v);
    return *this;
  }
  // Images of the outer engine to load into the sidecar the job starts (no registry needed).
  JobOptions& load_image(std::string v) {
    load_images_.push_back(std::move(v));
    return *this;
  }
  // The opt-in for socket mode: the job then controls the host's daemon.
  JobOptions& allow_host_socket(bool v) {
    allow_host_socket_ = v;
    return *this;
  }
  JobOptions& label(std::string key, std::string value) {
    labels_[std::move(key)] = std::move(value);
    return *this;
  }
  // The job container's name (default: dind-job-<random>).
  JobOptions& name(std::string v) {
    name_ = std::move(v);
    return *this;
  }
  // Where the client certs go in the job (read-only files), which DOCKER_CERT_PATH names.
  JobOptions& cert_dir(std::string v) {
    cert_dir_ = std::move(v);
    return *this;
  }
  // Check that the image has `docker` on its PATH before starting (off: the job brings its own CLI).
  JobOptions& require_docker_cli(bool v) {
    require_docker_cli_ = v;
    return *this;
  }
  // The engine that runs the job (and the sidecar it starts); default: Client::from_env().
  JobOptions& outer(Client v) {
    outer_ = std::move(v);
    return *this;
  }
  // Where warnings go (socket mode); default: one line on stderr.
  JobOptions& on_warning(std::function<void(const std::string&)> v) {
    on_warning_ = std::move(v);
    return *this;
  }

  const std::string& image() const noexcept { return image_; }
  const std::vector<std::string>& command() const noexcept { return command_; }
  const std::vector<std::string>& env() const noexcept { return env_; }
  const std::string& workdir() const noexcept { return workdir_; }
  const std::string& workspace() const noexcept { return workspace_; }
  JobMode mode() const noexcept { return mode_; }
  Daemon* daemon() const noexcept { return daemon_; }
  const DaemonOptions& daemon_options() const noexcept { return daemon_options_; }
  const std::vector<std::string>& load_images() const noexcept { return load_images_; }
  bool allow_host_socket() const noexcept { return allow_host_socket_; }
  const std::map<std::string, std::string>& labels() const noexcept { return labels_; }
  const std::string& name() const noexcept { return name_; }
  const std::string& cert_dir() const noexcept { return cert_dir_; }
  bool require_docker_cli() const noexcept { return require_docker_cli_; }
  const std::optional<Client>& outer() const noexcept { return outer_; }
  const std::function<void(const std::string&)>& on_warning() const noexcept { return on_warning_; }

 private:
  std::string image_ = "docker:cli";
  std::vector<std::string> command_, env_;
  std::string workdir_, workspace_;
  JobMode mode_ = JobMode::sidecar;
  Daemon* daemon_ = nullptr;
  DaemonOptions daemon_options_;
  std::vector<std::string> load_images_;
  bool allow_host_socket_ = false;
  std::map<std::string, std::string> labels_;
  std::string name_;
  std::string cert_dir_ = "/certs/client";
  bool require_docker_cli_ = true;
  std::optional<Client> outer_;
  std::function<void(const std::string&)> on_warning_;
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
  // Ends a run() in progress from any thread: kills the job container; run() then cleans up and throws.
  void cancel() noexcept;

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
