// Private to layer 6: what a Daemon holds (daemon.cpp: its life; daemon_start.cpp: how it starts;
// daemon_reach.cpp: how it is dialled, from this process or another), and the client makers they share.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <string>

#include "dind/certs.hpp"
#include "dind/daemon.hpp"
#include "dind/forwarder.hpp"
#include "dind/private_dir.hpp"
#include "kube_pod.hpp"

namespace dind {

struct Daemon::State {
  Client outer;
  std::optional<Client> client;  // set once the daemon answered
  std::string id, name, dir, cert_path;
  Reach reach;
  bool tls = true;
  std::optional<PrivateDir> owned_dir;  // start() owns it; attach() only knows the path
  std::optional<Forwarder> forwarder;   // tunnel: serves the docker CLI on dir/docker.sock
  // remove() and keep() may race (close() on several threads, a signal handler): they hold `mu`.
  std::mutex mu;
  bool kept = false;
  std::atomic<bool> removed{false};
  StartTimings timings;
  bool reused = false;                  // attached to an earlier run's daemon (DaemonOptions::reuse)
  std::string reuse_note;               // why no earlier one served
  std::optional<detail::KubePod> kube;  // the Kubernetes backend's pod (kube_pod.hpp); unset on the Docker backend

  explicit State(Client o) : outer(std::move(o)) {}
  std::string socket_path() const { return dir + "/docker.sock"; }
  // The docker CLI's config dir of a daemon started with login (its config.json holds the credentials).
  std::string docker_config() const { return dir + "/docker"; }
  bool logged_in() const;  // docker_config() holds a config.json
};

namespace detail {

// A client of the daemon at `url`: mutual TLS with `certs` (the bundle start() made) when `tls`.
Client tls_client(const std::string& url, bool tls, const CertBundle* certs,
                  std::optional<std::chrono::milliseconds> timeout);
// A client of the daemon in container `id` on `outer`, through the tunnel.
Client tunnel_client(Client& outer, const std::string& id, const std::string& name,
                     std::optional<std::chrono::milliseconds> timeout);
// `client` (the daemon's) given the way this process dials the daemon's published ports (dind/wait.hpp): the dind
// container's address for the loopback and network reaches, an exec in it for the tunnel and published ones.
Client with_port_reach(const Client& client, Client& outer, const Reach& reach, const std::string& id,
                       const std::string& name);
// The final reach, for attach() in another process (dir/reach.json): the labels only hold the plan, and the
// automatic reach may have fallen back to the tunnel after the create.
void write_reach(const std::string& dir, const Reach& r);
// `c` with pulls that take their credentials from `docker_config`/config.json.
Client with_docker_config(const Client& c, const std::string& docker_config);

}  // namespace detail
}  // namespace dind
