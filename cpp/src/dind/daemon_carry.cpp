#include "daemon_carry.hpp"

#include <cstdlib>

#include "dind/credentials.hpp"
#include "dind/errors.hpp"
#include "dind/networks.hpp"

namespace dind::detail {

namespace {

bool has_flag(const std::vector<std::string>& args, const std::string& flag) {
  for (const auto& a : args)
    if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
  return false;
}

bool has_arg(const std::vector<std::string>& args, const std::string& arg) {
  for (const auto& a : args)
    if (a == arg) return true;
  return false;
}

// Mirrors, and insecure registries beyond the loopback ranges every dockerd already trusts.
void carry_registries(Client& outer, const DaemonOptions& o, Carried& c) {
  const nlohmann::json info = outer.info();
  const auto& rc = info.contains("RegistryConfig") ? info["RegistryConfig"] : nlohmann::json::object();
  auto add = [&](const std::string& arg) {
    if (!has_arg(o.dockerd_args, arg) && !has_arg(c.dockerd_args, arg)) c.dockerd_args.push_back(arg);
  };
  if (rc.contains("Mirrors") && rc["Mirrors"].is_array())
    for (const auto& m : rc["Mirrors"])
      if (m.is_string()) add("--registry-mirror=" + m.get<std::string>());
  if (rc.contains("InsecureRegistryCIDRs") && rc["InsecureRegistryCIDRs"].is_array())
    for (const auto& cidr : rc["InsecureRegistryCIDRs"])
      if (cidr.is_string() && cidr != "127.0.0.0/8" && cidr != "::1/128")
        add("--insecure-registry=" + cidr.get<std::string>());
  if (rc.contains("IndexConfigs") && rc["IndexConfigs"].is_object())
    for (const auto& [name, index] : rc["IndexConfigs"].items())
      if (!index.value("Secure", true) && !index.value("Official", false)) add("--insecure-registry=" + name);
}

// The major version of the image's docker (the official images set DOCKER_VERSION), or 0 when it does not say.
int docker_major(const nlohmann::json& image) {
  const auto& env = image["Config"].value("Env", nlohmann::json::array());
  if (!env.is_array()) return 0;
  for (const auto& e : env) {
    const std::string s = e.is_string() ? e.get<std::string>() : "";
    if (s.rfind("DOCKER_VERSION=", 0) == 0) return std::atoi(s.c_str() + 15);
  }
  return 0;
}

// A network below 1500 (an overlay, a VPN, a cloud VM) drops the inner daemon's full-size packets unless its
// bridges are as small: --mtu for its default bridge and, on dockerd 24 and later, the default for networks made
// inside. An older dockerd (the offline image's) takes only --mtu; networks made inside it get 1500.
void carry_mtu(Client& outer, const DaemonOptions& o, const std::string& network, const nlohmann::json& image,
               Carried& c) {
  if (has_flag(o.dockerd_args, "--mtu")) return;
  nlohmann::json net;
  try {
    net = Networks(outer).inspect(network.empty() ? "bridge" : network);
  } catch (const NotFound&) {
    return;  // the create names the missing network
  }
  const auto& opts = net.contains("Options") && net["Options"].is_object() ? net["Options"] : nlohmann::json::object();
  const std::string mtu = opts.value("com.docker.network.driver.mtu", "");
  const int n = std::atoi(mtu.c_str());
  if (n <= 0 || n >= 1500) return;
  c.dockerd_args.push_back("--mtu=" + std::to_string(n));
  if (docker_major(image) >= 24 && !has_flag(o.dockerd_args, "--default-network-opt"))
    c.dockerd_args.push_back("--default-network-opt=bridge=com.docker.network.driver.mtu=" + std::to_string(n));
}

bool holds_password(const std::string& url) {
  const auto scheme = url.find("://");
  const std::string rest = scheme == std::string::npos ? url : url.substr(scheme + 3);
  const auto at = rest.find('@');
  return at != std::string::npos && rest.find('/') > at;
}

std::string sh_quote(const std::string& v) {
  std::string q = "'";
  for (char ch : v) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

void carry_proxy(const DaemonOptions& o, Carried& c) {
  for (const char* k : {"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}) {
    const char* v = std::getenv(k);
    if (!v || !*v || o.env.count(k)) continue;
    if (holds_password(v))
      c.secret_env += std::string("export ") + k + "=" + sh_quote(v) + "\n";
    else
      c.env[k] = v;
  }
}

}  // namespace

Carried carry(Client& outer, const DaemonOptions& o, const std::string& network, const nlohmann::json& image) {
  Carried c;
  if (o.carry_registries) carry_registries(outer, o, c);
  if (o.carry_mtu) carry_mtu(outer, o, network, image, c);
  if (o.carry_proxy) carry_proxy(o, c);
  return c;
}

std::optional<nlohmann::json> pull_auth(const std::string& image) {
  if (auto a = Credentials::from_env().for_image(image)) return a->auth_config();
  return std::nullopt;
}

}  // namespace dind::detail
