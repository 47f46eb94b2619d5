// Private to layer 6: the wait for a started daemon (the two gates of ARCHITECTURE.md): its container runs, and GET /_ping
// answers OK over the transport the caller will use. Also tells an unreachable daemon from a slow one: when its log
// says it listens but the dialled address still refuses, the automatic reach falls back to the tunnel and an asked-for
// one fails at once, saying where this process stands and what to set.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "dind/client.hpp"
#include "dind/reach.hpp"

namespace dind::detail {

struct ReadyWait {
  Client outer;
  std::string id;    // the dind container
  std::string what;  // "dind container NAME (image I) on ENGINE", for messages
  std::string port;  // "2376/tcp": what its log says it listens on
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds timeout{};            // for the message
  std::function<void(const char*)> check_cancel;  // throws when the start was cancelled
  std::function<std::string()> log_tail;          // the container's last log lines
};

// Waits until `probe` answers (it may be replaced by a tunnel client: `make_tunnel`), updating `reach`. Throws
// DaemonStartError (with the log tail) when the container exits, the deadline passes, or the daemon listens but
// cannot be reached and there is no fallback.
void wait_until_ready(const ReadyWait& w, Client& probe, Reach& reach, bool fallback_to_tunnel,
                      const std::function<Client()>& make_tunnel);

}  // namespace dind::detail
