#include "daemon_spec.hpp"

#include "cache_claim.hpp"
#include "daemon_carry.hpp"
#include "dind/images.hpp"
#include "dind/tar.hpp"

namespace dind::detail {
namespace {

bool starts_with(const std::string& s, const std::string& p) {
  return s.compare(0, p.size(), p) == 0;
}

// Put into the container last, after the certs: a held entrypoint goes on once it exists.
constexpr const char* kCertsReady = "certs/.dind-certs-ready";

// Runs the image's entrypoint once kCertsReady exists; "$@" is that entrypoint with the container's command.
constexpr const char* kHoldScript =
    "until [ -e /certs/.dind-certs-ready ]; do sleep 0.02 2>/dev/null || sleep 1; done; exec \"$@\"";

}  // namespace

std::string daemon_port(bool tls) {
  return tls ? "2376/tcp" : "2375/tcp";
}

void check_options(const DaemonOptions& o) {
  if (o.image.empty()) throw Error("starting a dind daemon: no image given");
  if (!o.tls && !o.tls_sans.empty())
    throw Error("starting a dind daemon: TLS names (tls_san) were given but TLS is off");
  for (const auto& a : o.dockerd_args) {
    if (!starts_with(a, "-"))
      throw Error("starting a dind daemon: dockerd argument '" + a +
                  "' does not start with '-' (the image would run it as a command)");
    const bool disables = a == "--tls=false" || a == "--tlsverify=false";
    const bool enables = starts_with(a, "--tlsverify") || starts_with(a, "--tlscert") || starts_with(a, "--tlskey") ||
                         starts_with(a, "--tlscacert") || a == "--tls" || a == "--tls=true";
    if (o.tls && disables)
      throw Error("starting a dind daemon: TLS is on but dockerd argument " + a + " turns it off (use tls = false)");
    if (!o.tls && enables && !disables)
      throw Error("starting a dind daemon: TLS is off but dockerd argument " + a + " asks for it (use tls = true)");
    if (starts_with(a, "-H") || starts_with(a, "--host"))
      throw Error("starting a dind daemon: dockerd argument " + a + " would change the addresses the library dials");
  }
  if (o.network.empty() && !o.aliases.empty())
    throw Error("starting a dind daemon: network aliases were given without a network");
  if (!o.privileged && o.runtime.empty() && o.kube.runtime_class.empty())
    throw Error(
        "starting a dind daemon: privileged is off and no runtime (e.g. sysbox-runc) was given: dockerd "
        "cannot run in an unprivileged container");
  for (const auto& [k, v] : o.env) {
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos)
      throw Error("starting a dind daemon: environment variable name \"" + k.substr(0, 100) +
                  "\" is empty or holds '=' (the container would get " + (k + "=" + v).substr(0, 100) + ")");
  }
  if (o.backend == Backend::kubernetes) {
    auto refuse = [](const std::string& what) {
      throw Error("starting a dind daemon on the kubernetes backend: " + what + " is not supported there");
    };
    if (!o.reuse.empty()) refuse("reuse");
    if (!o.network.empty()) refuse("a network (the pod is on the cluster's network)");
    if (!o.mounts.empty()) refuse("mounts");
    if (o.host_port || !o.host.empty()) refuse("a host port or host (the daemon is reached through the API server)");
    if (o.reach != ReachKind::automatic && o.reach != ReachKind::tunnel)
      refuse(std::string("the reach '") + to_string(o.reach) + "' (it is always through the API server)");
    if (!o.runtime.empty()) refuse("an OCI runtime (use the runtime class, kube.runtime_class)");
    if (o.login) refuse("login");
  } else {
    const KubeOptions& k = o.kube;
    if (!k.kubeconfig.empty() || !k.context.empty() || !k.namespace_.empty() || !k.node.empty() ||
        !k.runtime_class.empty() || !k.requests.empty() || !k.limits.empty())
      throw Error(
          "starting a dind daemon: Kubernetes options were given but the backend is docker "
          "(set backend = kubernetes)");
    if (!o.cache.empty()) check_cache_name(o.cache);
  }
  for (const auto& m : o.mounts)
    if (!o.cache.empty() && m.find(":/var/lib/docker") != std::string::npos)
      throw Error("starting a dind daemon: mount " + m + " and cache " + o.cache + " both claim /var/lib/docker");
  if (o.start_timeout.count() <= 0)
    throw Error("starting a dind daemon: the start timeout must be positive, not " +
                std::to_string(o.start_timeout.count()) + " ms");
}

nlohmann::json ensure_image(Client& outer, const std::string& image, PullPolicy pull, const std::string& role,
                            const std::function<std::optional<nlohmann::json>()>& auth) {
  Images images(outer);
  std::optional<nlohmann::json> present;
  try {
    present = images.inspect(image);
  } catch (const NotFound&) {
  }
  if (present && pull != PullPolicy::always) return *present;
  if (pull == PullPolicy::never)
    throw Error("the " + role + " " + image + " is not on the engine at " + outer.host() +
                " and the pull policy is 'never' (load or build it first)");
  auto [repo, tag] = parse_repository_tag(image);
  // The credentials are looked up first: a helper that fails is an error of its own (naming it), not a pull's.
  const std::optional<nlohmann::json> credentials = auth ? auth() : std::nullopt;
  try {
    images.pull(repo, tag.empty() ? "latest" : tag, credentials).read_all();
  } catch (const Error& e) {
    if (present) return *present;  // 'always' with a local copy: keep going with what is there
    throw Error("the " + role + " " + image + " is not on the engine at " + outer.host() +
                " and pulling it failed: " + e.what() +
                (auth && !credentials ? " (no credentials for its registry in $DOCKER_CONFIG/config.json)" : ""));
  }
  return images.inspect(image);
}

nlohmann::json create_body(const DaemonOptions& o, const ReachPlan& plan,
                           const std::map<std::string, std::string>& labels, const std::string& name,
                           const nlohmann::json& image, bool hold_for_certs, bool source_env_file) {
  const std::string port = daemon_port(o.tls);
  nlohmann::json cmd = nlohmann::json::array();
  // Without TLS nothing authenticates a caller: anyone who reaches the port controls the daemon (and, privileged, the
  // host). The core prints no warning for it: tls = false is an explicit choice in code, and the user-facing layers
  // warn where it can be filtered or made an error (Python: InsecureWarning; the CLI: a stderr line on --no-tls).
  if (!o.tls) cmd.push_back("--tls=false");  // without it dockerd sleeps 15 s on a plain TCP socket
  for (const auto& a : o.dockerd_args) cmd.push_back(a);
  nlohmann::json env = nlohmann::json::array();
  env.push_back(std::string("DOCKER_TLS_CERTDIR=") + (o.tls ? "/certs" : ""));
  for (const auto& [k, v] : o.env) env.push_back(k + "=" + v);

  nlohmann::json host_config = {{"Privileged", o.privileged}};
  if (!o.runtime.empty()) host_config["Runtime"] = o.runtime;
  // A host path goes in as a bind Mount, not a Bind: the engine then refuses a source that does not exist (naming it)
  // instead of creating it, root-owned, on its host. Volume names and other forms stay Binds.
  nlohmann::json binds = nlohmann::json::array(), mounts = nlohmann::json::array();
  for (const auto& m : o.mounts) {
    const auto first = m.find(':');
    const std::string source = m.substr(0, first);
    const std::string rest = first == std::string::npos ? std::string() : m.substr(first + 1);
    const auto second = rest.find(':');
    const std::string target = rest.substr(0, second);
    const std::string mode = second == std::string::npos ? std::string() : rest.substr(second + 1);
    if (!source.empty() && source[0] == '/' && !target.empty() && (mode.empty() || mode == "ro" || mode == "rw"))
      mounts.push_back({{"Type", "bind"}, {"Source", source}, {"Target", target}, {"ReadOnly", mode == "ro"}});
    else
      binds.push_back(m);
  }
  if (!o.cache.empty()) binds.push_back(o.cache + ":/var/lib/docker");
  if (!binds.empty()) host_config["Binds"] = binds;
  if (!mounts.empty()) host_config["Mounts"] = mounts;
  nlohmann::json body = {{"Image", o.image},
                         {"Cmd", cmd},
                         {"Env", env},
                         {"Labels", labels},
                         {"Hostname", name.substr(0, 63)},
                         {"ExposedPorts", {{port, nlohmann::json::object()}}}};
  if (plan.kind == ReachKind::loopback || plan.kind == ReachKind::published) {
    // Loopback unless the reach needs more (dind/reach.hpp): the daemon is root on its container.
    host_config["PortBindings"] = {
        {port, {{{"HostIp", plan.publish_ip}, {"HostPort", o.host_port ? std::to_string(o.host_port) : ""}}}}};
  }
  // The network the daemon joins at create: its own option's, else the one the network reach dials on (another is
  // connected before the start).
  const std::string network = !o.network.empty() ? o.network : plan.kind == ReachKind::network ? plan.network : "";
  if (!network.empty()) {
    host_config["NetworkMode"] = network;
    nlohmann::json aliases = network == o.network ? o.aliases : std::vector<std::string>{};
    body["NetworkingConfig"] = {{"EndpointsConfig", {{network, {{"Aliases", aliases}}}}}};
  }
  if (hold_for_certs || source_env_file) {
    // The env file (secret proxies) is read once and deleted, so that it shows neither in inspect nor on disk.
    const std::string source =
        source_env_file ? std::string("set -a; . /") + kProxyEnvFile + "; set +a; rm -f /" + kProxyEnvFile + "; " : "";
    nlohmann::json entrypoint = {"/bin/sh", "-c", source + (hold_for_certs ? kHoldScript : "exec \"$@\""), "dind-hold"};
    const nlohmann::json own = image["Config"].value("Entrypoint", nlohmann::json());
    if (own.is_array())
      for (const auto& part : own) entrypoint.push_back(part);
    body["Entrypoint"] = entrypoint;
  }
  body["HostConfig"] = host_config;
  return body;
}

CertOptions cert_options(const DaemonOptions& o, const std::string& name, const ReachPlan& plan,
                         const std::string& address) {
  CertOptions c;
  c.dns_names.push_back(name);
  for (const auto& a : o.aliases) c.dns_names.push_back(a);
  if (!plan.dial_host.empty()) c.add_san(plan.dial_host);
  if (!address.empty()) c.add_san(address);
  for (const auto& san : o.tls_sans) c.add_san(san);
  return c;
}

std::string certs_tar(const CertBundle& bundle, bool release) {
  // The entrypoint finds server/{ca,cert,key}.pem without ca/key.pem and only verifies them.
  TarWriter tar;
  tar.add_directory("certs", 0755).add_directory("certs/server", 0700);
  for (const auto& f : bundle.server_files()) tar.add_bytes("certs/" + f.name, f.contents, f.mode);
  if (release) tar.add_bytes(kCertsReady, "", 0644);
  return tar.to_string();
}

std::uint16_t published_port(const nlohmann::json& inspect, const std::string& port, const std::string& ip) {
  const auto& ports = inspect["NetworkSettings"]["Ports"];
  if (!ports.is_object() || !ports.contains(port) || !ports[port].is_array()) return 0;
  for (const auto& b : ports[port]) {
    const std::string host_ip = b.value("HostIp", "");
    if (host_ip == ip || host_ip.empty() || (ip == "0.0.0.0" && host_ip == "::"))
      return static_cast<std::uint16_t>(std::stoi(b.value("HostPort", "0")));
  }
  return 0;
}

std::string start_failure_hint(const std::string& m, const DaemonOptions& o, const ReachPlan& plan) {
  if (m.find("port is already allocated") != std::string::npos || m.find("address already in use") != std::string::npos)
    return " (" + plan.publish_ip + ":" + std::to_string(o.host_port) +
           " is already in use: choose another port, or 0 for a free one)";
  if (m.find("bind source path does not exist") != std::string::npos)
    return " (a mount's host path must exist on the engine's host; it is not created)";
  if (m.find("network") != std::string::npos && m.find("not found") != std::string::npos)
    return " (no such network on the engine: create it first, or leave the network out)";
  if (m.find("No such image") != std::string::npos) return " (the image is gone from the engine)";
  if (o.privileged && (m.find("operation not permitted") != std::string::npos ||
                       m.find("privileged") != std::string::npos || m.find("permission denied") != std::string::npos))
    return " (the engine refused or failed to run a privileged container: check that it allows --privileged; "
           "rootless engines and some CI runners do not, where a runtime such as sysbox-runc can stand in)";
  return "";
}

}  // namespace dind::detail
