#include "dind/session.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <regex>
#include <sstream>

#include "dind/containers.hpp"
#include "dind/http.hpp"
#include "dind/networks.hpp"
#include "dind/private_dir.hpp"
#include "dind/volumes.hpp"

namespace dind {
namespace {

// The fields of /proc/PID/stat from field 3 (state) on: [state, ppid, pgrp, session, ...]. The command name
// (field 2) may hold spaces and parentheses, so count from the last ')'. Empty when the process is gone.
std::vector<std::string> stat_fields(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) return {};
  std::istringstream rest(stat.substr(close + 2));
  std::vector<std::string> out;
  for (std::string field; rest >> field;) out.push_back(field);
  return out;
}

// Field 22: the start time in clock ticks since boot.
std::string start_time(int pid) {
  const auto f = stat_fields(pid);
  return f.size() > 22 - 3 ? f[22 - 3] : std::string();
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

// A 64-hex container id after "containers/" (mountinfo) or "docker-" / "docker/" (cgroup paths).
std::optional<std::string> find_id(const std::string& text, const std::regex& pattern) {
  std::smatch m;
  if (std::regex_search(text, m, pattern)) return m[1].str();
  return std::nullopt;
}

std::string first_lines(const std::string& path, std::size_t limit = 1 << 20) {
  std::ifstream f(path);
  std::string out, line;
  while (out.size() < limit && std::getline(f, line)) out += line + "\n";
  return out;
}

// Whether the owner an object's labels name is gone. An owner in a container of this engine (kLabelOwnerContainer)
// lives while that container runs, unless this process is in that same container (then its pid decides).
bool owner_gone(const nlohmann::json& labels, Containers& containers, const std::string& my_container) {
  const std::string pid = label(labels, kLabelOwnerPid);
  if (pid.empty()) return false;  // not ours to judge
  const std::string in = label(labels, kLabelOwnerContainer);
  if (!in.empty() && in != my_container) {
    try {
      return !containers.inspect(in)["State"].value("Running", false);
    } catch (const NotFound&) {
      return true;  // it was on this engine (the label says so) and is gone
    }
  }
  Owner o{std::atoi(pid.c_str()), label(labels, kLabelOwnerStart), label(labels, kLabelOwnerHost)};
  return !o.alive();
}

// Whether an object with these labels (and creation time; for a container, whether it runs) is to be reaped.
bool reapable(const nlohmann::json& labels, std::int64_t created, bool running, const ReapOptions& options,
              Containers& containers, const std::string& my_container) {
  if (options.everything) return true;
  const bool reused = !label(labels, kLabelReuse).empty();
  if (reused && options.reused) return true;
  if (options.older_than) {
    std::int64_t when = created;
    const std::string c = label(labels, kLabelCreated);
    if (!c.empty()) when = std::strtoll(c.c_str(), nullptr, 10);
    if (when > 0 && std::time(nullptr) - when > options.older_than->count()) return true;
  }
  // A reused daemon outlives its owner by design; one that does not run (a start killed early) is an orphan.
  if (reused && running) return false;
  return owner_gone(labels, containers, my_container);
}

// The private directories of daemons (private_dir_prefix) in the temp directories, with their owner.
struct OwnedDir {
  std::string path;
  Owner owner;
  std::time_t mtime = 0;
};

std::vector<OwnedDir> private_dirs() {
  namespace fs = std::filesystem;
  static const std::regex name("^dind-([0-9]+)-([0-9]+)-[A-Za-z0-9]{6}$");
  std::vector<std::string> bases{"/tmp"};
  if (const char* t = std::getenv("TMPDIR"); t && *t && fs::path(t) != fs::path("/tmp")) bases.insert(bases.begin(), t);
  std::vector<OwnedDir> out;
  for (const auto& base : bases) {
    std::error_code ec;
    for (fs::directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
      std::smatch m;
      const std::string file = it->path().filename().string();
      if (!std::regex_match(file, m, name)) continue;
      struct stat st {};
      // Ours only: a real directory (not a link) of this user.
      if (::lstat(it->path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid()) continue;
      const std::string start = m[2].str() == "0" ? std::string() : m[2].str();  // "0": unknown, never judged by it
      out.push_back({it->path().string(), Owner{std::atoi(m[1].str().c_str()), start, host_name()}, st.st_mtime});
    }
  }
  return out;
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

std::optional<DaemonRecord> read_record(const std::string& dir) {
  std::ifstream f(dir + "/daemon.json");
  if (!f) return std::nullopt;
  const auto j = nlohmann::json::parse(f, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  DaemonRecord r;
  r.dir = dir;
  r.name = j.value("name", "");
  r.id = j.value("id", "");
  const nlohmann::json e = j.value("engine", nlohmann::json::object());
  r.engine = e.value("url", "");
  r.ca = e.value("ca", "");
  r.cert = e.value("cert", "");
  r.key = e.value("key", "");
  r.verify = e.value("verify", true);
  return r;
}

}  // namespace

ClientConfig DaemonRecord::engine_config() const {
  if (engine.empty())
    throw Error("the engine of dind daemon " + name + " (recorded in " + dir +
                "/daemon.json) cannot be reached from another process: it was a tunnel or had its TLS in memory");
  std::optional<TlsConfig> tls;
  if (!ca.empty() || !cert.empty()) tls = TlsConfig::from_files(ca, cert, key, verify);
  return ClientConfig::from_url(engine, std::move(tls));
}

void write_record(const std::string& dir, const std::string& name, const std::string& id, const Client& engine) {
  const ClientConfig& c = engine.config();
  nlohmann::json e = nlohmann::json::object();
  // Only what another process can rebuild: a URL, and TLS material that lives in files.
  const auto file = [](const std::string& source) { return !source.empty() && source[0] == '/'; };
  const bool tls_in_files = !c.tls || ((c.tls->ca_pem.empty() || file(c.tls->ca_source)) &&
                                       (c.tls->cert_pem.empty() || file(c.tls->cert_source)) &&
                                       (c.tls->key_pem.empty() || file(c.tls->key_source)));
  if (!c.dialer && tls_in_files) {
    e["url"] = engine.host();
    if (c.tls) {
      if (!c.tls->ca_pem.empty()) e["ca"] = c.tls->ca_source;
      if (!c.tls->cert_pem.empty()) e["cert"] = c.tls->cert_source;
      if (!c.tls->key_pem.empty()) e["key"] = c.tls->key_source;
      e["verify"] = c.tls->verify;
    }
  }
  write_new_file(dir + "/daemon.json", nlohmann::json{{"name", name}, {"id", id}, {"engine", e}}.dump(), 0600);
}

std::vector<DaemonRecord> local_daemons() {
  std::vector<DaemonRecord> out;
  for (const auto& d : private_dirs())
    if (auto r = read_record(d.path)) out.push_back(std::move(*r));
  return out;
}

Owner Owner::self() {
  return owner_of(static_cast<int>(::getpid()));
}
Owner Owner::parent() {
  return owner_of(static_cast<int>(::getppid()));
}

std::optional<Owner> Owner::session_leader() {
  const pid_t sid = ::getsid(0);
  if (sid != 0) {
    if (sid > 1 && sid != ::getpid()) return owner_of(static_cast<int>(sid));
    return std::nullopt;
  }
  int leader = 0;
  for (int pid = static_cast<int>(::getppid()); pid > 1;) {
    const auto f = stat_fields(pid);
    if (f.size() < 4 || f[3] != "0") break;  // outside the session (its id is visible again)
    leader = pid;
    pid = std::atoi(f[1].c_str());
  }
  if (!leader) return std::nullopt;
  return owner_of(leader);
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

std::optional<std::string> own_container_id() {
  static const std::regex mount_id("/containers/([0-9a-f]{64})/");
  static const std::regex cgroup_id("(?:docker[-/]|/libpod-)([0-9a-f]{64})");
  std::ifstream mi("/proc/self/mountinfo");
  for (std::string line; std::getline(mi, line);) {
    // The engine bind-mounts these three from the container's own directory.
    if (line.find(" /etc/hostname ") == std::string::npos && line.find(" /etc/hosts ") == std::string::npos &&
        line.find(" /etc/resolv.conf ") == std::string::npos)
      continue;
    if (auto id = find_id(line, mount_id)) return id;
  }
  if (auto id = find_id(first_lines("/proc/self/cgroup"), cgroup_id)) return id;
  return std::nullopt;
}

std::string private_dir_prefix(const Owner& owner) {
  const bool digits = !owner.start.empty() && owner.start.find_first_not_of("0123456789") == std::string::npos;
  return "dind-" + std::to_string(owner.pid) + "-" + (digits ? owner.start : "0") + "-";
}

std::map<std::string, std::string> session_labels(const Owner& owner, Client& engine, const std::string& session) {
  std::map<std::string, std::string> labels{
      {kLabelSession, session},
      {kLabelOwnerPid, std::to_string(owner.pid)},
      {kLabelOwnerStart, owner.start},
      {kLabelOwnerHost, owner.host},
      {kLabelCreated, std::to_string(static_cast<long long>(std::time(nullptr)))}};
  if (const auto id = own_container_id()) {
    try {
      labels[kLabelOwnerContainer] = Containers(engine).inspect(*id).value("Id", *id);
    } catch (const NotFound&) {
      // a container of another engine: the owner's host and pid are all this engine can be told
    }
  }
  return labels;
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

namespace {

// What reap() needs to judge one labelled object: the options, the containers (for owner containers) and this
// process's own container (never its own owner's victim).
struct ReapScope {
  const ReapOptions& options;
  Containers containers;
  std::string me;

  bool covers(const nlohmann::json& labels, std::int64_t created = 0, bool running = false) {
    return reapable(labels, created, running, options, containers, me);
  }
};

void reap_containers(ReapScope& scope, const nlohmann::json& filter, ReapResult& result) {
  for (const auto& c : scope.containers.list(true, filter)) {
    const nlohmann::json labels = c.value("Labels", nlohmann::json::object());
    if (!scope.covers(labels, c.value("Created", std::int64_t{0}), c.value("State", "") == "running")) continue;
    const std::string id = c.value("Id", "");
    try {
      scope.containers.remove(id, /*force=*/true, /*v=*/true);
    } catch (const NotFound&) {
      continue;  // gone meanwhile
    }
    remove_daemon_dir(labels);
    result.containers.push_back(id);
  }
}

void reap_volumes(ReapScope& scope, Volumes volumes, const nlohmann::json& filter, ReapResult& result) {
  const nlohmann::json vols = volumes.list(filter);
  for (const auto& v : vols.value("Volumes", nlohmann::json::array())) {
    if (v.is_null() || !scope.covers(v.value("Labels", nlohmann::json::object()))) continue;
    const std::string name = v.value("Name", "");
    try {
      volumes.remove(name, /*force=*/false);
      result.volumes.push_back(name);
    } catch (const NotFound&) {
    } catch (const Conflict&) {
      // still in use by a live container: not orphaned after all
    }
  }
}

void reap_networks(ReapScope& scope, Networks networks, const nlohmann::json& filter, ReapResult& result) {
  for (const auto& n : networks.list(filter)) {
    if (!scope.covers(n.value("Labels", nlohmann::json::object()))) continue;
    const std::string id = n.value("Id", "");
    try {
      networks.remove(id);
      result.networks.push_back(n.value("Name", id));
    } catch (const NotFound&) {
    } catch (const ApiError&) {
      // endpoints still attached (a live container of another session): leave it
    }
  }
}

// Directories whose daemon never got a container (a start killed early), or whose container went another way.
void reap_dirs(const ReapOptions& options, ReapResult& result) {
  const auto now = std::time(nullptr);
  for (const auto& d : private_dirs()) {
    const bool old = options.older_than && now - d.mtime > options.older_than->count();
    if (!options.everything && !old && d.owner.alive()) continue;
    // Its daemon may live on another engine than `outer` (dind up inside a daemon): remove it where it lives.
    if (const auto r = read_record(d.path); r && !r->id.empty()) {
      try {
        if (remove_daemon(Client(r->engine_config()), r->id)) result.containers.push_back(r->id);
      } catch (const Error&) {
        // its engine is gone or unreachable: nothing more to remove there from here
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(d.path, ec);
    if (!ec) result.dirs.push_back(d.path);
  }
}

}  // namespace

ReapResult reap(Client outer, const ReapOptions& options) {
  ReapResult result;
  const nlohmann::json filter = {{"label", {kLabelSession}}};
  ReapScope scope{options, Containers(outer), own_container_id().value_or("")};
  reap_containers(scope, filter, result);
  reap_volumes(scope, Volumes(outer), filter, result);
  reap_networks(scope, Networks(outer), filter, result);
  reap_dirs(options, result);
  return result;
}

ReapResult reap_kubernetes(KubeClient api, const std::string& ns, const ReapOptions& options) {
  ReapResult result;
  Containers none(Client::from_env());  // only for owner containers, which pods never name
  const std::string base = "/api/v1/namespaces/" + http::url_encode(ns) + "/";
  const std::string selector = "?labelSelector=" + http::url_encode("app.kubernetes.io/managed-by=dind");
  auto remove = [&](const std::string& kind, const std::string& name, std::vector<std::string>& into) {
    try {
      api.call("DELETE", base + kind + "/" + http::url_encode(name) + "?gracePeriodSeconds=0");
      into.push_back(name);
    } catch (const NotFound&) {
      // gone meanwhile
    }
  };
  for (const char* kind : {"pods", "secrets"}) {
    for (const auto& item : api.call("GET", base + kind + selector).value("items", nlohmann::json::array())) {
      const nlohmann::json meta = item.value("metadata", nlohmann::json::object());
      const nlohmann::json notes = meta.value("annotations", nlohmann::json::object());
      const bool running = item.value("status", nlohmann::json::object()).value("phase", "") == "Running";
      if (!reapable(notes, 0, running, options, none, "")) continue;
      remove(kind, meta.value("name", ""), std::string(kind) == "pods" ? result.pods : result.secrets);
    }
  }
  reap_dirs(options, result);
  return result;
}

}  // namespace dind
