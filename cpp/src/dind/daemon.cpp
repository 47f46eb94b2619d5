// A Daemon's life once started: what it offers (client, env, logs, exec, images), and its removal. Its start is in
// daemon_start.cpp, how it is dialled and found again in daemon_reach.cpp.
#include "dind/daemon.hpp"

#include <unistd.h>

#include <filesystem>
#include <thread>

#include "daemon_state.hpp"
#include "dind/containers.hpp"
#include "dind/images.hpp"
#include "dind/streams.hpp"

namespace dind {

using std::chrono::milliseconds;

PullPolicy parse_pull_policy(const std::string& name) {
  for (PullPolicy p : {PullPolicy::missing, PullPolicy::always, PullPolicy::never})
    if (name == to_string(p)) return p;
  throw Error("unknown pull policy \"" + name.substr(0, 100) + "\" (expected missing, always or never)");
}

const char* to_string(PullPolicy policy) noexcept {
  switch (policy) {
    case PullPolicy::missing: return "missing";
    case PullPolicy::always: return "always";
    case PullPolicy::never: return "never";
  }
  return "?";
}

Backend parse_backend(const std::string& name) {
  for (Backend b : {Backend::docker, Backend::kubernetes})
    if (name == to_string(b)) return b;
  throw Error("unknown backend \"" + name.substr(0, 100) + "\" (expected docker or kubernetes)");
}

const char* to_string(Backend backend) noexcept {
  return backend == Backend::kubernetes ? "kubernetes" : "docker";
}

Daemon::Daemon(std::unique_ptr<State> s) noexcept : s_(std::move(s)) {}
Daemon::Daemon(Daemon&&) noexcept = default;
Daemon& Daemon::operator=(Daemon&& other) noexcept {
  if (this != &other) {
    if (s_ && !s_->kept && !s_->removed.load()) {
      try {
        remove();
      } catch (...) {
      }
    }
    s_ = std::move(other.s_);
  }
  return *this;
}
Daemon::~Daemon() {
  if (s_ && !s_->kept && !s_->removed.load()) {
    try {
      remove();
    } catch (...) {
      // a destructor must not throw; reap() catches what is left
    }
  }
}

const std::string& Daemon::id() const noexcept {
  return s_->id;
}
const std::string& Daemon::name() const noexcept {
  return s_->name;
}
const std::string& Daemon::host() const noexcept {
  return s_->reach.address;
}
const Reach& Daemon::reach() const noexcept {
  return s_->reach;
}
const std::string& Daemon::cert_path() const noexcept {
  return s_->cert_path;
}
const std::string& Daemon::dir() const noexcept {
  return s_->dir;
}
bool Daemon::tls() const noexcept {
  return s_->tls;
}
Client& Daemon::outer() noexcept {
  return s_->outer;
}
const StartTimings& Daemon::timings() const noexcept {
  return s_->timings;
}
bool Daemon::reused() const noexcept {
  return s_->reused;
}
const std::string& Daemon::reuse_note() const noexcept {
  return s_->reuse_note;
}
bool Daemon::removed() const noexcept {
  return s_->removed;
}

Client& Daemon::client() noexcept {
  // Only start() and attach() hand out Daemons, and both set the client.
  return *s_->client;
}

bool Daemon::State::logged_in() const {
  return !dir.empty() && ::access((docker_config() + "/config.json").c_str(), F_OK) == 0;
}

std::map<std::string, std::string> Daemon::env() const {
  std::map<std::string, std::string> e;
  if (s_->logged_in()) e["DOCKER_CONFIG"] = s_->docker_config();
  if (s_->reach.kind == ReachKind::tunnel) {
    e["DOCKER_HOST"] = "unix://" + s_->socket_path();
    return e;
  }
  e["DOCKER_HOST"] = s_->reach.address;
  if (s_->tls) {
    e["DOCKER_TLS_VERIFY"] = "1";
    e["DOCKER_CERT_PATH"] = s_->cert_path;
  }
  return e;
}

void Daemon::serve_cli(const std::shared_ptr<const std::atomic<bool>>& stop) {
  State& st = *s_;
  if (st.reach.kind != ReachKind::tunnel) return;
  const std::string path = st.socket_path();
  if (::access(path.c_str(), F_OK) == 0) {
    try {  // another forwarder answers there already
      Client(ClientConfig::from_url("unix://" + path)).ping();
      return;
    } catch (const Error&) {
      ::unlink(path.c_str());  // left by one that died
    }
  }
  Forwarder f(path, client().config().dialer, "the daemon in " + st.name);
  Containers containers(st.outer);
  for (int tick = 0;; ++tick) {
    if (stop && stop->load()) return;
    if (::access(path.c_str(), F_OK) != 0) return;  // the directory went with the daemon
    if (tick % 8 == 0) {
      try {
        if (st.kube) {
          st.kube->api.call("GET", st.kube->pod_path());
        } else if (!containers.inspect(st.id)["State"].value("Running", false)) {
          return;
        }
      } catch (const NotFound&) {
        return;
      } catch (const Error&) {
        // the engine did not answer this time: ask again later
      }
    }
    std::this_thread::sleep_for(milliseconds(250));
  }
}

void Daemon::stop_forwarder() noexcept {
  s_->forwarder.reset();
}

std::string Daemon::logs(int tail) {
  if (s_->kube) return s_->kube->logs(tail);
  if (s_->id.empty()) return {};
  try {
    LogsOptions lo;
    lo.tail = std::to_string(tail);
    lo.tty = false;
    FrameReader r = ContainerStreams(s_->outer).logs(s_->id, lo);
    std::string out;
    OutputChunk chunk;
    while (r.next(chunk)) out += chunk.data;
    return out;
  } catch (const Error& e) {
    return std::string("(could not read the log of ") + s_->name + ": " + e.what() + ")";
  }
}

ExecResult Daemon::exec(const std::vector<std::string>& cmd) {
  if (s_->kube) return s_->kube->exec(cmd);
  ExecConfig cfg;
  cfg.cmd = cmd;
  return Exec(s_->outer).run(s_->id, std::move(cfg));
}

std::vector<std::string> Daemon::load_images(const std::vector<std::string>& names,
                                             const std::function<void(std::uint64_t)>& progress) {
  if (names.empty()) return {};
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  std::uint64_t moved = 0;
  try {
    BodyReader saved = Images(s_->outer).save(names);
    BodySource source = [&](char* buf, std::size_t cap) -> std::size_t {
      const std::size_t n = saved.read_some(buf, cap);
      moved += n;
      if (progress && n) progress(moved);
      return n;
    };
    JsonStream load = Images(client()).load(std::move(source), /*quiet=*/true);
    return Images::loaded_images(load.read_all());
  } catch (...) {
    rethrow_doing("loading " + all + " from " + s_->outer.host() + " into dind daemon " + s_->name + " (" +
                  s_->reach.address + ", " + std::to_string(moved) + " bytes moved)");
  }
}

void Daemon::remove(std::optional<std::chrono::seconds> graceful) {
  State& st = *s_;
  std::lock_guard<std::mutex> lock(st.mu);  // a second caller waits, then finds it removed
  if (st.removed) return;
  st.forwarder.reset();        // the docker CLI's socket goes first
  st.client.reset();           // drop pooled connections to the daemon before it goes
  std::exception_ptr failure;  // the first failure, rethrown (same kind) once everything was attempted
  if (st.kube) {
    try {
      st.kube->remove();
    } catch (const Error&) {
      failure = std::current_exception();
    }
  } else if (!st.id.empty()) {
    Containers containers(st.outer);
    try {
      if (graceful) containers.stop(st.id, static_cast<int>(graceful->count()));
    } catch (const NotFound&) {
    } catch (const Error&) {
      failure = std::current_exception();  // still try to remove it by force
    }
    try {
      containers.remove(st.id, /*force=*/true, /*v=*/true);
      failure = nullptr;
    } catch (const NotFound&) {
      failure = nullptr;
    } catch (const Conflict& e) {
      // "removal already in progress": another remove (a reaper, a signal handler) is on it
      if (e.message().find("already in progress") == std::string::npos) failure = std::current_exception();
    } catch (const Error&) {
      failure = std::current_exception();
    }
  }
  if (st.owned_dir) {
    st.owned_dir->remove();
  } else if (!st.dir.empty() && st.dir.find("dind-") != std::string::npos) {
    std::error_code ec;
    std::filesystem::remove_all(st.dir, ec);
  }
  st.removed = true;
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (...) {
      rethrow_doing(st.kube ? "removing dind pod " + st.kube->where()
                            : "removing dind container " + st.name + " from " + st.outer.host());
    }
  }
}

void Daemon::keep(bool keep) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->kept = keep;
  if (s_->owned_dir) s_->owned_dir->keep(keep);
}

}  // namespace dind
