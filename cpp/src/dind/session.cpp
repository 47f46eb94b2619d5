#include "dind/session.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "dind/containers.hpp"
#include "dind/networks.hpp"
#include "dind/volumes.hpp"

namespace dind {
namespace {

// Field 22 of /proc/PID/stat: the start time in clock ticks since boot. The command name (field 2) may hold
// spaces and parentheses, so count from the last ')'.
std::string start_time(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && (rest >> field); ++i) {
    if (i == 22) return field;
  }
  return {};
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

Owner owner_of(int pid) {
  return Owner{pid, start_time(pid), host_name()};
}

std::string label(const nlohmann::json& labels, const char* key) {
  if (!labels.is_object()) return {};
  auto it = labels.find(key);
  return it != labels.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// Whether an object with these labels (and creation time) is to be reaped.
bool reapable(const nlohmann::json& labels, std::int64_t created, const ReapOptions& options) {
  if (options.everything) return true;
  if (options.older_than) {
    std::int64_t when = created;
    const std::string c = label(labels, kLabelCreated);
    if (!c.empty()) when = std::strtoll(c.c_str(), nullptr, 10);
    if (when > 0 && std::time(nullptr) - when > options.older_than->count()) return true;
  }
  const std::string pid = label(labels, kLabelOwnerPid);
  if (pid.empty()) return false;  // not ours to judge
  Owner o{std::atoi(pid.c_str()), label(labels, kLabelOwnerStart), label(labels, kLabelOwnerHost)};
  return !o.alive();
}

// Deletes the private directory a daemon named (its certs, its CLI socket), but only one that looks like ours: a
// directory whose name starts with "dind-". Older daemons named only their cert dir.
void remove_daemon_dir(const nlohmann::json& labels) {
  namespace fs = std::filesystem;
  std::string path = label(labels, kLabelDir);
  if (path.empty()) path = label(labels, kLabelCertPath);
  if (path.empty() || fs::path(path).filename().string().rfind("dind-", 0) != 0) return;
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(path, ec))) fs::remove_all(path, ec);
}

}  // namespace

Owner Owner::self() {
  return owner_of(static_cast<int>(::getpid()));
}
Owner Owner::parent() {
  return owner_of(static_cast<int>(::getppid()));
}

bool Owner::alive() const {
  if (pid <= 0) return true;
  if (!host.empty() && host != host_name()) return true;  // another machine's process: cannot tell
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  const std::string now = start_time(pid);
  return start.empty() || now.empty() || now == start;
}

std::string session_id() {
  if (const char* s = std::getenv("DIND_SESSION"); s && *s) return s;
  const Owner p = Owner::parent();
  const std::size_t h = std::hash<std::string>{}(p.host + ":" + std::to_string(p.pid) + ":" + p.start);
  std::ostringstream out;
  out << std::hex << (h & 0xffffffffffffULL);
  return out.str();
}

std::string unique_name(const std::string& prefix) {
  std::random_device rd;
  std::uniform_int_distribution<unsigned> digit(0, 15);
  std::string s = prefix;
  for (int i = 0; i < 10; ++i) s += "0123456789abcdef"[digit(rd)];
  return s;
}

std::map<std::string, std::string> session_labels(const Owner& owner, const std::string& session) {
  return {{kLabelSession, session},
          {kLabelOwnerPid, std::to_string(owner.pid)},
          {kLabelOwnerStart, owner.start},
          {kLabelOwnerHost, owner.host},
          {kLabelCreated, std::to_string(static_cast<long long>(std::time(nullptr)))}};
}

bool remove_daemon(Client outer, const std::string& name_or_id) {
  Containers containers(outer);
  nlohmann::json info;
  try {
    info = containers.inspect(name_or_id);
  } catch (const NotFound&) {
    return false;
  }
  const nlohmann::json labels = info["Config"].value("Labels", nlohmann::json::object());
  if (label(labels, kLabelSession).empty())
    throw Error("container " + name_or_id + " on " + outer.host() + " was not made by dind (no " + kLabelSession +
                " label)");
  try {
    containers.remove(info.value("Id", name_or_id), /*force=*/true, /*v=*/true);
  } catch (const NotFound&) {
    // gone meanwhile
  } catch (const Conflict& e) {
    if (e.message().find("already in progress") == std::string::npos) throw;
  }
  remove_daemon_dir(labels);
  return true;
}

ReapResult reap(Client outer, const ReapOptions& options) {
  ReapResult result;
  const nlohmann::json filter = {{"label", {kLabelSession}}};

  Containers containers(outer);
  for (const auto& c : containers.list(true, filter)) {
    const nlohmann::json labels = c.value("Labels", nlohmann::json::object());
    if (!reapable(labels, c.value("Created", std::int64_t{0}), options)) continue;
    const std::string id = c.value("Id", "");
    try {
      containers.remove(id, /*force=*/true, /*v=*/true);
    } catch (const NotFound&) {
      continue;  // gone meanwhile
    }
    remove_daemon_dir(labels);
    result.containers.push_back(id);
  }

  Volumes volumes(outer);
  const nlohmann::json vols = volumes.list(filter);
  for (const auto& v : vols.value("Volumes", nlohmann::json::array())) {
    if (v.is_null()) continue;
    if (!reapable(v.value("Labels", nlohmann::json::object()), 0, options)) continue;
    const std::string name = v.value("Name", "");
    try {
      volumes.remove(name, /*force=*/false);
      result.volumes.push_back(name);
    } catch (const NotFound&) {
    } catch (const Conflict&) {
      // still in use by a live container: not orphaned after all
    }
  }

  Networks networks(outer);
  for (const auto& n : networks.list(filter)) {
    if (!reapable(n.value("Labels", nlohmann::json::object()), 0, options)) continue;
    const std::string id = n.value("Id", "");
    try {
      networks.remove(id);
      result.networks.push_back(n.value("Name", id));
    } catch (const NotFound&) {
    } catch (const ApiError&) {
      // endpoints still attached (a live container of another session): leave it
    }
  }
  return result;
}

}  // namespace dind
