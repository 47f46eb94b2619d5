// Layer 6: where a started daemon is dialled from. Decided once, from the engine's endpoint and where this process
// stands, before anything is created:
//   loopback   the port is published on 127.0.0.1 of the engine's host, which is this process's host (or it shares
//              that host's network);
//   network    this process runs in a container of the engine: the daemon joins one of that container's networks
//              and is dialled at its address there; nothing is published;
//   published  a remote engine (tcp://HOST): the port is published on HOST and guarded by mutual TLS (plain TCP is
//              never published beyond loopback unless asked), dialled at HOST:PORT;
//   tunnel     any engine at all: through the engine's own API (dind/tunnel.hpp), no port, no route.
// An override (an explicit kind, a host to dial, $DIND_HOST) wins. An automatic choice other than the tunnel falls
// back to the tunnel when its address does not answer while the daemon says it listens.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dind/client.hpp"
#include "dind/session.hpp"

namespace dind {

enum class ReachKind { automatic, loopback, network, published, tunnel };

// "auto", "loopback", "network", "published", "tunnel".
const char* to_string(ReachKind kind) noexcept;
// The inverse; throws Error listing the names.
ReachKind parse_reach_kind(const std::string& name);

// The way a daemon is reached, and why: Daemon::reach(), `d.reach` in Python, the REACH column of `dind ls`.
struct Reach {
  ReachKind kind = ReachKind::loopback;
  std::string address;  // what the library dials: tcp://127.0.0.1:PORT, tcp://ADDRESS:2376, tunnel://NAME/...
  std::string reason;   // one sentence: where this process stands, and what followed from it
};

// Where this process stands relative to an engine.
struct CallerPlace {
  bool in_container = false;          // this process runs in a container (whichever engine runs it)
  std::string container_id;           // that container, if this engine knows it
  std::string container_name;         // its name there
  std::vector<std::string> networks;  // its networks on this engine ("host": it shares the host's network)
};

// Finds this process's container on `engine` (as testcontainers does) and its networks there.
CallerPlace locate_caller(Client& engine);

// What a start needs to know to reach its daemon.
struct ReachRequest {
  ReachKind kind = ReachKind::automatic;
  std::string host;               // dial a published port at this host (empty: $DIND_HOST, if set)
  bool tls = true;                // the daemon's own TLS
  bool insecure_publish = false;  // allows a plain-TCP port published beyond loopback
  std::string network;            // the network the daemon joins anyway (DaemonOptions::network), if any
};

// The decision for one start.
struct ReachPlan {
  ReachKind kind = ReachKind::loopback;  // never automatic
  std::string publish_ip;                // loopback/published: the host address the port is bound to
  std::string dial_host;                 // loopback/published: where the library dials that port
  std::string network;                   // network: whose address the library dials
  bool fallback_to_tunnel = false;       // chosen automatically: tunnel if the address does not answer
  std::string reason;
};

// Throws Error (before anything is created) for a request that cannot hold: plain TCP published beyond loopback
// without insecure_publish, a host override with the tunnel, network reach without a network to join.
ReachPlan plan_reach(Client& engine, const ReachRequest& request);

bool is_loopback_host(const std::string& host);

}  // namespace dind
