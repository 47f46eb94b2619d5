#include "dind/daemon.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "daemon_spec.hpp"
#include "dind/archive.hpp"
#include "dind/certs.hpp"
#include "dind/containers.hpp"
#include "dind/forwarder.hpp"
#include "dind/images.hpp"
#include "dind/networks.hpp"
#include "dind/private_dir.hpp"
#include "dind/streams.hpp"
#include "dind/tunnel.hpp"
#include "readiness.hpp"

namespace dind {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

struct Daemon::State {
  Client outer;
  std::optional<Client> client;  // set once the daemon answered
  std::string id, name, dir, cert_path;
  Reach reach;
  bool tls = true;
  std::optional<PrivateDir> owned_dir;  // start() owns it; attach() only knows the path
  std::optional<Forwarder> forwarder;   // tunnel: serves the docker CLI on dir/docker.sock
  // remove() and keep() may race (close() on several threads, a signal handler): they hold `mu`.
  std::mutex mu;
  bool kept = false;
  std::atomic<bool> removed{false};
  StartTimings timings;

  explicit State(Client o) : outer(std::move(o)) {}
  std::string socket_path() const { return dir + "/docker.sock"; }
};

PullPolicy parse_pull_policy(const std::string& name) {
  for (PullPolicy p : {PullPolicy::missing, PullPolicy::always, PullPolicy::never})
    if (name == to_string(p)) return p;
  throw Error("unknown pull policy \"" + name.substr(0, 100) + "\" (expected missing, always or never)");
}

const char* to_string(PullPolicy policy) noexcept {
  switch (policy) {
    case PullPolicy::missing: return "missing";
    case PullPolicy::always: return "always";
    case PullPolicy::never: return "never";
  }
  return "?";
}

namespace {

// `server_name`: what the cert must name when the dialled address is not in it.
Client tls_client(const std::string& url, bool tls, const CertBundle* certs, std::optional<milliseconds> timeout) {
  std::optional<TlsConfig> tls_config;
  if (tls) tls_config = TlsConfig::from_pem(certs->ca_cert(), certs->client_cert(), certs->client_key());
  ClientConfig cfg = ClientConfig::from_url(url, std::move(tls_config));
  if (timeout) cfg.timeout = cfg.connect_timeout = *timeout;
  return Client(std::move(cfg));
}

Client tunnel_client(Client& outer, const std::string& id, const std::string& name,
                     std::optional<milliseconds> timeout) {
  ClientConfig cfg = tunnel_config(outer, id, name);
  if (timeout) cfg.timeout = cfg.connect_timeout = *timeout;
  return Client(std::move(cfg));
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw TlsError("reading " + path + " failed: " + std::strerror(errno));
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The final reach, for attach() in another process: the labels only hold the plan, and the automatic reach may have
// fallen back to the tunnel after the create.
void write_reach(const std::string& dir, const Reach& r) {
  const nlohmann::json j = {{"kind", to_string(r.kind)}, {"address", r.address}, {"reason", r.reason}};
  write_new_file(dir + "/reach.json", j.dump(), 0600);
}

std::optional<Reach> read_reach(const std::string& dir) {
  std::ifstream f(dir + "/reach.json");
  if (!f) return std::nullopt;
  const auto j = nlohmann::json::parse(f, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  Reach r;
  r.kind = parse_reach_kind(j.value("kind", "loopback"));
  r.address = j.value("address", "");
  r.reason = j.value("reason", "");
  return r;
}

}  // namespace

Daemon::Daemon(std::unique_ptr<State> s) noexcept : s_(std::move(s)) {}
Daemon::Daemon(Daemon&&) noexcept = default;
Daemon& Daemon::operator=(Daemon&& other) noexcept {
  if (this != &other) {
    if (s_ && !s_->kept && !s_->removed.load()) {
      try {
        remove();
      } catch (...) {
      }
    }
    s_ = std::move(other.s_);
  }
  return *this;
}
Daemon::~Daemon() {
  if (s_ && !s_->kept && !s_->removed.load()) {
    try {
      remove();
    } catch (...) {
      // a destructor must not throw; reap() catches what is left
    }
  }
}

Daemon Daemon::start(const DaemonOptions& o) {
  detail::check_options(o);
  const auto t0 = SteadyClock::now();
  auto s = std::make_unique<State>(o.outer ? *o.outer : Client::from_env());
  s->tls = o.tls;
  s->name = o.name.empty() ? unique_name("dind-") : o.name;
  // From here on `d` owns whatever exists: any throw removes the container and the private directory.
  Daemon d(std::move(s));
  State& st = *d.s_;
  const std::string what = "dind container " + st.name + " (image " + o.image + ") on " + st.outer.host();
  const auto check_cancel = [&](const char* step) {
    if (o.cancelled()) throw DaemonStartError("starting " + what + " was cancelled " + step, "");
  };

  const ReachPlan plan = plan_reach(st.outer, {o.reach, o.host, o.tls, o.insecure_publish, o.network});
  const nlohmann::json image = detail::ensure_image(st.outer, o);
  st.reach.kind = plan.kind;
  st.reach.reason = plan.reason;
  check_cancel("before its certificates were made");

  const Owner owner = o.owner ? *o.owner : Owner::self();
  st.owned_dir.emplace(private_dir_prefix(owner));
  st.dir = st.owned_dir->path();
  // The network reach dials an address known only once the container runs: its certs come after the start.
  const bool certs_later = o.tls && plan.kind == ReachKind::network;
  std::optional<CertBundle> bundle;
  if (o.tls && !certs_later) bundle = CertBundle::make(detail::cert_options(o, st.name, plan));
  if (o.tls) st.cert_path = st.dir + "/certs";  // DOCKER_CERT_PATH holds nothing but the client's three files
  const auto t_certs = SteadyClock::now();

  auto labels = session_labels(owner, st.outer);
  for (const auto& [k, v] : o.labels) labels[k] = v;
  labels[kLabelName] = st.name;
  labels[kLabelTls] = o.tls ? "1" : "0";
  labels[kLabelDir] = st.dir;
  labels[kLabelReach] = to_string(plan.kind);
  if (!plan.dial_host.empty()) labels[kLabelDialHost] = plan.dial_host;
  if (!plan.network.empty()) labels[kLabelDialNetwork] = plan.network;
  if (!st.cert_path.empty()) labels[kLabelCertPath] = st.cert_path;

  Containers containers(st.outer);
  try {
    st.id =
        containers.create(detail::create_body(o, plan, labels, st.name, image, certs_later), st.name).value("Id", "");
  } catch (const Conflict& e) {
    throw DaemonStartError("creating " + what + " failed: the name is taken (" + e.message() + ")", "");
  } catch (const ApiError& e) {
    throw DaemonStartError(
        "creating " + what + " failed: " + e.message() + detail::start_failure_hint(e.message(), o, plan), "");
  }
  write_record(st.dir, st.name, st.id, st.outer);
  if (plan.kind == ReachKind::network && !o.network.empty() && plan.network != o.network)
    Networks(st.outer).connect(plan.network, st.id);
  if (bundle) {
    bundle->write_client_dir(st.cert_path);
    Archive(st.outer).put(st.id, "/", body_from_memory(detail::certs_tar(*bundle, false)));
  }
  const auto t_create = SteadyClock::now();
  check_cancel("after it was created");

  try {
    containers.start(st.id);
  } catch (const ApiError& e) {
    throw DaemonStartError(
        "starting " + what + " failed: " + e.message() + detail::start_failure_hint(e.message(), o, plan), d.logs(30));
  }
  const auto t_start = SteadyClock::now();
  check_cancel("after it started");

  const std::string port = detail::daemon_port(o.tls);
  const nlohmann::json info = containers.inspect(st.id);
  if (!info["State"].value("Running", false)) {
    throw DaemonStartError(
        what + " exited (code " + std::to_string(info["State"].value("ExitCode", -1)) + ") right after it started",
        d.logs(30));
  }
  switch (plan.kind) {
    case ReachKind::loopback:
    case ReachKind::published: {
      const std::uint16_t hp = detail::published_port(info, port, plan.publish_ip);
      if (!hp)
        throw DaemonStartError(what + ": the engine did not publish port " + port + " on " + plan.publish_ip,
                               d.logs(30));
      const bool v6 = plan.dial_host.find(':') != std::string::npos;
      st.reach.address = "tcp://" + (v6 ? "[" + plan.dial_host + "]" : plan.dial_host) + ":" + std::to_string(hp);
      break;
    }
    case ReachKind::network: {
      const std::string ip = info["NetworkSettings"]["Networks"][plan.network].value("IPAddress", "");
      if (ip.empty()) throw DaemonStartError(what + " has no address on network " + plan.network, d.logs(30));
      st.reach.address = "tcp://" + ip + ":" + port.substr(0, 4);
      if (certs_later) {
        bundle = CertBundle::make(detail::cert_options(o, st.name, plan, ip));
        bundle->write_client_dir(st.cert_path);
        Archive(st.outer).put(st.id, "/", body_from_memory(detail::certs_tar(*bundle, true)));
      }
      break;
    }
    case ReachKind::tunnel:
    case ReachKind::automatic: st.reach.address = Endpoint::tunnel(st.name, kTunnelSocket).url(); break;
  }

  // Gate 2 over the very transport the caller will use: a probe client with short timeouts (while the daemon is
  // not up, docker-proxy accepts and drops connections, which fail fast).
  const auto probe_timeout = milliseconds(2000);
  Client probe = plan.kind == ReachKind::tunnel
                     ? tunnel_client(st.outer, st.id, st.name, probe_timeout)
                     : tls_client(st.reach.address, o.tls, bundle ? &*bundle : nullptr, probe_timeout);
  detail::ReadyWait wait{
      st.outer, st.id, what, port, t0 + o.start_timeout, o.start_timeout, check_cancel, [&d] { return d.logs(30); }};
  detail::wait_until_ready(wait, probe, st.reach, plan.fallback_to_tunnel,
                           [&] { return tunnel_client(st.outer, st.id, st.name, probe_timeout); });

  if (st.reach.kind == ReachKind::tunnel) {
    st.client = tunnel_client(st.outer, st.id, st.name, std::nullopt);
    st.forwarder.emplace(st.socket_path(), st.client->config().dialer, "the daemon in " + st.name);
  } else {
    st.client = tls_client(st.reach.address, o.tls, bundle ? &*bundle : nullptr, std::nullopt);
  }
  write_reach(st.dir, st.reach);
  const auto t_ready = SteadyClock::now();
  st.timings = {duration_cast<microseconds>(t_certs - t0), duration_cast<microseconds>(t_create - t_certs),
                duration_cast<microseconds>(t_start - t_create), duration_cast<microseconds>(t_ready - t_start),
                duration_cast<microseconds>(t_ready - t0)};
  return d;
}

namespace {

// The reach of a daemon made by start(), for a process other than the one that started it: its starter's final word
// (reach.json in its directory), else the plan in its labels; the address from the container as it is now.
// Throws Error naming the container when it cannot be worked out.
Reach reach_of(const nlohmann::json& info, const nlohmann::json& labels, const std::string& where) {
  Reach planned;
  planned.kind = parse_reach_kind(labels.value(kLabelReach, "loopback"));  // older daemons: the loopback port
  planned.reason = "as planned when it was started";
  const std::string dir = labels.value(kLabelDir, labels.value(kLabelCertPath, ""));
  Reach r = dir.empty() ? planned : read_reach(dir).value_or(planned);
  const bool tls = labels.value(kLabelTls, "1") == "1";
  const std::string port = detail::daemon_port(tls);
  const std::string name = labels.value(kLabelName, "");
  switch (r.kind) {
    case ReachKind::tunnel:
    case ReachKind::automatic: r.address = Endpoint::tunnel(name, kTunnelSocket).url(); break;
    case ReachKind::network: {
      const std::string net = labels.value(kLabelDialNetwork, "");
      const std::string ip =
          info["NetworkSettings"]["Networks"].value(net, nlohmann::json::object()).value("IPAddress", "");
      if (ip.empty()) throw Error(where + " has no address on network " + net + " (is it running?)");
      r.address = "tcp://" + ip + ":" + port.substr(0, 4);
      break;
    }
    case ReachKind::loopback:
    case ReachKind::published: {
      const std::string host = labels.value(kLabelDialHost, "127.0.0.1");
      const std::uint16_t hp =
          detail::published_port(info, port, r.kind == ReachKind::loopback ? "127.0.0.1" : "0.0.0.0");
      if (!hp) throw Error(where + " publishes no port " + port + " (is it running?)");
      const bool v6 = host.find(':') != std::string::npos;
      r.address = "tcp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(hp);
      break;
    }
  }
  return r;
}

}  // namespace

Daemon Daemon::attach(const std::string& name_or_id, std::optional<Client> outer) {
  auto s = std::make_unique<State>(outer ? *outer : Client::from_env());
  State& st = *s;
  const nlohmann::json info = Containers(st.outer).inspect(name_or_id);
  const nlohmann::json labels = info["Config"].value("Labels", nlohmann::json::object());
  if (!labels.is_object() || !labels.contains(kLabelSession))
    throw Error("container " + name_or_id + " on " + st.outer.host() + " was not made by dind (no " + kLabelSession +
                " label)");
  st.id = info.value("Id", "");
  st.name = labels.value(kLabelName, info.value("Name", ""));
  st.tls = labels.value(kLabelTls, "1") == "1";
  st.cert_path = labels.value(kLabelCertPath, "");
  st.dir = labels.value(kLabelDir, st.cert_path);
  const std::string where = "dind container " + st.name + " on " + st.outer.host();
  if (!info["State"].value("Running", false)) throw Error(where + " is not running");
  st.reach = reach_of(info, labels, where);
  if (st.reach.kind == ReachKind::tunnel) {
    st.client = tunnel_client(st.outer, st.id, st.name, std::nullopt);
  } else {
    std::optional<TlsConfig> tls;
    if (st.tls)
      tls = TlsConfig::from_pem(read_file(st.cert_path + "/ca.pem"), read_file(st.cert_path + "/cert.pem"),
                                read_file(st.cert_path + "/key.pem"));
    st.client = Client(ClientConfig::from_url(st.reach.address, std::move(tls)));
  }
  // Attached daemons are not removed by accident when the handle goes: `dind env` must not tear down.
  st.kept = true;
  return Daemon(std::move(s));
}

std::vector<DaemonSummary> Daemon::list(Client outer) {
  Containers containers(outer);
  std::vector<DaemonSummary> out;
  for (const auto& c : containers.list(true, {{"label", {kLabelSession, kLabelName}}})) {
    const nlohmann::json labels = c.value("Labels", nlohmann::json::object());
    DaemonSummary d;
    d.id = c.value("Id", "");
    d.name = labels.value(kLabelName, d.id.substr(0, 12));
    d.status = c.value("State", "");
    d.session = labels.value(kLabelSession, "");
    d.owner_pid = std::atoi(labels.value(kLabelOwnerPid, "0").c_str());
    d.created = std::strtoll(labels.value(kLabelCreated, "0").c_str(), nullptr, 10);
    try {
      d.reach = reach_of(containers.inspect(d.id), labels, "dind container " + d.name);
    } catch (const Error&) {
      d.reach.kind = parse_reach_kind(labels.value(kLabelReach, "loopback"));  // not running, or gone meanwhile
    }
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const DaemonSummary& a, const DaemonSummary& b) {
    return a.created != b.created ? a.created < b.created : a.name < b.name;
  });
  return out;
}

const std::string& Daemon::id() const noexcept {
  return s_->id;
}
const std::string& Daemon::name() const noexcept {
  return s_->name;
}
const std::string& Daemon::host() const noexcept {
  return s_->reach.address;
}
const Reach& Daemon::reach() const noexcept {
  return s_->reach;
}
const std::string& Daemon::cert_path() const noexcept {
  return s_->cert_path;
}
const std::string& Daemon::dir() const noexcept {
  return s_->dir;
}
bool Daemon::tls() const noexcept {
  return s_->tls;
}
Client& Daemon::outer() noexcept {
  return s_->outer;
}
const StartTimings& Daemon::timings() const noexcept {
  return s_->timings;
}
bool Daemon::removed() const noexcept {
  return s_->removed;
}

Client& Daemon::client() noexcept {
  // Only start() and attach() hand out Daemons, and both set the client.
  return *s_->client;
}

std::map<std::string, std::string> Daemon::env() const {
  if (s_->reach.kind == ReachKind::tunnel) return {{"DOCKER_HOST", "unix://" + s_->socket_path()}};
  std::map<std::string, std::string> e{{"DOCKER_HOST", s_->reach.address}};
  if (s_->tls) {
    e["DOCKER_TLS_VERIFY"] = "1";
    e["DOCKER_CERT_PATH"] = s_->cert_path;
  }
  return e;
}

void Daemon::serve_cli(const std::shared_ptr<const std::atomic<bool>>& stop) {
  State& st = *s_;
  if (st.reach.kind != ReachKind::tunnel) return;
  const std::string path = st.socket_path();
  if (::access(path.c_str(), F_OK) == 0) {
    try {  // another forwarder answers there already
      Client(ClientConfig::from_url("unix://" + path)).ping();
      return;
    } catch (const Error&) {
      ::unlink(path.c_str());  // left by one that died
    }
  }
  Forwarder f(path, client().config().dialer, "the daemon in " + st.name);
  Containers containers(st.outer);
  for (int tick = 0;; ++tick) {
    if (stop && stop->load()) return;
    if (::access(path.c_str(), F_OK) != 0) return;  // the directory went with the daemon
    if (tick % 8 == 0) {
      try {
        if (!containers.inspect(st.id)["State"].value("Running", false)) return;
      } catch (const NotFound&) {
        return;
      } catch (const Error&) {
        // the engine did not answer this time: ask again later
      }
    }
    std::this_thread::sleep_for(milliseconds(250));
  }
}

void Daemon::stop_forwarder() noexcept {
  s_->forwarder.reset();
}

std::string Daemon::logs(int tail) {
  if (s_->id.empty()) return {};
  try {
    LogsOptions lo;
    lo.tail = std::to_string(tail);
    lo.tty = false;
    FrameReader r = ContainerStreams(s_->outer).logs(s_->id, lo);
    std::string out;
    OutputChunk chunk;
    while (r.next(chunk)) out += chunk.data;
    return out;
  } catch (const Error& e) {
    return std::string("(could not read the log of ") + s_->name + ": " + e.what() + ")";
  }
}

ExecResult Daemon::exec(const std::vector<std::string>& cmd) {
  ExecConfig cfg;
  cfg.cmd = cmd;
  return Exec(s_->outer).run(s_->id, std::move(cfg));
}

std::vector<std::string> Daemon::load_images(const std::vector<std::string>& names,
                                             const std::function<void(std::uint64_t)>& progress) {
  if (names.empty()) return {};
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  std::uint64_t moved = 0;
  try {
    BodyReader saved = Images(s_->outer).save(names);
    BodySource source = [&](char* buf, std::size_t cap) -> std::size_t {
      const std::size_t n = saved.read_some(buf, cap);
      moved += n;
      if (progress && n) progress(moved);
      return n;
    };
    ProgressStream load = Images(client()).load(std::move(source), /*quiet=*/true);
    return Images::loaded_images(load.read_all());
  } catch (...) {
    rethrow_doing("loading " + all + " from " + s_->outer.host() + " into dind daemon " + s_->name + " (" +
                  s_->reach.address + ", " + std::to_string(moved) + " bytes moved)");
  }
}

void Daemon::remove(std::optional<std::chrono::seconds> graceful) {
  State& st = *s_;
  std::lock_guard<std::mutex> lock(st.mu);  // a second caller waits, then finds it removed
  if (st.removed) return;
  st.forwarder.reset();        // the docker CLI's socket goes first
  st.client.reset();           // drop pooled connections to the daemon before it goes
  std::exception_ptr failure;  // the first failure, rethrown (same kind) once everything was attempted
  if (!st.id.empty()) {
    Containers containers(st.outer);
    try {
      if (graceful) containers.stop(st.id, static_cast<int>(graceful->count()));
    } catch (const NotFound&) {
    } catch (const Error&) {
      failure = std::current_exception();  // still try to remove it by force
    }
    try {
      containers.remove(st.id, /*force=*/true, /*v=*/true);
      failure = nullptr;
    } catch (const NotFound&) {
      failure = nullptr;
    } catch (const Conflict& e) {
      // "removal already in progress": another remove (a reaper, a signal handler) is on it
      if (e.message().find("already in progress") == std::string::npos) failure = std::current_exception();
    } catch (const Error&) {
      failure = std::current_exception();
    }
  }
  if (st.owned_dir) {
    st.owned_dir->remove();
  } else if (!st.dir.empty() && st.dir.find("dind-") != std::string::npos) {
    std::error_code ec;
    std::filesystem::remove_all(st.dir, ec);
  }
  st.removed = true;
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (...) {
      rethrow_doing("removing dind container " + st.name + " from " + st.outer.host());
    }
  }
}

void Daemon::keep(bool keep) noexcept {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->kept = keep;
  if (s_->owned_dir) s_->owned_dir->keep(keep);
}

}  // namespace dind
