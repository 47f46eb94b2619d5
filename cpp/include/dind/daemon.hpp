// Layer 6: a throwaway Docker daemon in a privileged docker:dind container.
//
//   auto d = dind::Daemon::start(dind::DaemonOptions{}.image("docker:dind"));
//   d.client().ping();          // mutual TLS to 127.0.0.1:<random port>
//   d.env();                    // DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH for the docker CLI
//   // the destructor kills and removes the container with its volumes, and deletes the client certs
//
// start(): certs are made in-process and put into the created container before it starts, so the image's entrypoint
// only verifies them; ready means the container runs and GET /_ping answers OK over the very transport and TLS the
// caller will use. Any failure removes everything made so far and throws (DaemonStartError with the log tail).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dind/client.hpp"
#include "dind/exec.hpp"
#include "dind/session.hpp"

namespace dind {

enum class PullPolicy { missing, always, never };

class DaemonOptions {
 public:
  // Chainable setters; each getter has the setter's name.
  DaemonOptions& image(std::string v) {
    image_ = std::move(v);
    return *this;
  }
  // Privileged (the default), or an OCI runtime such as "sysbox-runc" that runs dockerd without privileges.
  DaemonOptions& privileged(bool v) {
    privileged_ = v;
    return *this;
  }
  DaemonOptions& runtime(std::string v) {
    runtime_ = std::move(v);
    return *this;
  }
  // TLS on (the default: mutual TLS on 2376) or off (plain 2375, started with --tls=false; only when asked).
  DaemonOptions& tls(bool v) {
    tls_ = v;
    return *this;
  }
  // Extra names and addresses for the server cert ("DNS:x", "IP:y" or bare, comma separated), for other clients.
  DaemonOptions& tls_san(std::string v) {
    tls_sans_.push_back(std::move(v));
    return *this;
  }
  // Reach the daemon over a user network at its container address instead of a port published on 127.0.0.1.
  DaemonOptions& network(std::string v) {
    network_ = std::move(v);
    return *this;
  }
  // Network aliases on that network (e.g. "docker" for a CI job beside it).
  DaemonOptions& alias(std::string v) {
    aliases_.push_back(std::move(v));
    return *this;
  }
  // The host port to publish on 127.0.0.1 (0: a random free one).
  DaemonOptions& host_port(std::uint16_t v) {
    host_port_ = v;
    return *this;
  }
  // Appended to dockerd's flags: --registry-mirror=..., --insecure-registry=..., --mtu=..., --storage-driver=...
  DaemonOptions& dockerd_arg(std::string v) {
    dockerd_args_.push_back(std::move(v));
    return *this;
  }
  DaemonOptions& env(std::string key_value) {
    env_.push_back(std::move(key_value));
    return *this;
  }
  // Extra mounts in docker's bind syntax "source:target[:ro]" (a volume name or a host path).
  DaemonOptions& mount(std::string v) {
    mounts_.push_back(std::move(v));
    return *this;
  }
  DaemonOptions& name(std::string v) {
    name_ = std::move(v);
    return *this;
  }
  DaemonOptions& label(std::string key, std::string value) {
    labels_[std::move(key)] = std::move(value);
    return *this;
  }
  DaemonOptions& pull(PullPolicy v) {
    pull_ = v;
    return *this;
  }
  // The engine that runs the dind container (default: Client::from_env()).
  DaemonOptions& outer(Client v) {
    outer_ = std::move(v);
    return *this;
  }
  DaemonOptions& start_timeout(std::chrono::milliseconds v) {
    start_timeout_ = v;
    return *this;
  }
  // Whose death makes the daemon an orphan for reap() (default: this process).
  DaemonOptions& owner(Owner v) {
    owner_ = std::move(v);
    return *this;
  }
  // Set to true from another thread (Ctrl-C in the bindings) to abandon start(): it removes what it made and throws
  // DaemonStartError. Checked between steps and while waiting for the daemon to answer (not inside a pull).
  DaemonOptions& cancel_flag(std::shared_ptr<const std::atomic<bool>> v) {
    cancel_ = std::move(v);
    return *this;
  }

  const std::string& image() const noexcept { return image_; }
  bool privileged() const noexcept { return privileged_; }
  const std::string& runtime() const noexcept { return runtime_; }
  bool tls() const noexcept { return tls_; }
  const std::vector<std::string>& tls_sans() const noexcept { return tls_sans_; }
  const std::string& network() const noexcept { return network_; }
  const std::vector<std::string>& aliases() const noexcept { return aliases_; }
  std::uint16_t host_port() const noexcept { return host_port_; }
  const std::vector<std::string>& dockerd_args() const noexcept { return dockerd_args_; }
  const std::vector<std::string>& env() const noexcept { return env_; }
  const std::vector<std::string>& mounts() const noexcept { return mounts_; }
  const std::string& name() const noexcept { return name_; }
  const std::map<std::string, std::string>& labels() const noexcept { return labels_; }
  PullPolicy pull() const noexcept { return pull_; }
  const std::optional<Client>& outer() const noexcept { return outer_; }
  std::chrono::milliseconds start_timeout() const noexcept { return start_timeout_; }
  const std::optional<Owner>& owner() const noexcept { return owner_; }
  bool cancelled() const noexcept { return cancel_ && cancel_->load(); }

 private:
  std::string image_ = "docker:dind";
  bool privileged_ = true;
  std::string runtime_;
  bool tls_ = true;
  std::vector<std::string> tls_sans_;
  std::string network_;
  std::vector<std::string> aliases_;
  std::uint16_t host_port_ = 0;
  std::vector<std::string> dockerd_args_, env_, mounts_;
  std::string name_;
  std::map<std::string, std::string> labels_;
  PullPolicy pull_ = PullPolicy::missing;
  std::optional<Client> outer_;
  std::chrono::milliseconds start_timeout_{60000};
  std::optional<Owner> owner_;
  std::shared_ptr<const std::atomic<bool>> cancel_;
};

// How long each phase of start() took, for the main job and benchmarks.
struct StartTimings {
  std::chrono::microseconds certs{}, create{}, start{}, ready{}, total{};
};

class Daemon {
 public:
  static Daemon start(const DaemonOptions& options = {});
  // Takes over a running daemon made by start() (found by name or id), e.g. in another process (`dind env NAME`).
  static Daemon attach(const std::string& name_or_id, std::optional<Client> outer = std::nullopt);

  Daemon(Daemon&&) noexcept;
  Daemon& operator=(Daemon&&) noexcept;
  ~Daemon();  // removes the daemon unless keep() was called

  const std::string& id() const noexcept;
  const std::string& name() const noexcept;
  // What client() dials: "tcp://127.0.0.1:PORT", or the container address on a user network (env() always
  // names the loopback port, which the docker CLI can verify).
  const std::string& host() const noexcept;
  // The client certs (ca.pem, cert.pem, key.pem) in a private directory; empty without TLS.
  const std::string& cert_path() const noexcept;
  bool tls() const noexcept;
  Client& client() noexcept;
  Client& outer() noexcept;
  // DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH: what the docker CLI needs, as is.
  std::map<std::string, std::string> env() const;
  const StartTimings& timings() const noexcept;

  // The last `tail` lines of the dind container's log (stdout and stderr interleaved as written).
  std::string logs(int tail = 50);
  // Runs a command in the dind container (e.g. {"docker", "info"}).
  ExecResult exec(const std::vector<std::string>& cmd);
  // Streams `GET /images/get` of the outer engine into `POST /images/load` of this daemon: no registry, no temp
  // file. `progress` (optional) is called with the bytes moved so far. Returns what the daemon reports loaded.
  std::vector<std::string> load_images(const std::vector<std::string>& names,
                                       const std::function<void(std::uint64_t)>& progress = {});

  // Removes the container (force, with its volumes) and the cert directory. With `graceful`, stops it first,
  // waiting that long. Idempotent; errors other than "already gone" propagate after everything was attempted.
  void remove(std::optional<std::chrono::seconds> graceful = std::nullopt);
  // Leave the daemon (and its certs) running after this object dies: `dind up`, --dind-keep.
  void keep(bool keep = true) noexcept;
  bool removed() const noexcept;

  struct State;

 private:
  explicit Daemon(std::unique_ptr<State> s) noexcept;
  std::unique_ptr<State> s_;
};

}  // namespace dind
