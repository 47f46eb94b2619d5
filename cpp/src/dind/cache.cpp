#include "dind/cache.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <regex>

#include "cache_claim.hpp"
#include "dind/containers.hpp"
#include "dind/session.hpp"
#include "dind/volumes.hpp"

namespace dind {
namespace {

// A container holds a cache while its dockerd may use the data root: running, paused or restarting, or created and
// about to start (not yet a minute old: older ones are a start that died before it ran, which reap() removes).
bool holds(const nlohmann::json& c) {
  const std::string state = c.value("State", "");
  if (state == "running" || state == "paused" || state == "restarting") return true;
  return state == "created" && std::time(nullptr) - c.value("Created", std::int64_t{0}) < 60;
}

std::string name_of(const nlohmann::json& c) {
  const nlohmann::json names = c.value("Names", nlohmann::json::array());
  std::string n = names.empty() ? c.value("Id", "").substr(0, 12) : names[0].get<std::string>();
  return !n.empty() && n[0] == '/' ? n.substr(1) : n;
}

nlohmann::json users_of(Containers& containers, const std::string& volume) {
  return containers.list(true, {{"volume", {volume}}});
}

}  // namespace

namespace detail {

void check_cache_name(const std::string& name) {
  static const std::regex valid("^[A-Za-z0-9][A-Za-z0-9_.-]+$");
  if (!std::regex_match(name, valid))
    throw Error("starting a dind daemon: cache \"" + name.substr(0, 100) +
                "\" is not a volume name (letters, digits, '_', '.', '-'; a path would be mounted from the host)");
}

void claim_cache(Client& outer, const std::string& name, const std::string& self, const std::string& what) {
  Volumes volumes(outer);
  if (self.empty()) {
    try {
      volumes.inspect(name);
    } catch (const NotFound&) {
      try {
        volumes.create(name, {}, {}, {{kLabelCache, name}, {kLabelCreated, std::to_string(std::time(nullptr))}});
      } catch (const Conflict&) {
        // made meanwhile by another start: the check below decides
      }
    }
  }
  Containers containers(outer);
  const nlohmann::json users = users_of(containers, name);
  std::int64_t mine = 0;
  for (const auto& c : users)
    if (c.value("Id", "") == self) mine = c.value("Created", std::int64_t{0});
  for (const auto& c : users) {
    const std::string id = c.value("Id", "");
    if (id == self || !holds(c)) continue;
    // Two starts that both passed the first check: the older create (then the smaller id) keeps the cache.
    const std::int64_t theirs = c.value("Created", std::int64_t{0});
    if (!self.empty() && c.value("State", "") == "created" && (theirs > mine || (theirs == mine && id > self)))
      continue;
    throw DaemonStartError("starting " + what + " failed: its cache volume " + name + " is in use by container " +
                               name_of(c) + " (" + c.value("State", "") +
                               "); two daemons on one data root corrupt it: wait for that one, remove it, or give "
                               "this daemon another cache",
                           "");
  }
}

}  // namespace detail

std::vector<CacheSummary> list_caches(Client outer) {
  Containers containers(outer);
  const nlohmann::json vols = Volumes(outer).list({{"label", {kLabelCache}}});
  std::vector<CacheSummary> out;
  for (const auto& v : vols.value("Volumes", nlohmann::json::array())) {
    if (v.is_null()) continue;
    CacheSummary c;
    c.name = v.value("Name", "");
    c.mountpoint = v.value("Mountpoint", "");
    const nlohmann::json labels = v.value("Labels", nlohmann::json::object());
    if (labels.is_object()) c.created = std::strtoll(labels.value(kLabelCreated, "0").c_str(), nullptr, 10);
    for (const auto& u : users_of(containers, c.name)) c.users.push_back(name_of(u));
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const CacheSummary& a, const CacheSummary& b) { return a.name < b.name; });
  return out;
}

bool remove_cache(Client outer, const std::string& name) {
  Volumes volumes(outer);
  nlohmann::json v;
  try {
    v = volumes.inspect(name);
  } catch (const NotFound&) {
    return false;
  }
  const nlohmann::json labels = v.value("Labels", nlohmann::json::object());
  if (!labels.is_object() || !labels.contains(kLabelCache))
    throw Error("volume " + name + " on " + outer.host() + " is not a dind cache (no " + kLabelCache +
                " label): remove it with docker volume rm");
  Containers containers(outer);
  std::string users;
  for (const auto& u : users_of(containers, name)) users += (users.empty() ? "" : ", ") + name_of(u);
  if (!users.empty())
    throw Error("removing cache " + name + " from " + outer.host() + " failed: it is in use by " + users);
  try {
    volumes.remove(name);
  } catch (const NotFound&) {
    return false;
  } catch (const Conflict& e) {
    throw Error("removing cache " + name + " from " + outer.host() + " failed: " + e.message());
  }
  return true;
}

}  // namespace dind
