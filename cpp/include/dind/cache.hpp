// Layer 6: layer caches. A cache is a named volume that holds a daemon's /var/lib/docker (DaemonOptions::cache) and
// outlives it, so images pulled and built in one daemon are there in the next. dockerd corrupts a data root that two
// daemons use at once, so a cache has at most one user: Daemon::start() claims it and fails, naming the holder, when
// another daemon has it. Caches carry kLabelCache (dind/session.hpp) and no owner: reap() never removes them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dind/client.hpp"

namespace dind {

struct CacheSummary {
  std::string name;
  std::int64_t created = 0;        // unix seconds (0: unknown)
  std::vector<std::string> users;  // the containers that use it now (names), at most one of them a running daemon
  std::string mountpoint;          // on the engine's host
};

// The dind caches on `outer`, by name.
std::vector<CacheSummary> list_caches(Client outer);

// Removes cache `name` from `outer`. False when there is no such volume; Error when it is not a dind cache (no
// kLabelCache label) or when a container uses it (naming the container).
bool remove_cache(Client outer, const std::string& name);

}  // namespace dind
