// What the outer engine and the caller know, carried into a dind daemon: the registry mirrors and insecure registries
// of the outer engine, the MTU of the network the daemon joins, the caller's proxies, and registry credentials.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dind/client.hpp"
#include "dind/daemon.hpp"

namespace dind::detail {

// Where a proxy URL that holds a password goes in the container (sourced by the entrypoint, then deleted), so that
// no secret shows in the container's inspect output.
inline constexpr const char* kProxyEnvFile = "dind-proxy.env";

struct Carried {
  std::vector<std::string> dockerd_args;   // --registry-mirror, --insecure-registry, --mtu, ...
  std::map<std::string, std::string> env;  // proxies without a password
  std::string secret_env;                  // `export K='v'` lines for kProxyEnvFile; empty: none
};

// The carried settings for a daemon on `outer` that joins `network` ("" = the default bridge), running `image`
// (inspect output). Whatever `o.dockerd_args` or `o.env` already set wins.
Carried carry(Client& outer, const DaemonOptions& o, const std::string& network, const nlohmann::json& image);

// The X-Registry-Auth for pulling `image` from $DOCKER_CONFIG/config.json, or nullopt; errors name the registry.
std::optional<nlohmann::json> pull_auth(const std::string& image);

}  // namespace dind::detail
