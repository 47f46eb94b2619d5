// Layer 1: everything a Client needs to reach an engine (its Endpoint, TLS material, API version, timeouts, pool
// limits), and the docker CLI's rules for finding the engine from the environment.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "dind/endpoint.hpp"
#include "dind/tls.hpp"

namespace dind {

class Connection;
class PortReach;  // dind/wait.hpp

// Everything a Client needs; immutable once the client is made.
struct ClientConfig {
  Endpoint endpoint = Endpoint::parse(kDefaultDockerHost);
  std::optional<TlsConfig> tls;                      // set for TLS endpoints
  std::string version;                               // pinned API version ("1.41"); empty: negotiate once
  std::chrono::milliseconds timeout{60000};          // whole unary request (connect + write + answer)
  std::chrono::milliseconds connect_timeout{30000};  // also bounded by `timeout`
  std::size_t max_idle = 8;                          // idle keep-alive connections kept
  std::chrono::milliseconds idle_keepalive{30000};   // drop idle connections older than this
  std::size_t max_body = 256u << 20;                 // cap on a unary response body
  // A docker config directory whose config.json gives a pull without explicit auth its registry's credentials
  // (dind/credentials.hpp); empty: none (a Dind's client started with login has its private one).
  std::string docker_config;
  // Dials instead of Connection::open(endpoint) when set (a tunnel); `endpoint` then only names the peer. The same
  // type as Dialer in dind/connection.hpp, spelled out so that this layer needs nothing of the connection layer.
  std::function<std::unique_ptr<Connection>(std::chrono::steady_clock::time_point)> dialer;

  // How this process dials a port the engine publishes (dind/wait.hpp); unset: at the engine's host. A dind
  // daemon's client carries one that fits its reach.
  std::shared_ptr<const PortReach> ports;
  // A config for `url` (tcp:// becomes TLS when `tls` is given).
  static ClientConfig from_url(const std::string& url, std::optional<TlsConfig> tls = std::nullopt);
  // The docker CLI's rules. A non-empty DOCKER_HOST wins; else the current docker context (DOCKER_CONTEXT, else
  // currentContext in $DOCKER_CONFIG/config.json, DOCKER_CONFIG defaulting to ~/.docker; dind/context.hpp) gives the
  // endpoint and its TLS material from the CLI's store; the context "default" (or none) means: DOCKER_HOST (default
  // unix:///var/run/docker.sock); DOCKER_TLS_VERIFY non-empty (even "0") = TLS with verification; DOCKER_CERT_PATH
  // (default $DOCKER_CONFIG, else ~/.docker) holds ca.pem, cert.pem, key.pem and turns TLS on (without verification
  // unless DOCKER_TLS_VERIFY) when set. DOCKER_API_VERSION pins the version in every case.
  static ClientConfig from_env();
  // Reads every variable from `env` only (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION,
  // DOCKER_CONTEXT, DOCKER_CONFIG, HOME); the overload above collects them from the process environment, HOME from
  // the password database when unset.
  static ClientConfig from_env(const std::map<std::string, std::string>& env);
};

}  // namespace dind
