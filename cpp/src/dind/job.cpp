#include "dind/job.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "dind/archive.hpp"
#include "dind/containers.hpp"
#include "dind/images.hpp"
#include "dind/networks.hpp"
#include "dind/session.hpp"
#include "dind/streams.hpp"
#include "dind/tar.hpp"

namespace dind {

namespace fs = std::filesystem;

struct Job::State {
  JobOptions options;
  Client outer;
  std::string workspace;  // canonical
  std::string name;

  // Per run; `mu` guards what cancel() touches from another thread.
  std::mutex mu;
  bool cancelled = false;
  std::string container_id;
  FrameReader* reader = nullptr;

  State(JobOptions o, Client c) : options(std::move(o)), outer(std::move(c)) {}
};

namespace {

const char* kLabelJob = "dind.job";  // the job's name, on everything a job makes
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

void add_workspace_mounts(DaemonOptions& d, const std::string& workspace) {
  if (below_tmp(workspace)) d.mounts.push_back("/tmp");
  d.mounts.push_back(workspace + ":" + workspace);
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("reading " + path + " failed: " + std::strerror(errno));
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The value of PATH in a container's Env.
std::string path_of(const nlohmann::json& env) {
  if (env.is_array()) {
    for (const auto& e : env) {
      const std::string s = e.get<std::string>();
      if (starts_with(s, "PATH=")) return s.substr(5);
    }
  }
  return kDefaultPath;
}

void ensure_job_image(Client& outer, const std::string& image) {
  Images images(outer);
  try {
    images.inspect(image);
    return;
  } catch (const NotFound&) {
  }
  auto [repo, tag] = parse_repository_tag(image);
  try {
    images.pull(repo, tag.empty() ? "latest" : tag).read_all();
  } catch (const Error& e) {
    throw Error("the job image " + image + " is not on the engine at " + outer.host() +
                " and pulling it failed: " + e.what());
  }
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

// An IPv4 subnet "a.b.c.d/n" as (first address, mask); nullopt for IPv6 or anything unparsable.
std::optional<std::pair<std::uint32_t, std::uint32_t>> parse_v4_subnet(const std::string& cidr) {
  unsigned a, b, c, d, n;
  char tail;
  if (std::sscanf(cidr.c_str(), "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &n, &tail) != 5 || a > 255 || b > 255 || c > 255 ||
      d > 255 || n > 32)
    return std::nullopt;
  const std::uint32_t mask = n == 0 ? 0 : ~std::uint32_t{0} << (32 - n);
  return std::make_pair(((a << 24) | (b << 16) | (c << 8) | d) & mask, mask);
}

// The IPv4 subnets of the networks in a list answer.
std::vector<std::pair<std::uint32_t, std::uint32_t>> subnets_of(const nlohmann::json& networks) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  for (const auto& n : networks) {
    const nlohmann::json ipam = n.value("IPAM", nlohmann::json::object());
    for (const auto& c : ipam.value("Config", nlohmann::json::array())) {
      if (auto s = parse_v4_subnet(c.value("Subnet", ""))) out.push_back(*s);
    }
  }
  return out;
}

bool overlaps(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& taken, const nlohmann::json& network) {
  for (const auto& [net, mask] : subnets_of(nlohmann::json::array({network}))) {
    for (const auto& [tnet, tmask] : taken) {
      const std::uint32_t common = mask & tmask;  // the shorter prefix decides
      if ((net & common) == (tnet & common)) return true;
    }
  }
  return false;
}

// Creates the job's network. Joining a running sidecar to it must not clash with the subnets its inner daemon
// already routes (its bridge often sits on the very /16 the outer engine hands out next), so subnets the outer
// engine picks that overlap `avoid` are held while it picks again, then dropped. Returns {id, name}.
std::pair<std::string, std::string> create_job_network(
    Client& outer, const std::string& base_name, const std::map<std::string, std::string>& labels,
    const std::vector<std::pair<std::uint32_t, std::uint32_t>>& avoid) {
  Networks networks(outer);
  NetworkCreate net;
  net.labels = labels;
  std::vector<std::string> held;
  auto drop_held = [&] {
    for (const auto& id : held) {
      try {
        networks.remove(id);
      } catch (const Error&) {
        // labelled: reap() removes it if this fails
      }
    }
  };
  try {
    for (int attempt = 0; attempt < 16; ++attempt) {
      const std::string name = attempt == 0 ? base_name : base_name + "-" + std::to_string(attempt);
      const std::string id = networks.create(name, net).value("Id", "");
      if (avoid.empty() || !overlaps(avoid, networks.inspect(id))) {
        drop_held();
        return {id, name};
      }
      held.push_back(id);
    }
  } catch (...) {
    drop_held();
    throw;
  }
  drop_held();
  throw Error("creating the network " + base_name + " on " + outer.host() +
              ": every subnet the engine offered overlaps a network of the dind daemon inside the sidecar");
}

std::string unix_socket_path(const Client& outer) {
  const std::string& h = outer.host();
  if (!starts_with(h, "unix://"))
    throw Error("socket mode binds the engine's unix socket into the job, but the engine is at " + h);
  return h.substr(7);
}

}  // namespace

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

void Job::cancel() noexcept {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->cancelled = true;
  if (!s_->container_id.empty()) {
    try {
      Containers(s_->outer).kill(s_->container_id);
    } catch (...) {
      // not running (any more): the run ends anyway
    }
  }
  if (s_->reader) s_->reader->close();
}

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

}  // namespace

int Job::run(const OutputCallback& on_output) {
  State& st = *s_;
  const JobOptions& o = st.options;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.cancelled = false;
    st.container_id.clear();
    st.reader = nullptr;
  }
  const std::string what = "CI job " + st.name + " (image " + o.image + ") on " + st.outer.host();
  auto check_cancelled = [&] {
    std::lock_guard<std::mutex> lock(st.mu);
    if (st.cancelled) throw Error(what + " was cancelled");
  };

  ensure_job_image(st.outer, o.image);

  auto labels = session_labels(Owner::self(), st.outer);
  for (const auto& [k, v] : o.labels) labels[k] = v;
  labels[kLabelJob] = st.name;

  RunResources res{st.outer, {}, {}, nullptr, std::nullopt};
  Daemon* sidecar = nullptr;
  std::string network_name;
  std::vector<std::string> env;
  std::vector<std::string> binds;
  if (!st.workspace.empty()) binds.push_back(st.workspace + ":" + st.workspace);

  if (o.mode == JobMode::sidecar) {
    if (o.daemon && !st.workspace.empty()) check_daemon_mounts(*o.daemon, st.workspace);
    // A network of the job's own: the sidecar answers there as `docker`, whoever else uses it.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> avoid;
    if (o.daemon) avoid = subnets_of(Networks(o.daemon->client()).list());
    const auto [net_id, net_name] = create_job_network(st.outer, st.name + "-net", labels, avoid);
    res.network_id = net_id;
    network_name = net_name;
    if (o.daemon) {
      NetworkEndpoint ep;
      ep.aliases = {"docker"};
      Networks(st.outer).connect(res.network_id, o.daemon->id(), ep);
      res.connected = o.daemon;
      sidecar = o.daemon;
    } else {
      DaemonOptions d = o.daemon_options;
      d.network = net_name;
      d.aliases.push_back("docker");
      if (!st.workspace.empty()) add_workspace_mounts(d, st.workspace);
      if (!d.outer) d.outer = st.outer;
      if (d.name.empty()) d.name = st.name + "-docker";
      for (const auto& [k, v] : o.labels) d.labels[k] = v;
      d.labels[kLabelJob] = st.name;
      res.owned.emplace(Daemon::start(d));
      sidecar = &*res.owned;
      check_cancelled();
      if (!o.load_images.empty()) sidecar->load_images(o.load_images);
    }
    check_cancelled();
    if (sidecar->tls()) {
      env = {"DOCKER_HOST=tcp://docker:2376", "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + o.cert_dir};
    } else {
      env = {"DOCKER_HOST=tcp://docker:2375"};
    }
  } else {
    const std::string sock = unix_socket_path(st.outer);
    binds.push_back(sock + ":/var/run/docker.sock");
    env = {"DOCKER_HOST=unix:///var/run/docker.sock"};
    const std::string warning = "dind: " + what +
                                " gets the host's Docker socket: it controls the host's daemon and can remove "
                                "every container on it";
    if (o.on_warning)
      o.on_warning(warning);
    else
      std::cerr << warning << std::endl;
  }
  for (const auto& e : o.env) env.push_back(e);  // later entries win: the caller's override ours

  nlohmann::json host_config = {{"Binds", binds}};
  if (!res.network_id.empty()) host_config["NetworkMode"] = network_name;
  nlohmann::json body = {{"Image", o.image},          {"Env", env},           {"Labels", labels},
                         {"HostConfig", host_config}, {"AttachStdout", true}, {"AttachStderr", true}};
  if (!o.command.empty()) body["Cmd"] = o.command;
  const std::string workdir = !o.workdir.empty() ? o.workdir : st.workspace;
  if (!workdir.empty()) body["WorkingDir"] = workdir;

  Containers containers(st.outer);
  try {
    res.container_id = containers.create(body, st.name).value("Id", "");
  } catch (const Conflict& e) {
    throw Error("creating " + what + " failed: the name is taken (" + e.message() + ")");
  }
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.container_id = res.container_id;
  }

  Archive archive(st.outer);
  if (o.require_docker_cli) {
    // Asked of the created container's files (no process needed): `docker` in any PATH directory.
    const nlohmann::json info = containers.inspect(res.container_id);
    const std::string path = path_of(info["Config"].value("Env", nlohmann::json::array()));
    bool found = false;
    std::istringstream dirs(path);
    for (std::string dir; !found && std::getline(dirs, dir, ':');) {
      if (dir.empty()) continue;
      try {
        archive.stat(res.container_id, dir + "/docker");
        found = true;
      } catch (const NotFound&) {
      }
    }
    if (!found)
      throw Error("the job image " + o.image + " has no docker CLI: `docker` is in none of its PATH directories (" +
                  path + "); the job needs one to reach the daemon: use an image that has it (e.g. docker:cli)");
  }

  if (sidecar && sidecar->tls()) {
    // The daemon's client certs, read-only in the job: what DOCKER_CERT_PATH names.
    TarWriter tar;
    std::string dir;
    std::istringstream parts(o.cert_dir);
    for (std::string p; std::getline(parts, p, '/');) {
      if (p.empty()) continue;
      dir += (dir.empty() ? "" : "/") + p;
      tar.add_directory(dir, 0755);
    }
    if (dir.empty()) throw Error("creating " + what + ": the cert dir " + o.cert_dir + " is not a directory path");
    for (const char* f : {"ca.pem", "cert.pem", "key.pem"})
      tar.add_bytes(dir + "/" + f, read_text(sidecar->cert_path() + "/" + f), 0444);
    archive.put(res.container_id, "/", body_from_tar(std::move(tar)));
  }

  check_cancelled();
  std::optional<SidecarWatch> watch;
  if (sidecar) watch.emplace(*sidecar, res.container_id, st.outer);
  // Attached before the start: every byte the job writes arrives, also the last ones before it exits (a logs
  // follow can end at the exit before the engine has logged them).
  AttachOptions ao;
  ao.stdout_stream = ao.stderr_stream = ao.stream = true;
  ao.tty = false;
  FrameReader reader = ContainerStreams(st.outer).attach(res.container_id, ao);
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.reader = &reader;
    if (st.cancelled) reader.close();
  }
  struct ReaderReset {
    State& st;
    ~ReaderReset() {
      std::lock_guard<std::mutex> lock(st.mu);
      st.reader = nullptr;
    }
  } reader_reset{st};
  containers.start(res.container_id);
  OutputChunk chunk;
  while (reader.next(chunk)) {
    if (on_output && !chunk.data.empty()) on_output(chunk.stream, chunk.data);
  }
  const nlohmann::json result = containers.wait(res.container_id);
  const int code = static_cast<int>(result.value("StatusCode", -1));
  if (watch) watch->stop();

  if (watch && watch->died()) {
    const std::string tail = sidecar->logs(30);
    throw Error("the dind sidecar " + sidecar->name() + " of " + what + " stopped (exit code " +
                std::to_string(watch->exit_code()) + ") while the job ran" +
                (tail.empty() ? std::string() : "\n--- last lines of the sidecar's log ---\n" + tail));
  }
  check_cancelled();
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.container_id.clear();
  }
  if (const std::string failure = res.remove(); !failure.empty()) throw Error("cleaning up " + what + ": " + failure);
  return code;
}

}  // namespace dind
