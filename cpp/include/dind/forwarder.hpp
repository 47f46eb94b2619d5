// Layer 2: a unix socket that serves a Dialer's connections, for programs that can only dial a socket (the docker
// CLI). Each connection accepted there is joined, byte for byte in both directions and with half-closes passed on,
// to a new connection the dialer makes (a tunnel, see dind/tunnel.hpp). The one part of the core with threads of its
// own: an accept loop, and two pumps per forwarded connection.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "dind/connection.hpp"

namespace dind {

class Forwarder {
 public:
  // Listens on `socket_path` at once (a new socket file, mode 0600: put it in a private directory). Throws Error
  // naming the path. `what` names the far end in messages ("the daemon in dind-3f2a").
  Forwarder(std::string socket_path, Dialer dialer, std::string what);
  ~Forwarder();  // stop()
  Forwarder(Forwarder&&) noexcept;
  Forwarder& operator=(Forwarder&&) noexcept;

  // Stops accepting, ends every forwarded connection, removes the socket file and joins the threads. Idempotent.
  void stop() noexcept;
  // Serves until stop() or until `socket_path` is gone: for a process whose whole job is forwarding.
  void wait();

  const std::string& path() const noexcept;
  // "unix://" + path(): a DOCKER_HOST for the docker CLI.
  std::string url() const;
  // Connections accepted so far; the last dial that failed ("" if none), for diagnostics.
  std::size_t accepted() const noexcept;
  std::string last_error() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dind
