// Layer 1: where the engine is (unix socket, TCP with or without TLS, ssh) and the docker CLI's environment rules.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "dind/tls.hpp"

namespace dind {

class Connection;

// A parsed engine address. Parse errors throw dind::Error naming the offending value.
struct Endpoint {
  // Tunnel: a daemon's socket inside a container, reached through an engine's API (dind/tunnel.hpp); it is never
  // parsed from a URL and needs a Dialer.
  enum class Kind { Unix, Tcp, Ssh, Tunnel };
  Kind kind = Kind::Unix;
  std::string path;        // Unix: absolute socket path. Tunnel: the socket inside the container
  std::string host;        // Tcp, Ssh: DNS name or IP literal (IPv6 without brackets). Tunnel: the container
  std::uint16_t port = 0;  // Tcp; Ssh: 0 = ssh's own default
  std::string user;        // Ssh: the login name; empty = ssh's own default
  bool tls = false;        // Tcp: speak TLS (https://, or tcp:// with a TLS config)

  // Accepts unix:///path, tcp://host[:port], http://host[:port], https://host[:port] ([v6]:port too) and
  // ssh://[user@]host[:port]. `tls` upgrades tcp:// and http:// to TLS (the docker CLI's rule); a port-less tcp://
  // gets 2375, or 2376 with TLS.
  static Endpoint parse(const std::string& url, bool tls = false);
  // The socket `path` inside `container`, for a tunnel's messages.
  static Endpoint tunnel(std::string container, std::string path);

  bool is_unix() const noexcept { return kind == Kind::Unix; }
  bool is_tcp() const noexcept { return kind == Kind::Tcp; }
  // The canonical address used in every message: "unix:///var/run/docker.sock", "tcp://127.0.0.1:2376",
  // "ssh://me@host:2222", "tunnel://dind-3f2a/var/run/docker.sock".
  std::string url() const;
  // Host header: host:port over TCP; "docker" otherwise (a socket at the far end, which ignores it).
  std::string host_header() const;
};

inline constexpr const char* kDefaultDockerHost = "unix:///var/run/docker.sock";

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
  // Dials instead of Connection::open(endpoint) when set (a tunnel); `endpoint` then only names the peer.
  std::function<std::unique_ptr<Connection>(std::chrono::steady_clock::time_point)> dialer;

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
