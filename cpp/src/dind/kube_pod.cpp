// A daemon's pod on the Kubernetes backend, once made: its log, events, exec, client and removal.
#include "kube_pod.hpp"

#include "dind/http.hpp"
#include "dind/tunnel.hpp"

namespace dind::detail {

std::string KubePod::where() const {
  return ns + "/" + pod + " on the API server " + api.server();
}

std::string KubePod::pod_path() const {
  return "/api/v1/namespaces/" + http::url_encode(ns) + "/pods/" + http::url_encode(pod);
}

std::string KubePod::logs(int tail) {
  try {
    return api.text(pod_path() + "/log?container=" + kKubeContainer + "&tailLines=" + std::to_string(tail));
  } catch (const BadRequest& e) {
    if (e.message().find("waiting to start") != std::string::npos) return {};  // it never ran: no log to read
    return std::string("(could not read the log of pod ") + where() + ": " + e.what() + ")";
  } catch (const Error& e) {
    return std::string("(could not read the log of pod ") + where() + ": " + e.what() + ")";
  }
}

std::string KubePod::events() {
  try {
    const auto list = api.call("GET", "/api/v1/namespaces/" + http::url_encode(ns) +
                                          "/events?fieldSelector=" + http::url_encode("involvedObject.name=" + pod));
    std::string out;
    for (const auto& e : list.value("items", nlohmann::json::array()))
      out += e.value("reason", "") + ": " + e.value("message", "") + "\n";
    return out;
  } catch (const Error&) {
    return {};
  }
}

void KubePod::remove() {
  std::exception_ptr failure;
  auto del = [&](const std::string& path) {
    try {
      api.call("DELETE", path + "?gracePeriodSeconds=0");
    } catch (const NotFound&) {
    } catch (const Error&) {
      if (!failure) failure = std::current_exception();
    }
  };
  if (pod_made) del(pod_path());
  if (!secret.empty()) del("/api/v1/namespaces/" + http::url_encode(ns) + "/secrets/" + http::url_encode(secret));
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (...) {
      rethrow_doing("removing dind pod " + where());
    }
  }
  pod_made = false;
  secret.clear();
}

Client KubePod::tunnel_client(std::optional<std::chrono::milliseconds> timeout) const {
  ClientConfig cfg;
  cfg.endpoint = Endpoint::tunnel(ns + "/" + pod, kTunnelSocket);
  cfg.dialer = kube_exec_tunnel(api, ns, pod, kKubeContainer, kTunnelSocket);
  if (timeout) cfg.timeout = cfg.connect_timeout = *timeout;
  return Client(std::move(cfg));
}

ExecResult KubePod::exec(const std::vector<std::string>& cmd) {
  KubeClient c = api;
  try {
    return c.run(ns, pod, kKubeContainer, cmd, deadline_after(std::chrono::minutes(10)));
  } catch (...) {
    rethrow_doing("running a command in dind pod " + where());
  }
}

}  // namespace dind::detail
