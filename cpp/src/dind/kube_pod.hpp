// Private to layer 6: a daemon on the Kubernetes backend (DaemonOptions::backend): its pod and Secret, how it starts
// (kube_start.cpp) and what its life needs (kube_pod.cpp). Daemon's members branch here when State::kube is set.
#pragma once

#include <string>
#include <vector>

#include "dind/daemon.hpp"
#include "dind/kube.hpp"

namespace dind::detail {

inline constexpr const char* kKubeContainer = "dind";
inline constexpr const char* kKubeManagedBy = "app.kubernetes.io/managed-by";  // = "dind" on every object made

struct KubePod {
  KubeClient api;
  std::string ns, pod, secret;  // secret empty until made
  bool pod_made = false;

  // "pod NS/NAME on the API server URL", for messages.
  std::string where() const;
  std::string pod_path() const;
  // The pod's last `tail` log lines, or why they could not be read.
  std::string logs(int tail);
  // The pod's events, oldest first, one "reason: message" line each (empty when none or unreadable).
  std::string events();
  // Deletes the pod (no grace: a throwaway daemon) and the Secret; "already gone" is fine. Throws the first failure
  // after trying both.
  void remove();
  // A client of the daemon through an exec of docker system dial-stdio in the pod.
  Client tunnel_client(std::optional<std::chrono::milliseconds> timeout) const;
  // `cmd` in the dind container: its exit code, stdout and stderr.
  ExecResult exec(const std::vector<std::string>& cmd);
};

// Daemon::start for the Kubernetes backend: Secret, pod, both gates, client; `st.kube` is set as soon as anything
// exists on the cluster, so any throw leaves the Daemon that owns `st` to remove it.
void start_on_kubernetes(const DaemonOptions& o, Daemon::State& st);

}  // namespace dind::detail
