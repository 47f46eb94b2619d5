// Layer 5: a client of a Kubernetes API server, for the Kubernetes backend (dind/kube_daemon.hpp): JSON calls with
// the kubeconfig's credentials (dind/kubeconfig.hpp), pod logs, and exec over the API server's websocket.
//
//   dind::KubeClient k(dind::load_kube_target());
//   auto pods = k.call("GET", "/api/v1/namespaces/" + k.target().namespace_ + "/pods");
//
// A status other than 2xx throws the ApiError kind of that status (dind/errors.hpp) with the API server's own
// Status message; every message names the API server, never a token.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dind/connection.hpp"
#include "dind/exec.hpp"
#include "dind/http.hpp"
#include "dind/kubeconfig.hpp"

namespace dind {

namespace detail {
struct KubeImpl;
}

class KubeClient {
 public:
  explicit KubeClient(KubeTarget target, std::chrono::milliseconds timeout = std::chrono::seconds(30));

  const KubeTarget& target() const noexcept;
  // The API server's URL as the kubeconfig gives it, for messages.
  const std::string& server() const noexcept;

  // `method` `path` (with its query, encoded) with a JSON body unless null; the answer's JSON (null for none).
  nlohmann::json call(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr);
  // A text answer: a pod's log.
  std::string text(const std::string& path);
  // `cmd` in `container` of pod `ns`/`pod`, through the API server's websocket exec (v4.channel.k8s.io), as a
  // byte stream: writes go to its stdin, reads give its stdout. Its stderr and the exec's final status reach the
  // reader's messages. The stream has no half-close (the protocol has none before v5): shutdown_send() only stops
  // writes.
  std::unique_ptr<Connection> exec(const std::string& ns, const std::string& pod, const std::string& container,
                                   const std::vector<std::string>& cmd, Clock::time_point deadline);
  // `cmd` run to its end with no stdin: its exit code (from the exec's final status), stdout and stderr.
  ExecResult run(const std::string& ns, const std::string& pod, const std::string& container,
                 const std::vector<std::string>& cmd, Clock::time_point deadline);

 private:
  UpgradedStream open_exec(const std::string& ns, const std::string& pod, const std::string& container,
                           const std::vector<std::string>& cmd, bool stdin, Clock::time_point deadline);
  std::shared_ptr<detail::KubeImpl> impl_;
};

// A Dialer whose every connection is an exec of `docker system dial-stdio` in `container` of the pod, dialling
// the daemon's own socket there: the Kubernetes counterpart of dind/tunnel.hpp's exec_tunnel.
Dialer kube_exec_tunnel(KubeClient client, std::string ns, std::string pod, std::string container,
                        std::string socket = "/var/run/docker.sock");

}  // namespace dind
