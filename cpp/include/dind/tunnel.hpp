// Layer 5: a daemon reached through its container's engine, with no port and no route: each connection is an exec of
// `docker system dial-stdio` in the container (the docker CLI there joins its stdin and stdout to the daemon's unix
// socket), hijacked over the engine's API. Whatever reaches the engine (a unix socket, tcp+TLS, ssh, a context)
// reaches the daemon this way. The exec's output is multiplexed: stdout carries the daemon's bytes, stderr what
// dial-stdio says when it cannot connect (shown in the error).
#pragma once

#include <string>

#include "dind/client.hpp"
#include "dind/connection.hpp"

namespace dind {

inline constexpr const char* kTunnelSocket = "/var/run/docker.sock";
// In the error of a tunnel whose exec could not run `docker` at all: retrying cannot help.
inline constexpr const char* kTunnelNeedsCli = "the tunnel needs a docker CLI in the container";

// A Dialer (ClientConfig::dialer) whose connections are exec tunnels into `container` on `engine`, to `socket`.
// `name` names the container in messages (its name, not the 64-hex id).
Dialer exec_tunnel(Client engine, std::string container, std::string name, std::string socket = kTunnelSocket);

// A client for the daemon behind the tunnel: Endpoint::tunnel(name, socket) for its messages, exec_tunnel to dial.
ClientConfig tunnel_config(Client engine, std::string container, std::string name, std::string socket = kTunnelSocket);

}  // namespace dind
