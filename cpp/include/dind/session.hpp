// Layer 6: who owns what dind creates on an engine. Every container, volume and network carries these labels, so a
// later run can tell a live session's objects from those a crashed or killed run left behind, and reap() them.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dind/client.hpp"
#include "dind/kube.hpp"

namespace dind {

inline constexpr const char* kLabelSession = "dind.session";         // the session id (DIND_SESSION or derived)
inline constexpr const char* kLabelOwnerPid = "dind.owner-pid";      // the process whose death orphans the object
inline constexpr const char* kLabelOwnerStart = "dind.owner-start";  // its start time (guards against pid reuse)
inline constexpr const char* kLabelOwnerHost = "dind.owner-host";    // the machine that pid lives on
// The container of the engine that pid lives in (when the engine knows it): while it runs, the owner counts as alive.
inline constexpr const char* kLabelOwnerContainer = "dind.owner-container";
inline constexpr const char* kLabelCreated = "dind.created";           // unix seconds
inline constexpr const char* kLabelName = "dind.name";                 // a daemon's name, for `dind env NAME`
inline constexpr const char* kLabelCertPath = "dind.cert-path";        // the client cert dir of a daemon
inline constexpr const char* kLabelTls = "dind.tls";                   // "1" when the daemon speaks TLS
inline constexpr const char* kLabelDir = "dind.dir";                   // a daemon's private directory
inline constexpr const char* kLabelReach = "dind.reach";               // how it is dialled (dind/reach.hpp), as planned
inline constexpr const char* kLabelDialHost = "dind.dial-host";        // loopback/published: the host dialled
inline constexpr const char* kLabelDialNetwork = "dind.dial-network";  // network: the network dialled on
// A reused daemon (DaemonOptions::reuse): its key, and the hash of what shaped it. Its owner's death does not orphan
// it once it runs; only ReapOptions::reused or older_than remove it.
inline constexpr const char* kLabelReuse = "dind.reuse";
inline constexpr const char* kLabelReuseHash = "dind.reuse-hash";
// A layer cache volume (DaemonOptions::cache, dind/cache.hpp): never reaped, removed only by remove_cache().
inline constexpr const char* kLabelCache = "dind.cache";

// A process, identified by its pid and its start time (ticks since boot, from /proc): a pid alone can be reused.
struct Owner {
  int pid = 0;
  std::string start;
  std::string host;

  static Owner self();    // this process
  static Owner parent();  // the parent process
  // For what must outlive the command that made it (`dind up`, `pytest --dind-keep`): this process's session leader
  // (the terminal's shell, the CI job's), which lives on however short-lived wrappers between ($(...), make, tox, an
  // xdist controller) exit. Where the session began outside this pid namespace (a CI agent's `docker exec`,
  // `unshare -p`: getsid answers 0), the topmost visible ancestor still in that session stands in (never pid 1,
  // which never exits). nullopt when there is none to name (this process leads its session).
  static std::optional<Owner> session_leader();
  // False only when this machine can tell the process is gone; an owner on another machine counts as alive.
  bool alive() const;
};

// DIND_SESSION if set, else derived from the parent process's pid and start time, so that processes started by one
// parent (pytest-xdist workers) share a session.
std::string session_id();

// "prefix" + 10 random hex digits: names for what dind creates that do not clash across processes.
std::string unique_name(const std::string& prefix);

// The labels every object made for `owner` on `engine` carries (kLabelOwnerContainer too, when this process runs in
// a container that `engine` knows).
std::map<std::string, std::string> session_labels(const Owner& owner, Client& engine,
                                                  const std::string& session = session_id());

// The id of the container this process runs in, from /proc/self/mountinfo (the engine bind-mounts /etc/hostname,
// /etc/hosts and /etc/resolv.conf from .../containers/<id>/) or /proc/self/cgroup; nullopt outside a container.
std::optional<std::string> own_container_id();

// The prefix of a daemon's private directory in $TMPDIR: "dind-<owner pid>-<owner start>-", so that reap() finds
// and judges it without its container (a start killed before the create leaves only the directory).
std::string private_dir_prefix(const Owner& owner);

// What a daemon's private directory records about it (daemon.json): its name and id and the engine it lives on, so
// that any process of this user on this machine finds it without that engine being its DOCKER_HOST (after
// `eval "$(dind up)"`, DOCKER_HOST names the new daemon itself), and reap() can remove it when its owner is gone.
struct DaemonRecord {
  std::string name, id, dir;
  std::string engine;         // the engine's URL; empty when it cannot be recorded (a tunnel, PEM in memory)
  std::string ca, cert, key;  // the engine's TLS files, when it is reached with TLS
  bool verify = true;
  // A config for the engine; throws Error naming the record when there is none.
  ClientConfig engine_config() const;
};

// Writes dir/daemon.json (mode 0600). Throws Error naming the file.
void write_record(const std::string& dir, const std::string& name, const std::string& id, const Client& engine);
// The records in the private directories of this user (private_dir_prefix) in $TMPDIR and /tmp.
std::vector<DaemonRecord> local_daemons();

struct ReapOptions {
  // Also remove objects of live owners that are older than this.
  std::optional<std::chrono::seconds> older_than;
  // Remove everything labelled by dind on the engine, live owners too (`dind down --all`). Cache volumes stay.
  bool everything = false;
  // Also remove reused daemons (kLabelReuse), which outlive their owners by design (`dind prune --reused`).
  bool reused = false;
};

struct ReapResult {
  std::vector<std::string> containers, volumes, networks;  // names (or ids) of what was removed
  std::vector<std::string> dirs;                           // private directories (paths)
  std::vector<std::string> pods, secrets;                  // the Kubernetes backend's (reap_kubernetes)
};

// Removes one daemon made by dind, in any state (`dind down NAME`): its container (force, with volumes) and its
// private directory. False when `outer` has no such container; Error when it was not made by dind.
bool remove_daemon(Client outer, const std::string& name_or_id);

// Removes (force, with volumes) the containers, then the volumes and networks, labelled by dind whose owner is
// gone, or that are older than `older_than` (a reused daemon only when it no longer runs, or when asked); then the
// private directories in $TMPDIR and /tmp whose owner is gone (or, with older_than, that are older), whether or not a
// container names them. The directory a removed daemon names goes with it. Objects that vanish meanwhile (another
// reaper) are not errors.
ReapResult reap(Client outer, const ReapOptions& options = {});

// The same for the Kubernetes backend's pods and Secrets in namespace `ns` (those labelled
// app.kubernetes.io/managed-by=dind), judged by the owner their annotations name, and the private directories.
ReapResult reap_kubernetes(KubeClient api, const std::string& ns, const ReapOptions& options = {});

}  // namespace dind
