// A Job's options and workspace, checked when it is made; the workspace rule's mounts; cancel(). One run is in
// job_run.cpp.
#include "dind/job.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "dind/containers.hpp"
#include "dind/session.hpp"
#include "job_state.hpp"

namespace dind {

namespace fs = std::filesystem;

namespace {

const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool starts_with(const std::string& s, const std::string& p) {
  return s.compare(0, p.size(), p) == 0;
}

// The workspace as it will be mounted: absolute with symlinks resolved, so the same string names it for the
// engine's bind, the job and the sidecar. Throws naming the path as given.
std::string canonical_workspace(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error("the job workspace " + path +
                " does not exist (it is mounted at the same path into the job and its dind sidecar)");
  if (!fs::is_directory(path, ec)) throw Error("the job workspace " + path + " is not a directory");
  std::string c = fs::canonical(path, ec).string();
  if (ec) throw Error("resolving the job workspace " + path + " failed: " + ec.message());
  if (c == "/")
    throw Error("the job workspace cannot be / (mounted at the same path, it would hide the job's own files)");
  return c;
}

// dind's entrypoint (the official one too) mounts a tmpfs over /tmp unless /tmp is a mount point already, which
// hides a workspace bound below /tmp (pytest's tmp_path, mktemp -d). An anonymous volume at /tmp keeps it visible
// and goes with the container's other volumes.
bool below_tmp(const std::string& workspace) {
  return starts_with(workspace, "/tmp/");
}

}  // namespace

namespace detail {

void add_workspace_mounts(DaemonOptions& d, const std::string& workspace) {
  if (below_tmp(workspace)) d.mounts.push_back("/tmp");
  d.mounts.push_back(workspace + ":" + workspace);
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("reading " + path + " failed: " + std::strerror(errno));
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::string path_of(const nlohmann::json& env) {
  if (env.is_array()) {
    for (const auto& e : env) {
      const std::string s = e.get<std::string>();
      if (starts_with(s, "PATH=")) return s.substr(5);
    }
  }
  return kDefaultPath;
}

// A given daemon must already mount the workspace at the same path, or `docker run -v $PWD:...` breaks silently.
void check_daemon_mounts(Daemon& d, const std::string& workspace) {
  const nlohmann::json info = Containers(d.outer()).inspect(d.id());
  const nlohmann::json mounts = info.value("Mounts", nlohmann::json::array());
  bool shared = false, tmp_mounted = false;
  for (const auto& m : mounts) {
    if (m.value("Destination", "") == workspace && m.value("Source", "") == workspace) shared = true;
    if (m.value("Destination", "") == "/tmp") tmp_mounted = true;
  }
  if (shared && below_tmp(workspace) && !tmp_mounted)
    throw Error("the dind daemon " + d.name() + " mounts the job workspace " + workspace +
                " below /tmp, where its entrypoint's tmpfs on /tmp hides it: give it a volume at /tmp too "
                "(Job::sidecar_options does)");
  if (shared) return;
  throw Error("the dind daemon " + d.name() + " does not mount the job workspace " + workspace +
              " at the same path, so the job's bind mounts and builds would not see it: start it with the mount " +
              workspace + ":" + workspace + " (Job::sidecar_options)");
}

std::string unix_socket_path(const Client& outer) {
  const std::string& h = outer.host();
  if (!starts_with(h, "unix://"))
    throw Error("socket mode binds the engine's unix socket into the job, but the engine is at " + h);
  return h.substr(7);
}

}  // namespace detail

using detail::add_workspace_mounts;

Job::Job(JobOptions o) {
  if (o.image.empty()) throw Error("creating a CI job: no job image given");
  if (o.mode == JobMode::socket) {
    if (!o.allow_host_socket)
      throw Error(
          "socket mode refused: it binds the host's Docker socket into the job, which then controls the host's "
          "daemon (it can remove every container on it); opt in with allow_host_socket (CLI: --host-socket)");
    if (o.daemon) throw Error("creating a CI job: a dind daemon was given, but the mode is socket");
    if (!o.load_images.empty())
      throw Error("creating a CI job: images to load into a sidecar were given, but the mode is socket");
  }
  if (o.daemon && !o.load_images.empty())
    throw Error("creating a CI job: images to load were given with a daemon of the caller's; load them into it");
  Client outer = o.outer ? *o.outer : Client::from_env();
  s_ = std::make_unique<State>(std::move(o), std::move(outer));
  if (!s_->options.workspace.empty()) s_->workspace = canonical_workspace(s_->options.workspace);
  s_->name = s_->options.name.empty() ? unique_name("dind-job-") : s_->options.name;
}

Job::Job(Job&&) noexcept = default;
Job& Job::operator=(Job&&) noexcept = default;
Job::~Job() = default;

const std::string& Job::workspace() const noexcept {
  return s_->workspace;
}
const std::string& Job::name() const noexcept {
  return s_->name;
}
const JobOptions& Job::options() const noexcept {
  return s_->options;
}

DaemonOptions Job::sidecar_options(const std::string& workspace, DaemonOptions base) {
  add_workspace_mounts(base, canonical_workspace(workspace));
  return base;
}

void Job::cancel(bool wait) noexcept {
  std::unique_lock<std::mutex> lock(s_->mu);
  s_->cancelled = true;
  if (!s_->container_id.empty()) {
    try {
      Containers(s_->outer).kill(s_->container_id);
    } catch (...) {
      // not running (any more): the run ends anyway
    }
  }
  if (s_->reader) s_->reader->close();
  if (wait) s_->ended.wait(lock, [this] { return !s_->running; });
}

}  // namespace dind
