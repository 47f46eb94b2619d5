// Daemon::start on the Kubernetes backend, step by step: the API server and namespace from the kubeconfig, certs
// made in-process and handed in as a Secret, the pod, gate 1 (its container runs; a pod that cannot start fails fast
// with its events and log tail), gate 2 (GET /_ping through an exec of docker system dial-stdio), the client and the
// docker CLI's forwarder.
#include <thread>

#include "daemon_spec.hpp"
#include "daemon_state.hpp"
#include "dind/base64.hpp"
#include "dind/tunnel.hpp"
#include "kube_pod.hpp"

namespace dind::detail {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr milliseconds kPollEvery{200};

// A label value as Kubernetes takes it: at most 63 of [A-Za-z0-9-_.], starting and ending alphanumeric.
std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '-';
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.back()))) out.pop_back();
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.front()))) out.erase(0, 1);
  return out;
}

const char* pull_policy(PullPolicy p) {
  switch (p) {
    case PullPolicy::always: return "Always";
    case PullPolicy::never: return "Never";
    case PullPolicy::missing: break;
  }
  return "IfNotPresent";
}

// Why the API server refused the pod, in words that say what to ask the cluster's admin for.
std::string refusal_hint(const ApiError& e, const std::string& ns) {
  const std::string& m = e.message();
  if (m.find("privileged") != std::string::npos)
    return " (this cluster or namespace does not admit privileged pods: ask its admin for a namespace that does "
           "(the API server's --allow-privileged, PodSecurity 'privileged' level or a PodSecurityPolicy that allows "
           "privileged: true), or use a runtime class that runs dockerd without privileges, e.g. sysbox)";
  if (e.status() == 403)
    return " (ask the cluster's admin for a Role in namespace " + ns +
           " that allows create, get, list and delete on pods and secrets, get on pods/log and events, and create on "
           "pods/exec)";
  if (e.status() == 404 && m.find("namespaces") != std::string::npos)
    return " (the namespace " + ns + " does not exist: create it, or choose another)";
  return "";
}

class KubeStart {
 public:
  KubeStart(const DaemonOptions& o, Daemon::State& st) : o_(o), st_(st) {}

  void run() {
    connect();
    certs();
    make_secret();
    make_pod();
    wait_until_ready();
    finish();
  }

 private:
  KubePod& pod() { return *st_.kube; }
  std::string what() const { return "dind pod " + st_.kube->ns + "/" + st_.name + " on " + st_.kube->api.server(); }
  void check_cancel(const char* step) const {
    if (o_.cancelled()) throw DaemonStartError("starting " + what() + " was cancelled " + step, "");
  }

  void connect() {
    KubeTarget t = load_kube_target({o_.kube.kubeconfig, o_.kube.context});
    const std::string ns = !o_.kube.namespace_.empty() ? o_.kube.namespace_ : t.namespace_;
    st_.kube.emplace(KubePod{KubeClient(std::move(t)), ns, st_.name, "", false});
    st_.id = st_.name;
    st_.reach.kind = ReachKind::tunnel;
    st_.reach.address = Endpoint::tunnel(ns + "/" + st_.name, kTunnelSocket).url();
    st_.reach.reason = "the daemon runs in a pod of the cluster at " + pod().api.server() +
                       ": it is reached through the API server (an exec of docker system dial-stdio)";
  }

  void certs() {
    owner_ = o_.owner ? *o_.owner : Owner::self();
    st_.owned_dir.emplace(private_dir_prefix(owner_));
    st_.dir = st_.owned_dir->path();
    if (!o_.tls) return;
    CertOptions c;
    c.dns_names.push_back(st_.name);
    for (const auto& san : o_.tls_sans) c.add_san(san);
    bundle_.emplace(CertBundle::make(c));
    st_.cert_path = st_.dir + "/certs";
    bundle_->write_client_dir(st_.cert_path);
  }

  nlohmann::json metadata(const std::string& name) const {
    nlohmann::json labels = {{kKubeManagedBy, "dind"}, {kLabelName, label_value(st_.name)}};
    nlohmann::json annotations = nlohmann::json::object();
    // Exact values (reap() judges the owner by them) go in annotations; labels hold what selectors need.
    for (const auto& [k, v] : session_labels_for_kube()) {
      annotations[k] = v;
      if (k == kLabelSession) labels[k] = label_value(v);
    }
    annotations[kLabelDir] = st_.dir;
    annotations[kLabelTls] = o_.tls ? "1" : "0";
    for (const auto& [k, v] : o_.labels) labels[k] = v;
    return {{"name", name}, {"namespace", st_.kube->ns}, {"labels", labels}, {"annotations", annotations}};
  }

  std::map<std::string, std::string> session_labels_for_kube() const {
    return {{kLabelSession, session_id()},
            {kLabelOwnerPid, std::to_string(owner_.pid)},
            {kLabelOwnerStart, owner_.start},
            {kLabelOwnerHost, owner_.host},
            {kLabelCreated, std::to_string(static_cast<long long>(std::time(nullptr)))}};
  }

  void make_secret() {
    check_cancel("before its Secret was made");
    if (!bundle_) return;
    nlohmann::json data = nlohmann::json::object();
    for (const auto& f : bundle_->server_files()) {
      const std::string base = f.name.substr(f.name.rfind('/') + 1);  // "server/ca.pem" -> "ca.pem"
      data[base] = base64_encode(f.contents);
    }
    const std::string name = st_.name + "-certs";
    const nlohmann::json body = {
        {"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", metadata(name)}, {"type", "Opaque"}, {"data", data}};
    try {
      pod().api.call("POST", "/api/v1/namespaces/" + pod().ns + "/secrets", body);
    } catch (const ApiError& e) {
      throw DaemonStartError("creating the Secret " + pod().ns + "/" + name + " for " + what() +
                                 " failed: " + e.message() + refusal_hint(e, pod().ns),
                             "");
    }
    pod().secret = name;
  }

  nlohmann::json container() const {
    nlohmann::json args = nlohmann::json::array();
    if (!o_.tls) args.push_back("--tls=false");
    for (const auto& a : o_.dockerd_args) args.push_back(a);
    nlohmann::json env = nlohmann::json::array();
    env.push_back({{"name", "DOCKER_TLS_CERTDIR"}, {"value", o_.tls ? "/certs" : ""}});
    for (const auto& [k, v] : o_.env) env.push_back({{"name", k}, {"value", v}});
    nlohmann::json mounts = {{{"name", "docker"}, {"mountPath", "/var/lib/docker"}}};
    if (bundle_) mounts.push_back({{"name", "certs"}, {"mountPath", "/certs/server"}, {"readOnly", true}});
    nlohmann::json c = {{"name", kKubeContainer},
                        {"image", o_.image},
                        {"imagePullPolicy", pull_policy(o_.pull)},
                        {"args", args},
                        {"env", env},
                        {"ports", {{{"name", "docker"}, {"containerPort", o_.tls ? 2376 : 2375}}}},
                        {"volumeMounts", mounts}};
    if (o_.privileged && o_.kube.runtime_class.empty()) c["securityContext"] = {{"privileged", true}};
    nlohmann::json resources = nlohmann::json::object();
    if (!o_.kube.requests.empty()) resources["requests"] = o_.kube.requests;
    if (!o_.kube.limits.empty()) resources["limits"] = o_.kube.limits;
    if (!resources.empty()) c["resources"] = resources;
    return c;
  }

  void make_pod() {
    check_cancel("before its pod was made");
    nlohmann::json volumes = nlohmann::json::array();
    if (o_.cache.empty())
      volumes.push_back({{"name", "docker"}, {"emptyDir", nlohmann::json::object()}});
    else
      volumes.push_back({{"name", "docker"}, {"persistentVolumeClaim", {{"claimName", o_.cache}}}});
    if (bundle_)
      volumes.push_back({{"name", "certs"}, {"secret", {{"secretName", pod().secret}, {"defaultMode", 0400}}}});
    nlohmann::json spec = {{"containers", {container()}},
                           {"volumes", volumes},
                           {"restartPolicy", "Never"},  // a daemon that dies is a failed start, not a restart
                           {"automountServiceAccountToken", false},
                           {"enableServiceLinks", false},  // a Service named docker would set DOCKER_HOST-like vars
                           {"terminationGracePeriodSeconds", 0}};
    if (!o_.kube.node.empty()) spec["nodeName"] = o_.kube.node;
    if (!o_.kube.runtime_class.empty()) spec["runtimeClassName"] = o_.kube.runtime_class;
    const nlohmann::json body = {
        {"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", metadata(st_.name)}, {"spec", spec}};
    try {
      pod().api.call("POST", "/api/v1/namespaces/" + pod().ns + "/pods", body);
    } catch (const ApiError& e) {
      throw DaemonStartError("creating " + what() + " failed: " + e.message() + refusal_hint(e, pod().ns), "");
    }
    pod().pod_made = true;
    t_create_ = SteadyClock::now();
  }

  // Gate 1 said no for good: why, with the pod's events and log tail.
  [[noreturn]] void fail(const std::string& why) {
    std::string tail = pod().logs(30);
    // The kubelet records the events that explain a state a little after it reports the state.
    std::string events = pod().events();
    for (int i = 0; i < 10 && events.empty(); ++i) {
      std::this_thread::sleep_for(kPollEvery);
      events = pod().events();
    }
    if (!events.empty())
      tail = "--- the pod's events ---\n" + events + (tail.empty() ? "" : "--- its log ---\n" + tail);
    throw DaemonStartError(what() + " " + why, tail);
  }

  // The pod's state: throws when it can never run; true once its container runs.
  bool running() {
    const nlohmann::json p = pod().api.call("GET", pod().pod_path());
    const nlohmann::json status = p.value("status", nlohmann::json::object());
    const std::string phase = status.value("phase", "");
    for (const auto& c : status.value("conditions", nlohmann::json::array()))
      if (c.value("type", "") == "PodScheduled" && c.value("status", "") == "False" &&
          c.value("reason", "") == "Unschedulable")
        fail("cannot be scheduled: " + c.value("message", ""));
    for (const auto& cs : status.value("containerStatuses", nlohmann::json::array())) {
      const nlohmann::json state = cs.value("state", nlohmann::json::object());
      if (state.contains("waiting")) {
        static const char* const kNever[] = {
            "ErrImagePull",     "ImagePullBackOff",     "ErrImageNeverPull",          "InvalidImageName",
            "CrashLoopBackOff", "CreateContainerError", "CreateContainerConfigError", "RunContainerError"};
        const std::string reason = state["waiting"].value("reason", "");
        for (const char* r : kNever)
          if (reason == r) fail("cannot start: " + reason + ": " + state["waiting"].value("message", ""));
      }
      if (state.contains("terminated"))
        fail("exited (code " + std::to_string(state["terminated"].value("exitCode", -1)) + ", " +
             state["terminated"].value("reason", "") + ") before its daemon answered");
      if (state.contains("running")) return true;
    }
    if (phase == "Failed" || phase == "Succeeded") fail("ended (phase " + phase + ") before its daemon answered");
    return false;
  }

  void wait_until_ready() {
    const auto deadline = t0_ + o_.start_timeout;
    Client probe = pod().tunnel_client(milliseconds(2000));
    bool up = false;
    std::string last = "its container is not running yet";
    for (;;) {
      check_cancel("while waiting for its daemon to answer");
      if (!up) up = running();
      if (up) {
        try {
          if (probe.ping() == "OK") break;
        } catch (const Error& e) {
          last = e.what();
          up = running();  // a container that ended meanwhile throws there, with the pod's events
        }
        if (t_running_ == SteadyClock::time_point{}) t_running_ = SteadyClock::now();
      }
      if (SteadyClock::now() >= deadline)
        fail("did not answer within " + std::to_string(o_.start_timeout.count()) + " ms (" + last + ")");
      std::this_thread::sleep_for(kPollEvery);
    }
    if (t_running_ == SteadyClock::time_point{}) t_running_ = SteadyClock::now();
  }

  void finish() {
    st_.client = pod().tunnel_client(std::nullopt);
    st_.forwarder.emplace(st_.socket_path(), st_.client->config().dialer, "the daemon in pod " + pod().where());
    const auto t = SteadyClock::now();
    st_.timings = {duration_cast<microseconds>(t_create_ - t0_), microseconds(0),
                   duration_cast<microseconds>(t_running_ - t_create_), duration_cast<microseconds>(t - t_running_),
                   duration_cast<microseconds>(t - t0_)};
  }

  const DaemonOptions& o_;
  Daemon::State& st_;
  const SteadyClock::time_point t0_ = SteadyClock::now();
  SteadyClock::time_point t_create_, t_running_;
  Owner owner_;
  std::optional<CertBundle> bundle_;
};

}  // namespace

void start_on_kubernetes(const DaemonOptions& o, Daemon::State& st) {
  KubeStart(o, st).run();
}

}  // namespace dind::detail
