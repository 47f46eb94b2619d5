// Private to layer 6: finding an earlier run's daemon for DaemonOptions::reuse (daemon_start.cpp uses it).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "dind/daemon.hpp"

namespace dind::detail {

// What shapes a daemon, hashed: its create body (made without labels or name) and how it is reached. Two starts
// with equal hashes make daemons that nobody can tell apart.
std::string reuse_hash(const DaemonOptions& o, const ReachPlan& plan, const nlohmann::json& body);

// A running daemon on `outer` with reuse key `o.reuse` and this hash whose client certs (in this user's state
// directory) belong to its CA and which answers a ping; nullopt when there is none. `note` then says why each one
// tried did not serve. Daemons of the key that no longer run are removed on the way.
std::optional<Daemon> find_reusable(Client& outer, const DaemonOptions& o, const std::string& hash, std::string& note);

}  // namespace dind::detail
