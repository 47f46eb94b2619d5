// Layer 1: where the engine is: a unix socket, TCP with or without TLS, ssh, or a tunnel. What a client makes of it
// (TLS material, timeouts, the docker CLI's environment rules) is ClientConfig, in dind/client_config.hpp.
#pragma once

#include <cstdint>
#include <string>

namespace dind {

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

}  // namespace dind
