// Daemon::start, step by step: plan, prepare, create, start, find the address, wait until ready, finish. The Daemon
// being built owns whatever exists at each step, so any throw removes the container and the private directory.
#include "cache_claim.hpp"
#include "daemon_carry.hpp"
#include "daemon_reuse.hpp"
#include "daemon_spec.hpp"
#include "daemon_state.hpp"
#include "dind/archive.hpp"
#include "dind/containers.hpp"
#include "dind/credentials.hpp"
#include "dind/networks.hpp"
#include "dind/tar.hpp"
#include "dind/tunnel.hpp"
#include "kube_pod.hpp"
#include "readiness.hpp"

namespace dind {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

class DaemonStart {
 public:
  DaemonStart(const DaemonOptions& o, Daemon& d, Daemon::State& st)
      : o_(o), d_(d), st_(st), what_("dind container " + st.name + " (image " + o.image + ") on " + st.outer.host()) {}

  // A daemon of an earlier run when `reuse` finds one that serves; otherwise `d` is started.
  std::optional<Daemon> run() {
    plan();
    if (!o_.reuse.empty()) {
      const auto body = detail::create_body(spec_, plan_, {}, "", image_, certs_later_, !carried_.secret_env.empty());
      reuse_hash_ = detail::reuse_hash(o_, plan_, body);
      if (auto earlier = detail::find_reusable(st_.outer, o_, reuse_hash_, st_.reuse_note)) return earlier;
    }
    prepare();
    create();
    start_container();
    find_address();
    wait_until_ready();
    finish();
    return std::nullopt;
  }

 private:
  void check_cancel(const char* step) const {
    if (o_.cancelled()) throw DaemonStartError("starting " + what_ + " was cancelled " + step, "");
  }

  // The reach plan (before anything touches the engine: a combination that cannot hold is refused first) and the
  // image.
  void plan() {
    plan_ = plan_reach(st_.outer, {o_.reach, o_.host, o_.tls, o_.insecure_publish, o_.network});
    std::function<std::optional<nlohmann::json>()> auth;
    if (o_.credentials) auth = [this] { return detail::pull_auth(o_.image); };
    image_ = detail::ensure_image(st_.outer, o_.image, o_.pull, "dind image", auth);
    carry();
    st_.reach.kind = plan_.kind;
    st_.reach.reason = plan_.reason;
    // The network reach dials an address known only once the container runs: its certs come after the start.
    certs_later_ = o_.tls && plan_.kind == ReachKind::network;
  }

  // The private directory (a reused daemon's outlives this process, in the user's state directory, not $TMPDIR),
  // the cache, and the certs when their names are known before the create.
  void prepare() {
    check_cancel("before its certificates were made");
    owner_ = o_.owner ? *o_.owner : Owner::self();
    if (o_.reuse.empty())
      st_.owned_dir.emplace(private_dir_prefix(owner_));
    else
      st_.owned_dir.emplace("dind-reuse-", user_state_dir("reuse"));
    st_.dir = st_.owned_dir->path();
    if (!o_.cache.empty()) detail::claim_cache(st_.outer, o_.cache, "", what_);
    if (o_.tls && !certs_later_) bundle_ = CertBundle::make(detail::cert_options(o_, st_.name, plan_));
    if (o_.tls) st_.cert_path = st_.dir + "/certs";  // DOCKER_CERT_PATH holds nothing but the client's three files
    t_certs_ = SteadyClock::now();
  }

  // The settings carried from the outer engine and the caller, on top of the options (whatever they set wins).
  void carry() {
    const std::string network = !o_.network.empty()                ? o_.network
                                : plan_.kind == ReachKind::network ? plan_.network
                                                                   : "";
    carried_ = detail::carry(st_.outer, o_, network, image_);
    spec_ = o_;
    for (const auto& a : carried_.dockerd_args) spec_.dockerd_args.push_back(a);
    for (const auto& [k, v] : carried_.env) spec_.env.emplace(k, v);
  }

  std::map<std::string, std::string> labels() const {
    auto labels = session_labels(owner_, st_.outer);
    for (const auto& [k, v] : o_.labels) labels[k] = v;
    labels[kLabelName] = st_.name;
    labels[kLabelTls] = o_.tls ? "1" : "0";
    labels[kLabelDir] = st_.dir;
    labels[kLabelReach] = to_string(plan_.kind);
    if (!plan_.dial_host.empty()) labels[kLabelDialHost] = plan_.dial_host;
    if (!plan_.network.empty()) labels[kLabelDialNetwork] = plan_.network;
    if (!st_.cert_path.empty()) labels[kLabelCertPath] = st_.cert_path;
    if (!o_.reuse.empty()) {
      labels[kLabelReuse] = o_.reuse;
      labels[kLabelReuseHash] = reuse_hash_;
    }
    return labels;
  }

  // The container, recorded in its directory (for reap() and `dind down` in another process), on the networks it
  // needs, with its certs in place unless they come after the start.
  void create() {
    try {
      const bool env_file = !carried_.secret_env.empty();
      const auto body = detail::create_body(spec_, plan_, labels(), st_.name, image_, certs_later_, env_file);
      st_.id = Containers(st_.outer).create(body, st_.name).value("Id", "");
    } catch (const Conflict& e) {
      throw DaemonStartError("creating " + what_ + " failed: the name is taken (" + e.message() + ")", "");
    } catch (const ApiError& e) {
      throw DaemonStartError(
          "creating " + what_ + " failed: " + e.message() + detail::start_failure_hint(e.message(), o_, plan_), "");
    }
    write_record(st_.dir, st_.name, st_.id, st_.outer);
    if (!o_.cache.empty()) detail::claim_cache(st_.outer, o_.cache, st_.id, what_);  // a start that raced this one
    if (plan_.kind == ReachKind::network && !o_.network.empty() && plan_.network != o_.network)
      Networks(st_.outer).connect(plan_.network, st_.id);
    if (bundle_) put_certs(/*release=*/false);
    if (!carried_.secret_env.empty()) {
      TarWriter tar;
      tar.add_bytes(detail::kProxyEnvFile, carried_.secret_env, 0600);
      Archive(st_.outer).put(st_.id, "/", body_from_memory(tar.to_string()));
    }
    t_create_ = SteadyClock::now();
    check_cancel("after it was created");
  }

  void put_certs(bool release) {
    bundle_->write_client_dir(st_.cert_path);
    Archive(st_.outer).put(st_.id, "/", body_from_memory(detail::certs_tar(*bundle_, release)));
  }

  void start_container() {
    try {
      Containers(st_.outer).start(st_.id);
    } catch (const ApiError& e) {
      throw DaemonStartError(
          "starting " + what_ + " failed: " + e.message() + detail::start_failure_hint(e.message(), o_, plan_),
          d_.logs(30));
    }
    t_start_ = SteadyClock::now();
    check_cancel("after it started");
  }

  // Where the library dials, as the plan says; for the network reach, its certs now that the address is known.
  void find_address() {
    const std::string port = detail::daemon_port(o_.tls);
    const nlohmann::json info = Containers(st_.outer).inspect(st_.id);
    if (!info["State"].value("Running", false))
      throw DaemonStartError(
          what_ + " exited (code " + std::to_string(info["State"].value("ExitCode", -1)) + ") right after it started",
          d_.logs(30));
    if (plan_.kind == ReachKind::loopback || plan_.kind == ReachKind::published) {
      const std::uint16_t hp = detail::published_port(info, port, plan_.publish_ip);
      if (!hp)
        throw DaemonStartError(what_ + ": the engine did not publish port " + port + " on " + plan_.publish_ip,
                               d_.logs(30));
      const bool v6 = plan_.dial_host.find(':') != std::string::npos;
      st_.reach.address = "tcp://" + (v6 ? "[" + plan_.dial_host + "]" : plan_.dial_host) + ":" + std::to_string(hp);
    } else if (plan_.kind == ReachKind::network) {
      const std::string ip = info["NetworkSettings"]["Networks"][plan_.network].value("IPAddress", "");
      if (ip.empty()) throw DaemonStartError(what_ + " has no address on network " + plan_.network, d_.logs(30));
      st_.reach.address = "tcp://" + ip + ":" + port.substr(0, 4);
      if (certs_later_) {
        bundle_ = CertBundle::make(detail::cert_options(o_, st_.name, plan_, ip));
        put_certs(/*release=*/true);
      }
    } else {
      st_.reach.address = Endpoint::tunnel(st_.name, kTunnelSocket).url();
    }
  }

  // Gate 2 over the very transport the caller will use: a probe client with short timeouts (while the daemon is
  // not up, docker-proxy accepts and drops connections, which fail fast).
  void wait_until_ready() {
    const auto probe_timeout = milliseconds(2000);
    Client probe = plan_.kind == ReachKind::tunnel
                       ? detail::tunnel_client(st_.outer, st_.id, st_.name, probe_timeout)
                       : detail::tls_client(st_.reach.address, o_.tls, bundle_ ? &*bundle_ : nullptr, probe_timeout);
    detail::ReadyWait wait{st_.outer,
                           st_.id,
                           what_,
                           detail::daemon_port(o_.tls),
                           t0_ + o_.start_timeout,
                           o_.start_timeout,
                           [this](const char* step) { check_cancel(step); },
                           [this] { return d_.logs(30); }};
    detail::wait_until_ready(wait, probe, st_.reach, plan_.fallback_to_tunnel,
                             [&] { return detail::tunnel_client(st_.outer, st_.id, st_.name, probe_timeout); });
  }

  // The client for good, the docker CLI's forwarder through a tunnel, the final reach on disk, the timings.
  void finish() {
    if (st_.reach.kind == ReachKind::tunnel) {
      st_.client = detail::tunnel_client(st_.outer, st_.id, st_.name, std::nullopt);
      st_.forwarder.emplace(st_.socket_path(), st_.client->config().dialer, "the daemon in " + st_.name);
    } else {
      st_.client = detail::tls_client(st_.reach.address, o_.tls, bundle_ ? &*bundle_ : nullptr, std::nullopt);
    }
    if (o_.login) {
      write_docker_config(st_.docker_config(), Credentials::from_env().all());
      st_.client = detail::with_docker_config(*st_.client, st_.docker_config());
    }
    st_.client = detail::with_port_reach(*st_.client, st_.outer, st_.reach, st_.id, st_.name);
    detail::write_reach(st_.dir, st_.reach);
    if (!o_.reuse.empty()) d_.keep(true);  // for the next run: only reap(reused) or remove() ends it
    const auto t_ready = SteadyClock::now();
    st_.timings = {duration_cast<microseconds>(t_certs_ - t0_), duration_cast<microseconds>(t_create_ - t_certs_),
                   duration_cast<microseconds>(t_start_ - t_create_), duration_cast<microseconds>(t_ready - t_start_),
                   duration_cast<microseconds>(t_ready - t0_)};
  }

  const DaemonOptions& o_;
  Daemon& d_;
  Daemon::State& st_;
  const std::string what_;
  const SteadyClock::time_point t0_ = SteadyClock::now();
  SteadyClock::time_point t_certs_, t_create_, t_start_;
  ReachPlan plan_;
  nlohmann::json image_;
  detail::Carried carried_;
  DaemonOptions spec_;  // the options with what was carried
  Owner owner_;
  bool certs_later_ = false;
  std::string reuse_hash_;
  std::optional<CertBundle> bundle_;
};

Daemon Daemon::start(const DaemonOptions& o) {
  detail::check_options(o);
  auto s = std::make_unique<State>(o.outer ? *o.outer : Client::from_env());
  s->tls = o.tls;
  s->name = o.name.empty() ? unique_name("dind-") : o.name;
  Daemon d(std::move(s));
  if (o.backend == Backend::kubernetes) {
    detail::start_on_kubernetes(o, *d.s_);
    return d;
  }
  if (auto earlier = DaemonStart(o, d, *d.s_).run()) {
    earlier->s_->reused = true;
    earlier->s_->reuse_note = d.s_->reuse_note;
    return std::move(*earlier);
  }
  return d;
}

}  // namespace dind
