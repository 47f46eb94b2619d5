// Private to layer 6: how Daemon::start() takes a cache volume (dind/cache.hpp) for its /var/lib/docker.
#pragma once

#include <string>

#include "dind/client.hpp"

namespace dind::detail {

// Refuses a cache name that is not a volume name (a path would become a bind mount of the engine's host).
void check_cache_name(const std::string& name);

// Before the create (`self` empty): makes the volume if absent (with kLabelCache). Both before and after the create
// (`self`: the new container's id): throws DaemonStartError, naming the holder, when another container holds it.
// Two starts racing for one cache both check again after their create, and the older create wins.
void claim_cache(Client& outer, const std::string& name, const std::string& self, const std::string& what);

}  // namespace dind::detail
