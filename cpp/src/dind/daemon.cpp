#include "dind/daemon.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "dind/archive.hpp"
#include "dind/certs.hpp"
#include "dind/containers.hpp"
#include "dind/images.hpp"
#include "dind/private_dir.hpp"
#include "dind/streams.hpp"
#include "dind/tar.hpp"

namespace dind {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

struct Daemon::State {
  Client outer;
  std::optional<Client> client;  // set once the daemon answered
  std::string id, name, host, cert_path;
  std::string cli_host;  // what env() hands the docker CLI: always the loopback port, whose address the cert names
  bool tls = true;
  std::optional<PrivateDir> certs;  // owned cert dir (start()); attach() only knows the path
  bool kept = false, removed = false;
  StartTimings timings;

  explicit State(Client o) : outer(std::move(o)) {}
};

namespace {

bool starts_with(const std::string& s, const std::string& p) {
  return s.compare(0, p.size(), p) == 0;
}

// Options that cannot all hold: refuse them before anything is created.
void check_options(const DaemonOptions& o) {
  if (o.image().empty()) throw Error("starting a dind daemon: no image given");
  if (!o.tls() && !o.tls_sans().empty())
    throw Error("starting a dind daemon: TLS names (tls_san) were given but TLS is off");
  for (const auto& a : o.dockerd_args()) {
    if (!starts_with(a, "-"))
      throw Error("starting a dind daemon: dockerd argument '" + a +
                  "' does not start with '-' (the image would run it as a command)");
    const bool disables = a == "--tls=false" || a == "--tlsverify=false";
    const bool enables = starts_with(a, "--tlsverify") || starts_with(a, "--tlscert") || starts_with(a, "--tlskey") ||
                         starts_with(a, "--tlscacert") || a == "--tls" || a == "--tls=true";
    if (o.tls() && disables)
      throw Error("starting a dind daemon: TLS is on but dockerd argument " + a + " turns it off (use tls(false))");
    if (!o.tls() && enables && !disables)
      throw Error("starting a dind daemon: TLS is off but dockerd argument " + a + " asks for it (use tls(true))");
    if (starts_with(a, "-H") || starts_with(a, "--host"))
      throw Error("starting a dind daemon: dockerd argument " + a + " would change the addresses the library dials");
  }
  if (o.network().empty() && !o.aliases().empty())
    throw Error("starting a dind daemon: network aliases were given without a network");
  if (!o.privileged() && o.runtime().empty())
    throw Error(
        "starting a dind daemon: privileged is off and no runtime (e.g. sysbox-runc) was given: dockerd "
        "cannot run in an unprivileged container");
}

void ensure_image(Client& outer, const DaemonOptions& o) {
  Images images(outer);
  bool present = true;
  try {
    images.inspect(o.image());
  } catch (const NotFound&) {
    present = false;
  }
  if (present && o.pull() != PullPolicy::always) return;
  if (o.pull() == PullPolicy::never)
    throw Error("the dind image " + o.image() + " is not on the engine at " + outer.host() +
                " and the pull policy is 'never' (load or build it first)");
  auto [repo, tag] = parse_repository_tag(o.image());
  try {
    images.pull(repo, tag.empty() ? "latest" : tag).read_all();
  } catch (const Error& e) {
    if (present) return;  // 'always' with a local copy: keep going with what is there
    throw Error("the dind image " + o.image() + " is not on the engine at " + outer.host() +
                " and pulling it failed: " + e.what());
  }
}

nlohmann::json create_body(const DaemonOptions& o, const std::map<std::string, std::string>& labels,
                           const std::string& name) {
  const std::string port = o.tls() ? "2376/tcp" : "2375/tcp";
  nlohmann::json cmd = nlohmann::json::array();
  // Without TLS nothing authenticates a caller: any local process that reaches the loopback port controls the daemon
  // (and, privileged, the host). The core prints no warning for it: tls(false) is an explicit choice in code, and
  // the user-facing layers warn where it can be filtered or made an error (Python: warnings.warn with
  // dind.daemon.InsecureWarning; the CLI: a stderr line on --no-tls). A raw stderr line from here would repeat theirs
  // and could not be silenced.
  if (!o.tls()) cmd.push_back("--tls=false");  // without it dockerd sleeps 15 s on a plain TCP socket
  for (const auto& a : o.dockerd_args()) cmd.push_back(a);
  nlohmann::json env = nlohmann::json::array();
  env.push_back(std::string("DOCKER_TLS_CERTDIR=") + (o.tls() ? "/certs" : ""));
  for (const auto& e : o.env()) env.push_back(e);

  nlohmann::json host_config = {{"Privileged", o.privileged()}};
  if (!o.runtime().empty()) host_config["Runtime"] = o.runtime();
  if (!o.mounts().empty()) host_config["Binds"] = o.mounts();
  // Published on loopback only: the daemon is root on its container, and nothing else on the machine needs it.
  host_config["PortBindings"] = {
      {port, {{{"HostIp", "127.0.0.1"}, {"HostPort", o.host_port() ? std::to_string(o.host_port()) : ""}}}}};
  nlohmann::json body = {{"Image", o.image()},
                         {"Cmd", cmd},
                         {"Env", env},
                         {"Labels", labels},
                         {"Hostname", name.substr(0, 63)},
                         {"ExposedPorts", {{port, nlohmann::json::object()}}},
                         {"HostConfig", host_config}};
  if (!o.network().empty()) {
    body["HostConfig"]["NetworkMode"] = o.network();
    nlohmann::json aliases = o.aliases();
    body["NetworkingConfig"] = {{"EndpointsConfig", {{o.network(), {{"Aliases", aliases}}}}}};
  }
  return body;
}

std::string text_of(const std::exception& e) {
  return e.what();
}

// The host port the engine published for the daemon's port, from an inspect.
std::uint16_t published_port(const nlohmann::json& inspect, const std::string& port) {
  const auto& ports = inspect["NetworkSettings"]["Ports"];
  if (!ports.is_object() || !ports.contains(port) || !ports[port].is_array()) return 0;
  for (const auto& b : ports[port]) {
    const std::string ip = b.value("HostIp", "");
    if (ip == "127.0.0.1" || ip.empty()) return static_cast<std::uint16_t>(std::stoi(b.value("HostPort", "0")));
  }
  return 0;
}

// `server_name`: what the cert must name when the dialled address is not in it (a container address).
Client make_client(const std::string& url, bool tls, const std::string& ca, const std::string& cert,
                   const std::string& key, std::optional<milliseconds> timeout, const std::string& server_name = {}) {
  std::optional<TlsConfig> tls_config;
  if (tls) {
    tls_config = TlsConfig::from_pem(ca, cert, key);
    tls_config->server_name = server_name;
  }
  ClientConfig cfg = ClientConfig::from_url(url, std::move(tls_config));
  if (timeout) {
    cfg.timeout = *timeout;
    cfg.connect_timeout = *timeout;
  }
  return Client(std::move(cfg));
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw TlsError("reading " + path + " failed: " + std::strerror(errno));
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

Daemon::Daemon(std::unique_ptr<State> s) noexcept : s_(std::move(s)) {}
Daemon::Daemon(Daemon&&) noexcept = default;
Daemon& Daemon::operator=(Daemon&& other) noexcept {
  if (this != &other) {
    if (s_ && !s_->kept && !s_->removed) {
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
  if (s_ && !s_->kept && !s_->removed) {
    try {
      remove();
    } catch (...) {
      // a destructor must not throw; reap() catches what is left
    }
  }
}

Daemon Daemon::start(const DaemonOptions& o) {
  check_options(o);
  const auto t0 = SteadyClock::now();
  auto s = std::make_unique<State>(o.outer() ? *o.outer() : Client::from_env());
  s->tls = o.tls();
  s->name = o.name().empty() ? unique_name("dind-") : o.name();
  // From here on `d` owns whatever exists: any throw removes the container and the cert dir.
  Daemon d(std::move(s));
  State& st = *d.s_;

  const auto check_cancel = [&](const char* step) {
    if (o.cancelled())
      throw DaemonStartError("starting dind container " + st.name + " (image " + o.image() + ") on " + st.outer.host() +
                                 " was cancelled " + step,
                             "");
  };

  ensure_image(st.outer, o);
  check_cancel("before its certificates were made");

  std::optional<CertBundle> bundle;
  if (o.tls()) {
    CertOptions copts;
    copts.dns_names.push_back(st.name);
    for (const auto& a : o.aliases()) copts.dns_names.push_back(a);
    for (const auto& san : o.tls_sans()) copts.add_san(san);
    bundle = CertBundle::make(copts);
    st.certs.emplace("dind-certs-");
    bundle->write_client_dir(st.certs->path());
    st.cert_path = st.certs->path();
  }
  const auto t_certs = SteadyClock::now();

  auto labels = session_labels(o.owner() ? *o.owner() : Owner::self());
  for (const auto& [k, v] : o.labels()) labels[k] = v;
  labels[kLabelName] = st.name;
  labels[kLabelTls] = o.tls() ? "1" : "0";
  if (!st.cert_path.empty()) labels[kLabelCertPath] = st.cert_path;

  Containers containers(st.outer);
  const std::string what = "dind container " + st.name + " (image " + o.image() + ") on " + st.outer.host();
  try {
    st.id = containers.create(create_body(o, labels, st.name), st.name).value("Id", "");
  } catch (const Conflict& e) {
    throw DaemonStartError("creating " + what + " failed: the name is taken (" + e.message() + ")", "");
  }
  if (bundle) {
    // The entrypoint finds server/{ca,cert,key}.pem without ca/key.pem and only verifies them.
    TarWriter tar;
    tar.add_directory("certs", 0755).add_directory("certs/server", 0700);
    for (const auto& f : bundle->server_files()) tar.add_bytes("certs/" + f.name, f.contents, f.mode);
    Archive(st.outer).put(st.id, "/", body_from_tar(std::move(tar)));
  }
  const auto t_create = SteadyClock::now();
  check_cancel("after it was created");

  try {
    containers.start(st.id);
  } catch (const ApiError& e) {
    std::string hint;
    const std::string& m = e.message();
    if (m.find("port is already allocated") != std::string::npos ||
        m.find("address already in use") != std::string::npos)
      hint = " (127.0.0.1:" + std::to_string(o.host_port()) +
             " is already in use: choose another port, or 0 for a free one)";
    else if (o.privileged())
      hint =
          " (the engine refused or failed to run a privileged container: check that it allows --privileged; "
          "rootless engines and some CI runners do not, where a runtime such as sysbox-runc can stand in)";
    throw DaemonStartError("starting " + what + " failed: " + m + hint, d.logs(30));
  }
  const auto t_start = SteadyClock::now();
  check_cancel("after it started");

  // Where the client dials: the published loopback port, or the container's address on the user network.
  const std::string port = o.tls() ? "2376/tcp" : "2375/tcp";
  nlohmann::json info = containers.inspect(st.id);
  if (!info["State"].value("Running", false)) {
    throw DaemonStartError(
        what + " exited (code " + std::to_string(info["State"].value("ExitCode", -1)) + ") right after it started",
        d.logs(30));
  }
  const std::uint16_t hp = published_port(info, port);
  if (!hp) throw DaemonStartError(what + ": the engine did not publish port " + port + " on 127.0.0.1", d.logs(30));
  st.cli_host = st.host = "tcp://127.0.0.1:" + std::to_string(hp);
  if (!o.network().empty()) {
    const std::string ip = info["NetworkSettings"]["Networks"][o.network()].value("IPAddress", "");
    if (ip.empty()) throw DaemonStartError(what + " has no address on network " + o.network(), d.logs(30));
    st.host = "tcp://" + ip + ":" + port.substr(0, 4);
  }

  // Gate 2: GET /_ping answers OK over the transport and TLS the caller will use. A probe client with short
  // timeouts; while the daemon is not up, docker-proxy accepts and drops connections, which fail fast.
  std::string ca, cert, key;
  if (bundle) ca = bundle->ca_cert(), cert = bundle->client_cert(), key = bundle->client_key();
  // On a user network the container address is only known now, after the certs were made: check the name instead.
  const std::string server_name = o.network().empty() ? std::string() : st.name;
  Client probe = make_client(st.host, o.tls(), ca, cert, key, milliseconds(2000), server_name);
  const auto deadline = t0 + o.start_timeout();
  auto next_state_check = SteadyClock::now();
  auto pause = milliseconds(5);
  std::string last_error = "no answer yet";
  for (;;) {
    check_cancel("while waiting for its daemon to answer");
    try {
      if (probe.ping() == "OK") break;
    } catch (const Error& e) {
      last_error = e.what();
    }
    const auto now = SteadyClock::now();
    if (now >= next_state_check) {
      // Gate 1: the container runs. If it exited, waiting longer cannot help.
      const nlohmann::json state = containers.inspect(st.id)["State"];
      if (!state.value("Running", false)) {
        throw DaemonStartError(what + " exited (code " + std::to_string(state.value("ExitCode", -1)) +
                                   ") before its daemon answered on " + st.host,
                               d.logs(30));
      }
      next_state_check = now + milliseconds(250);
    }
    if (now >= deadline) {
      throw DaemonStartError(what + ": the daemon did not answer GET /_ping on " + st.host + " within " +
                                 std::to_string(o.start_timeout().count()) + " ms; last error: " + last_error,
                             d.logs(30));
    }
    std::this_thread::sleep_for(std::min<SteadyClock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, milliseconds(50));
  }
  st.client = make_client(st.host, o.tls(), ca, cert, key, std::nullopt, server_name);
  const auto t_ready = SteadyClock::now();
  st.timings = {duration_cast<microseconds>(t_certs - t0), duration_cast<microseconds>(t_create - t_certs),
                duration_cast<microseconds>(t_start - t_create), duration_cast<microseconds>(t_ready - t_start),
                duration_cast<microseconds>(t_ready - t0)};
  return d;
}

Daemon Daemon::attach(const std::string& name_or_id, std::optional<Client> outer) {
  auto s = std::make_unique<State>(outer ? *outer : Client::from_env());
  State& st = *s;
  nlohmann::json info = Containers(st.outer).inspect(name_or_id);
  const nlohmann::json labels = info["Config"].value("Labels", nlohmann::json::object());
  if (!labels.is_object() || !labels.contains(kLabelSession))
    throw Error("container " + name_or_id + " on " + st.outer.host() + " was not made by dind (no " + kLabelSession +
                " label)");
  st.id = info.value("Id", "");
  st.name = labels.value(kLabelName, info.value("Name", ""));
  st.tls = labels.value(kLabelTls, "1") == "1";
  st.cert_path = labels.value(kLabelCertPath, "");
  const std::string port = st.tls ? "2376/tcp" : "2375/tcp";
  if (const std::uint16_t hp = published_port(info, port)) {
    st.cli_host = st.host = "tcp://127.0.0.1:" + std::to_string(hp);
  } else {
    throw Error("dind container " + st.name + " on " + st.outer.host() + " publishes no port " + port +
                " on 127.0.0.1 (is it running?)");
  }
  std::string ca, cert, key;
  if (st.tls) {
    ca = read_file(st.cert_path + "/ca.pem");
    cert = read_file(st.cert_path + "/cert.pem");
    key = read_file(st.cert_path + "/key.pem");
  }
  st.client = make_client(st.host, st.tls, ca, cert, key, std::nullopt);
  // Attached daemons are not removed by accident when the handle goes: `dind env` must not tear down.
  st.kept = true;
  return Daemon(std::move(s));
}

const std::string& Daemon::id() const noexcept {
  return s_->id;
}
const std::string& Daemon::name() const noexcept {
  return s_->name;
}
const std::string& Daemon::host() const noexcept {
  return s_->host;
}
const std::string& Daemon::cert_path() const noexcept {
  return s_->cert_path;
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
  std::map<std::string, std::string> e{{"DOCKER_HOST", s_->cli_host}};
  if (s_->tls) {
    e["DOCKER_TLS_VERIFY"] = "1";
    e["DOCKER_CERT_PATH"] = s_->cert_path;
  }
  return e;
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
  BodyReader saved = Images(s_->outer).save(names);
  std::uint64_t moved = 0;
  BodySource source = [&](char* buf, std::size_t cap) -> std::size_t {
    const std::size_t n = saved.read_some(buf, cap);
    moved += n;
    if (progress && n) progress(moved);
    return n;
  };
  ProgressStream load = Images(client()).load(std::move(source), /*quiet=*/true);
  return Images::loaded_images(load.read_all());
}

void Daemon::remove(std::optional<std::chrono::seconds> graceful) {
  State& st = *s_;
  if (st.removed) return;
  st.client.reset();  // drop pooled connections to the daemon before it goes
  std::string failure;
  if (!st.id.empty()) {
    Containers containers(st.outer);
    try {
      if (graceful) containers.stop(st.id, static_cast<int>(graceful->count()));
    } catch (const NotFound&) {
    } catch (const Error& e) {
      failure = e.what();  // still try to remove it by force
    }
    try {
      containers.remove(st.id, /*force=*/true, /*v=*/true);
      failure.clear();
    } catch (const NotFound&) {
      failure.clear();
    } catch (const Conflict& e) {
      // "removal already in progress": another remove (a reaper, a signal handler) is on it
      if (e.message().find("already in progress") == std::string::npos) failure = e.what();
    } catch (const Error& e) {
      failure = e.what();
    }
  }
  if (st.certs) {
    st.certs->remove();
  } else if (!st.cert_path.empty() && st.cert_path.find("dind-") != std::string::npos) {
    std::error_code ec;
    std::filesystem::remove_all(st.cert_path, ec);
  }
  st.removed = true;
  if (!failure.empty()) throw Error("removing dind container " + st.name + " failed: " + failure);
}

void Daemon::keep(bool keep) noexcept {
  s_->kept = keep;
  if (s_->certs) s_->certs->keep(keep);
}

}  // namespace dind
