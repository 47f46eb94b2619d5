// Layer 6: a throwaway Docker daemon in a privileged docker:dind container.
//
//   dind::DaemonOptions o;
//   o.image = "docker:dind";
//   auto d = dind::Daemon::start(o);
//   d.client().ping();          // mutual TLS, reached the way d.reach() says (dind/reach.hpp)
//   d.env();                    // DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH for the docker CLI
//   // the destructor kills and removes the container with its volumes, and deletes the client certs
//
// start(): certs are made in-process and put into the container before its entrypoint looks for them, so it only
// verifies them (before the start; for the network reach, whose address the cert must name, right after it, while a
// small wrapper holds the entrypoint back). Ready means the container runs and GET /_ping answers OK over the very
// transport and TLS the caller will use. Any failure removes everything made so far and throws (DaemonStartError with
// the log tail).
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
#include "dind/reach.hpp"
#include "dind/session.hpp"

namespace dind {

enum class PullPolicy { missing, always, never };

// "missing", "always", "never" (and back); throws Error listing the names.
PullPolicy parse_pull_policy(const std::string& name);
const char* to_string(PullPolicy policy) noexcept;

// Where the daemon runs: a privileged container on a Docker engine (the default), or a pod on a Kubernetes cluster.
enum class Backend { docker, kubernetes };

// "docker", "kubernetes" (and back); throws Error listing the names.
Backend parse_backend(const std::string& name);
const char* to_string(Backend backend) noexcept;

// The Kubernetes backend's place and shape: a pod of the dind image, its certs in a Secret, /var/lib/docker on an
// emptyDir (or `cache` as a PersistentVolumeClaim), both deleted with the daemon. The daemon is reached through the
// API server: an exec of docker system dial-stdio over its websocket.
struct KubeOptions {
  std::string kubeconfig;  // a kubeconfig file (empty: $KUBECONFIG, ~/.kube/config, the in-cluster service account)
  std::string context;     // a context of it (empty: its current-context)
  std::string namespace_;  // empty: the context's (else "default")
  // spec.nodeName: the node to run on, for a cluster without a scheduler (empty: the scheduler places the pod).
  std::string node;
  // runtimeClassName (e.g. a sysbox class) instead of a privileged container, for clusters that forbid privileged.
  std::string runtime_class;
  // The dind container's resources: {"cpu": "1", "memory": "2Gi"}.
  std::map<std::string, std::string> requests, limits;
};

// What to start. A plain struct: set the fields you need (`DaemonOptions o; o.image = "docker:dind";`); Python builds
// it by keyword (`_core.DaemonOptions(image=..., tls=...)`). Daemon::start() checks that the fields fit together.
struct DaemonOptions {
  std::string image = "docker:dind";
  // Privileged (the default), or an OCI runtime such as "sysbox-runc" that runs dockerd without privileges.
  bool privileged = true;
  std::string runtime;
  // Mutual TLS on 2376 (the default), or plain TCP on 2375 (started with --tls=false; only when asked).
  bool tls = true;
  // Extra names and addresses for the server cert ("DNS:x", "IP:y" or bare, comma separated), for other clients.
  std::vector<std::string> tls_sans;
  // A user network the daemon joins, with aliases there (e.g. "docker" for a CI job beside it). How the library
  // dials the daemon is `reach`'s business.
  std::string network;
  std::vector<std::string> aliases;
  // The host port to publish (0: a free one), for the loopback and published reaches.
  std::uint16_t host_port = 0;
  // Appended to dockerd's flags: --registry-mirror=..., --insecure-registry=..., --mtu=..., --storage-driver=...
  std::vector<std::string> dockerd_args;
  std::map<std::string, std::string> env;  // the dind container's environment (a key holds no '=')
  // Extra mounts in docker's bind syntax "source:target[:ro]" (a volume name or a host path).
  std::vector<std::string> mounts;
  std::string name;  // container name (default: dind-<random>)
  std::map<std::string, std::string> labels;
  PullPolicy pull = PullPolicy::missing;
  // The engine that runs the dind container (default: Client::from_env()).
  std::optional<Client> outer;
  std::chrono::milliseconds start_timeout{60000};
  // Whose death makes the daemon an orphan for reap() (default: this process).
  std::optional<Owner> owner;
  // How the library dials the daemon (dind/reach.hpp): automatic (the default) or one kind, asked for.
  ReachKind reach = ReachKind::automatic;
  // Dial a published port at this host instead (empty: $DIND_HOST if set), as testcontainers' host override does.
  std::string host;
  // Allows a plain-TCP (tls = false) port to be published beyond loopback, where anyone who reaches it owns the
  // daemon.
  bool insecure_publish = false;
  // Reuse across runs: a running daemon started with the same key and the same shaping options (its create body and
  // reach) is attached to, after a verified ping, instead of starting one; otherwise one is started that outlives
  // this process. Its client certs live in user_state_dir("reuse") (dind/private_dir.hpp). Removed only by
  // reap() with `reused` or `older_than`, or remove(). Empty: a throwaway daemon.
  std::string reuse;
  // A named volume for /var/lib/docker that outlives the daemon (dind/cache.hpp), made if absent. Never shared by two
  // daemons at once: a start whose cache is in use throws DaemonStartError naming the daemon that holds it.
  std::string cache;
  // Set to true from another thread (Ctrl-C in the bindings) to abandon start(): it removes what it made and throws
  // DaemonStartError. Checked between steps and while waiting for the daemon to answer (not inside a pull).
  std::shared_ptr<const std::atomic<bool>> cancel;

  // What the outer engine and the caller know, carried into the daemon (dind/daemon_carry.cpp), each with its
  // opt-out. What dockerd_args or env already set wins.
  bool carry_registries = true;  // the outer engine's registry mirrors and insecure registries (its GET /info)
  bool carry_mtu = true;         // the MTU of the network the daemon joins, when below 1500 (--mtu=N)
  bool carry_proxy = true;       // this process's HTTP_PROXY, HTTPS_PROXY, NO_PROXY (either case)
  bool credentials = true;       // $DOCKER_CONFIG/config.json's credentials for the pull of the dind image
  // Those credentials also for pulls through the daemon: client() sends them, and env() points the docker CLI at a
  // config.json in the daemon's private directory (DOCKER_CONFIG; removed with the daemon).
  bool login = false;

  Backend backend = Backend::docker;
  // The Kubernetes backend's options (backend = kubernetes). There `pull` maps to imagePullPolicy (missing:
  // IfNotPresent), `privileged`, `tls`, `dockerd_args`, `env`, `labels`, `name`, `cache` (a claim name) and
  // `start_timeout` apply; the reach is always through the API server.
  KubeOptions kube;

  bool cancelled() const noexcept { return cancel && cancel->load(); }
};

// How long each phase of start() took, for the main job and benchmarks.
struct StartTimings {
  std::chrono::microseconds certs{}, create{}, start{}, ready{}, total{};
};

// One dind daemon on an engine, as `dind ls` shows it.
struct DaemonSummary {
  std::string name, id, status;  // status: the container's ("running", "exited", ...)
  Reach reach;                   // address empty when it cannot be worked out (not running)
  std::string session;
  int owner_pid = 0;
  bool owner_alive = true;   // false when this machine can tell its owner is gone (what reap() judges by)
  std::int64_t created = 0;  // unix seconds
  std::string reuse;         // its reuse key (DaemonOptions::reuse), empty for a throwaway daemon
};

class Daemon {
 public:
  static Daemon start(const DaemonOptions& options = {});
  // Takes over a running daemon made by start() (found by name or id), e.g. in another process (`dind env NAME`).
  static Daemon attach(const std::string& name_or_id, std::optional<Client> outer = std::nullopt);
  // The dind daemons on `outer` (every session, any state), oldest first.
  static std::vector<DaemonSummary> list(Client outer);

  Daemon(Daemon&&) noexcept;
  Daemon& operator=(Daemon&&) noexcept;
  ~Daemon();  // removes the daemon unless keep() was called

  const std::string& id() const noexcept;
  const std::string& name() const noexcept;
  // What client() dials: "tcp://127.0.0.1:PORT", "tcp://ADDRESS:2376", "tunnel://NAME/var/run/docker.sock".
  const std::string& host() const noexcept;
  // The way the daemon is reached, and why.
  const Reach& reach() const noexcept;
  // The client certs (ca.pem, cert.pem, key.pem) in a private directory; empty without TLS.
  const std::string& cert_path() const noexcept;
  bool tls() const noexcept;
  Client& client() noexcept;
  Client& outer() noexcept;
  // DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH: what the docker CLI needs, as is. Through a tunnel,
  // DOCKER_HOST is a unix socket in the daemon's private directory that a forwarder serves: this object's own
  // (while it lives), or the one `serve_cli()` runs in another process (`dind up`).
  std::map<std::string, std::string> env() const;
  // The private directory of this daemon (client certs, the forwarder's socket); removed with the daemon.
  const std::string& dir() const noexcept;
  // Tunnel only: serves env()'s DOCKER_HOST until the daemon or its directory is gone, or `stop` turns true. For the
  // process `dind up` leaves behind; returns at once when another forwarder already serves it.
  void serve_cli(const std::shared_ptr<const std::atomic<bool>>& stop = nullptr);
  // Stops this object's own forwarder (tunnel), so that serve_cli() in another process can take the socket over.
  void stop_forwarder() noexcept;
  const StartTimings& timings() const noexcept;
  // With DaemonOptions::reuse: whether start() attached to a daemon of an earlier run, and, when it started one,
  // why no earlier one served (empty when there was none to try).
  bool reused() const noexcept;
  const std::string& reuse_note() const noexcept;

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
