// One run of a Job: wired to Docker, created, checked, run attached, and everything it made removed however it ends.
#include <atomic>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "daemon_spec.hpp"
#include "dind/archive.hpp"
#include "dind/containers.hpp"
#include "dind/networks.hpp"
#include "dind/session.hpp"
#include "dind/streams.hpp"
#include "dind/tar.hpp"
#include "job_network.hpp"
#include "job_state.hpp"

namespace dind {

using detail::add_workspace_mounts;
using detail::check_daemon_mounts;
using detail::kLabelJob;
using detail::path_of;
using detail::read_text;
using detail::unix_socket_path;

namespace {

// What one run made, removed in reverse order when the run ends, however it ends.
struct RunResources {
  Client outer;
  std::string container_id, network_id;
  Daemon* connected = nullptr;  // a given daemon connected to network_id
  std::optional<Daemon> owned;

  // Removes everything; returns the first failure (empty when all went).
  std::string remove() noexcept {
    std::string failure;
    auto note = [&failure](const std::string& what, const std::exception& e) {
      if (failure.empty()) failure = what + ": " + e.what();
    };
    if (!container_id.empty()) {
      try {
        Containers(outer).remove(container_id, /*force=*/true, /*v=*/true);
      } catch (const NotFound&) {
      } catch (const Error& e) {
        note("removing the job container " + container_id, e);
      }
      container_id.clear();
    }
    if (connected) {
      try {
        Networks(outer).disconnect(network_id, connected->id(), /*force=*/true);
      } catch (const NotFound&) {
      } catch (const Error& e) {
        note("disconnecting dind daemon " + connected->name() + " from the job network", e);
      }
      connected = nullptr;
    }
    if (owned) {
      try {
        owned->remove();
      } catch (const Error& e) {
        note("removing the job's dind sidecar " + owned->name(), e);
      }
      owned.reset();
    }
    if (!network_id.empty()) {
      try {
        Networks(outer).remove(network_id);
      } catch (const NotFound&) {
      } catch (const Error& e) {
        note("removing the job network " + network_id, e);
      }
      network_id.clear();
    }
    return failure;
  }
  ~RunResources() { remove(); }
};

// Watches the sidecar while the job runs: if it stops first, the job is killed (its docker calls could only fail
// or hang) and run() reports the sidecar's death.
class SidecarWatch {
 public:
  SidecarWatch(Daemon& sidecar, std::string job_id, Client outer)
      : wait_(Containers(sidecar.outer()).begin_wait(sidecar.id(), "not-running")),
        job_id_(std::move(job_id)),
        outer_(std::move(outer)) {
    thread_ = std::thread([this] {
      try {
        const nlohmann::json r = wait_.result();
        if (done_) return;
        exit_code_ = r.value("StatusCode", -1);
        died_ = true;
        Containers(outer_).kill(job_id_);
      } catch (...) {
        // closed (the job ended first), or the job container is gone already
      }
    });
  }
  ~SidecarWatch() { stop(); }

  void stop() noexcept {
    if (!thread_.joinable()) return;
    done_ = true;
    wait_.close();
    thread_.join();
  }
  bool died() const noexcept { return died_; }
  std::int64_t exit_code() const noexcept { return exit_code_; }

 private:
  Containers::PendingWait wait_;
  std::string job_id_;
  Client outer_;
  std::atomic<bool> done_{false}, died_{false};
  std::atomic<std::int64_t> exit_code_{-1};
  std::thread thread_;
};

// One run, step by step: wire the job to Docker (a sidecar on a network of its own, or the host's socket), create
// the job container, check its docker CLI, put the certs in, run it attached. `res` owns what exists at each step.
class JobRun {
 public:
  JobRun(Job::State& st, const Job::OutputCallback& on_output)
      : st_(st),
        o_(st.options),
        on_output_(on_output),
        what_("CI job " + st.name + " (image " + o_.image + ") on " + st.outer.host()),
        res_{st.outer, {}, {}, nullptr, std::nullopt} {}

  int run() {
    detail::ensure_image(st_.outer, o_.image, PullPolicy::missing, "job image");
    labels_ = session_labels(Owner::self(), st_.outer);
    for (const auto& [k, v] : o_.labels) labels_[k] = v;
    labels_[kLabelJob] = st_.name;
    if (!st_.workspace.empty()) binds_.push_back(st_.workspace + ":" + st_.workspace);
    if (o_.mode == JobMode::sidecar)
      wire_sidecar();
    else
      wire_host_socket();
    for (const auto& e : o_.env) env_.push_back(e);  // later entries win: the caller's override ours
    create_container();
    if (o_.require_docker_cli) check_docker_cli();
    if (sidecar_ && sidecar_->tls()) put_certs();
    check_cancelled();
    const int code = attach_and_run();
    {
      std::lock_guard<std::mutex> lock(st_.mu);
      st_.container_id.clear();
    }
    if (const std::string failure = res_.remove(); !failure.empty())
      throw Error("cleaning up " + what_ + ": " + failure);
    return code;
  }

 private:
  void check_cancelled() {
    std::lock_guard<std::mutex> lock(st_.mu);
    if (st_.cancelled) throw Error(what_ + " was cancelled");
  }

  // A network of the job's own, where the sidecar (given, or started here) answers as `docker`.
  void wire_sidecar() {
    if (o_.daemon && !st_.workspace.empty()) check_daemon_mounts(*o_.daemon, st_.workspace);
    detail::Subnets avoid;
    if (o_.daemon) avoid = detail::subnets_of(Networks(o_.daemon->client()).list());
    const auto [net_id, net_name] = detail::create_job_network(st_.outer, st_.name + "-net", labels_, avoid);
    res_.network_id = net_id;
    network_name_ = net_name;
    if (o_.daemon) {
      NetworkEndpoint ep;
      ep.aliases = {"docker"};
      Networks(st_.outer).connect(res_.network_id, o_.daemon->id(), ep);
      res_.connected = o_.daemon;
      sidecar_ = o_.daemon;
    } else {
      DaemonOptions d = o_.daemon_options;
      d.network = net_name;
      d.aliases.push_back("docker");
      if (!st_.workspace.empty()) add_workspace_mounts(d, st_.workspace);
      if (!d.outer) d.outer = st_.outer;
      if (d.name.empty()) d.name = st_.name + "-docker";
      for (const auto& [k, v] : o_.labels) d.labels[k] = v;
      d.labels[kLabelJob] = st_.name;
      res_.owned.emplace(Daemon::start(d));
      sidecar_ = &*res_.owned;
      check_cancelled();
      if (!o_.load_images.empty()) sidecar_->load_images(o_.load_images);
    }
    check_cancelled();
    if (sidecar_->tls())
      env_ = {"DOCKER_HOST=tcp://docker:2376", "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + o_.cert_dir};
    else
      env_ = {"DOCKER_HOST=tcp://docker:2375"};
  }

  void wire_host_socket() {
    binds_.push_back(unix_socket_path(st_.outer) + ":/var/run/docker.sock");
    env_ = {"DOCKER_HOST=unix:///var/run/docker.sock"};
    const std::string warning = "dind: " + what_ +
                                " gets the host's Docker socket: it controls the host's daemon and can remove "
                                "every container on it";
    if (o_.on_warning)
      o_.on_warning(warning);
    else
      std::cerr << warning << std::endl;
  }

  void create_container() {
    nlohmann::json host_config = {{"Binds", binds_}};
    if (!res_.network_id.empty()) host_config["NetworkMode"] = network_name_;
    nlohmann::json body = {{"Image", o_.image},         {"Env", env_},          {"Labels", labels_},
                           {"HostConfig", host_config}, {"AttachStdout", true}, {"AttachStderr", true}};
    if (!o_.command.empty()) body["Cmd"] = o_.command;
    const std::string workdir = !o_.workdir.empty() ? o_.workdir : st_.workspace;
    if (!workdir.empty()) body["WorkingDir"] = workdir;
    try {
      res_.container_id = Containers(st_.outer).create(body, st_.name).value("Id", "");
    } catch (const Conflict& e) {
      throw Error("creating " + what_ + " failed: the name is taken (" + e.message() + ")");
    }
    std::lock_guard<std::mutex> lock(st_.mu);
    st_.container_id = res_.container_id;
  }

  // Asked of the created container's files (no process needed): `docker` in any PATH directory.
  void check_docker_cli() {
    const nlohmann::json info = Containers(st_.outer).inspect(res_.container_id);
    const std::string path = path_of(info["Config"].value("Env", nlohmann::json::array()));
    std::istringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      if (dir.empty()) continue;
      try {
        Archive(st_.outer).stat(res_.container_id, dir + "/docker");
        return;
      } catch (const NotFound&) {
      }
    }
    throw Error("the job image " + o_.image + " has no docker CLI: `docker` is in none of its PATH directories (" +
                path + "); the job needs one to reach the daemon: use an image that has it (e.g. docker:cli)");
  }

  // The daemon's client certs, read-only in the job: what DOCKER_CERT_PATH names.
  void put_certs() {
    TarWriter tar;
    std::string dir;
    std::istringstream parts(o_.cert_dir);
    for (std::string p; std::getline(parts, p, '/');) {
      if (p.empty()) continue;
      dir += (dir.empty() ? "" : "/") + p;
      tar.add_directory(dir, 0755);
    }
    if (dir.empty()) throw Error("creating " + what_ + ": the cert dir " + o_.cert_dir + " is not a directory path");
    for (const char* f : {"ca.pem", "cert.pem", "key.pem"})
      tar.add_bytes(dir + "/" + f, read_text(sidecar_->cert_path() + "/" + f), 0444);
    Archive(st_.outer).put(res_.container_id, "/", body_from_tar(std::move(tar)));
  }

  // Attached before the start: every byte the job writes arrives, also the last ones before it exits (a logs
  // follow can end at the exit before the engine has logged them). Returns the job's exit code.
  int attach_and_run() {
    std::optional<SidecarWatch> watch;
    if (sidecar_) watch.emplace(*sidecar_, res_.container_id, st_.outer);
    AttachOptions ao;
    ao.stdout_stream = ao.stderr_stream = ao.stream = true;
    ao.tty = false;
    FrameReader reader = ContainerStreams(st_.outer).attach(res_.container_id, ao);
    {
      std::lock_guard<std::mutex> lock(st_.mu);
      st_.reader = &reader;
      if (st_.cancelled) reader.close();
    }
    struct ReaderReset {
      Job::State& st;
      ~ReaderReset() {
        std::lock_guard<std::mutex> lock(st.mu);
        st.reader = nullptr;
      }
    } reader_reset{st_};
    Containers containers(st_.outer);
    containers.start(res_.container_id);
    OutputChunk chunk;
    while (reader.next(chunk))
      if (on_output_ && !chunk.data.empty()) on_output_(chunk.stream, chunk.data);
    const int code = static_cast<int>(containers.wait(res_.container_id).value("StatusCode", -1));
    if (watch) watch->stop();
    if (watch && watch->died()) {
      const std::string tail = sidecar_->logs(30);
      throw Error("the dind sidecar " + sidecar_->name() + " of " + what_ + " stopped (exit code " +
                  std::to_string(watch->exit_code()) + ") while the job ran" +
                  (tail.empty() ? std::string() : "\n--- last lines of the sidecar's log ---\n" + tail));
    }
    check_cancelled();
    return code;
  }

  Job::State& st_;
  const JobOptions& o_;
  const Job::OutputCallback& on_output_;
  const std::string what_;
  RunResources res_;
  std::map<std::string, std::string> labels_;
  Daemon* sidecar_ = nullptr;
  std::string network_name_;
  std::vector<std::string> env_, binds_;
};

}  // namespace

int Job::run(const OutputCallback& on_output) {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    if (s_->running) throw Error("CI job " + s_->name + " is already running");
    s_->running = true;
    s_->cancelled = false;
    s_->container_id.clear();
    s_->reader = nullptr;
  }
  struct Ended {  // after the run removed what it made, however it ends
    State& st;
    ~Ended() {
      {
        std::lock_guard<std::mutex> lock(st.mu);
        st.running = false;
      }
      st.ended.notify_all();
    }
  } ended{*s_};
  return JobRun(*s_, on_output).run();
}

}  // namespace dind
