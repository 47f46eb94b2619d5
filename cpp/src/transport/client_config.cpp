#include "dind/client_config.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "dind/context.hpp"
#include "dind/errors.hpp"

namespace dind {

ClientConfig ClientConfig::from_url(const std::string& url, std::optional<TlsConfig> tls) {
  ClientConfig c;
  c.endpoint = Endpoint::parse(url, tls.has_value());
  if (!c.endpoint.is_tcp()) tls.reset();          // TLS settings have no meaning on a socket or over ssh
  if (c.endpoint.tls && !tls) tls = TlsConfig{};  // https:// without material: verification will ask for a CA
  c.tls = std::move(tls);
  return c;
}

ClientConfig ClientConfig::from_env(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* k) -> std::string {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  auto api_version = [&](ClientConfig& c) {
    c.version = get("DOCKER_API_VERSION");
    if (!c.version.empty() && c.version[0] == 'v') c.version.erase(0, 1);
  };
  // A context is the CLI's choice only when DOCKER_HOST is empty; its TLS material is its own (the CLI applies
  // neither DOCKER_TLS_VERIFY nor DOCKER_CERT_PATH to it).
  if (const CurrentContext current = current_context(env); !current.is_default()) {
    ClientConfig c = load_context(current).client_config();
    api_version(c);
    return c;
  }
  const bool has_cert_path = env.count("DOCKER_CERT_PATH") && !get("DOCKER_CERT_PATH").empty();
  const bool verify = !get("DOCKER_TLS_VERIFY").empty();
  std::string host = get("DOCKER_HOST");
  if (host.empty()) host = kDefaultDockerHost;

  std::optional<TlsConfig> tls;
  const bool socket_host = host.rfind("unix://", 0) == 0 || host.rfind("ssh://", 0) == 0;
  if ((verify || has_cert_path) && !socket_host) {
    // The CLI's default cert dir is its config dir: $DOCKER_CONFIG, else ~/.docker.
    std::string dir = get("DOCKER_CERT_PATH");
    if (dir.empty()) dir = docker_config_dir(env);
    if (dir.empty()) throw TlsError("DOCKER_TLS_VERIFY is set but none of DOCKER_CERT_PATH, DOCKER_CONFIG, HOME is");
    tls = TlsConfig::from_cert_dir(dir, verify);
  }
  ClientConfig c;
  try {
    c = from_url(host, std::move(tls));
  } catch (const TlsError&) {
    throw;
  } catch (const Error& e) {
    throw Error(std::string("DOCKER_HOST: ") + e.what());
  }
  api_version(c);
  return c;
}

ClientConfig ClientConfig::from_env() {
  std::map<std::string, std::string> env;
  for (const char* k : {"DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION", "DOCKER_CONFIG",
                        "DOCKER_CONTEXT", "HOME"}) {
    if (const char* v = std::getenv(k)) env[k] = v;
  }
  // Like the CLI (and ssh), a process without HOME still has the password database's home directory.
  if (env["HOME"].empty()) {
    long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_dir)
      env["HOME"] = found->pw_dir;
  }
  return from_env(env);
}

}  // namespace dind
