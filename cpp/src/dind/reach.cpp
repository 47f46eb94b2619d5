#include "dind/reach.hpp"

#include <cstdlib>
#include <string>
#include <utility>

#include "dind/containers.hpp"

namespace dind {
namespace {

bool engine_is_plain_socket(const Client& engine) {
  return engine.config().endpoint.is_unix() && !engine.config().dialer;
}

// The network of the caller's to put the daemon on: the one the daemon joins anyway if the caller is on it, else a
// user-defined one (names resolve there too), else the default bridge.
std::string pick_network(const CallerPlace& place, const std::string& preferred) {
  std::string pick;
  for (const auto& n : place.networks) {
    if (n == preferred) return n;
    if (n == "none" || n == "host") continue;
    if (pick.empty() || (pick == "bridge" && n != "bridge")) pick = n;
  }
  return pick;
}

}  // namespace

const char* to_string(ReachKind kind) noexcept {
  switch (kind) {
    case ReachKind::automatic: return "auto";
    case ReachKind::loopback: return "loopback";
    case ReachKind::network: return "network";
    case ReachKind::published: return "published";
    case ReachKind::tunnel: return "tunnel";
  }
  return "?";
}

ReachKind parse_reach_kind(const std::string& name) {
  for (ReachKind k :
       {ReachKind::automatic, ReachKind::loopback, ReachKind::network, ReachKind::published, ReachKind::tunnel})
    if (name == to_string(k)) return k;
  throw Error("unknown reach \"" + name.substr(0, 100) + "\" (expected auto, loopback, network, published or tunnel)");
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

CallerPlace locate_caller(Client& engine) {
  CallerPlace place;
  // Not /.dockerenv: machines built from container images keep it (this project's test machines do). Without an id,
  // the loopback is tried, and an unreachable one falls back to the tunnel.
  const auto id = own_container_id();
  place.in_container = id.has_value();
  if (!id) return place;
  Containers containers(engine);
  nlohmann::json info;
  try {
    info = containers.inspect(*id);
  } catch (const NotFound&) {
    return place;  // a container of another engine: its addresses are not this engine's
  }
  place.container_id = info.value("Id", *id);
  place.container_name = info.value("Name", "");
  if (!place.container_name.empty() && place.container_name[0] == '/') place.container_name.erase(0, 1);
  std::string mode = info["HostConfig"].value("NetworkMode", "");
  if (mode.rfind("container:", 0) == 0) {  // it shares another container's network namespace
    try {
      info = containers.inspect(mode.substr(10));
      mode = info["HostConfig"].value("NetworkMode", "");
    } catch (const NotFound&) {
      return place;
    }
  }
  if (mode == "host") {
    place.networks = {"host"};
    return place;
  }
  const auto nets = info["NetworkSettings"].value("Networks", nlohmann::json::object());
  for (auto it = nets.begin(); it != nets.end(); ++it) place.networks.push_back(it.key());
  return place;
}

namespace {

ReachPlan loopback_plan(std::string reason, bool fallback) {
  return {ReachKind::loopback, "127.0.0.1", "127.0.0.1", "", fallback, std::move(reason)};
}

// The tunnel needs no address, so it is never a fallback of itself.
ReachPlan tunnel_plan(std::string reason) {
  ReachPlan plan;
  plan.kind = ReachKind::tunnel;
  plan.reason = std::move(reason);
  return plan;
}

// Plain TCP is published beyond loopback only when the caller allowed it in words.
ReachPlan checked_publish(const Client& engine, const ReachRequest& r, ReachPlan p) {
  if (!r.tls && !is_loopback_host(p.publish_ip) && !r.insecure_publish)
    throw Error("starting a dind daemon on " + engine.host() + ": plain TCP (tls off) would be published on " +
                p.publish_ip +
                " of the engine's host, where anyone who reaches it controls the daemon: keep TLS, "
                "use reach='tunnel', or allow it explicitly (insecure_publish)");
  return p;
}

// host= (or DIND_HOST) names where a published port is dialled; it wins over every automatic choice.
ReachPlan override_plan(const Client& engine, const ReachRequest& r, const std::string& host,
                        const std::string& host_from) {
  if (r.kind == ReachKind::tunnel || r.kind == ReachKind::network)
    throw Error(std::string("starting a dind daemon: ") + host_from +
                " names where a published port is dialled, which cannot go with reach='" + to_string(r.kind) + "'");
  ReachPlan plan;
  plan.kind = ReachKind::published;
  plan.dial_host = host;
  plan.publish_ip = is_loopback_host(host) ? "127.0.0.1" : "0.0.0.0";
  plan.reason = host_from + " overrides: the port is published on " + plan.publish_ip +
                " of the engine's host and dialled at " + host;
  return checked_publish(engine, r, plan);
}

// A reach the caller named: no fallback, and a network reach fails here when there is no network to join.
ReachPlan asked_plan(Client& engine, const ReachRequest& r) {
  const Endpoint& ep = engine.config().endpoint;
  switch (r.kind) {
    case ReachKind::loopback: return loopback_plan("asked for (reach='loopback')", false);
    case ReachKind::published: {
      const std::string at = ep.is_tcp() || ep.kind == Endpoint::Kind::Ssh ? ep.host : "127.0.0.1";
      ReachPlan plan{
          ReachKind::published,
          "0.0.0.0",
          at,
          "",
          false,
          "asked for (reach='published'): published on all addresses of the engine's host, dialled at " + at};
      return checked_publish(engine, r, plan);
    }
    case ReachKind::tunnel: return tunnel_plan("asked for (reach='tunnel')");
    case ReachKind::network:
    case ReachKind::automatic: break;
  }
  const CallerPlace place = engine_is_plain_socket(engine) ? locate_caller(engine) : CallerPlace{};
  ReachPlan plan;
  plan.kind = ReachKind::network;
  plan.network = place.container_id.empty() ? r.network : pick_network(place, r.network);
  if (plan.network.empty())
    throw Error(
        "starting a dind daemon: reach='network' needs a network to dial the daemon on, but this process "
        "is not in a container of the engine at " +
        engine.host() + " and no network was given");
  plan.reason = "asked for (reach='network'): dialled at its address on network " + plan.network;
  return plan;
}

// The engine's own unix socket: the caller is on its host, in one of its containers, or in a container it does not
// know.
ReachPlan unix_socket_plan(Client& engine, const ReachRequest& r) {
  const CallerPlace place = locate_caller(engine);
  if (!place.in_container)
    return loopback_plan("this process is on the engine's host (" + engine.host() + "): a port published on 127.0.0.1",
                         true);
  if (place.container_id.empty())
    return tunnel_plan("this process runs in a container that the engine at " + engine.host() +
                       " does not know, so neither its loopback nor its networks are the engine's");
  const std::string short_id = place.container_id.substr(0, 12);
  const std::string who =
      "container " + (place.container_name.empty() ? short_id : place.container_name) + " (" + short_id + ")";
  if (place.networks.size() == 1 && place.networks[0] == "host")
    return loopback_plan("this process runs in " + who + ", which shares the engine host's network: 127.0.0.1", true);
  ReachPlan plan;
  plan.network = pick_network(place, r.network);
  if (plan.network.empty())
    return tunnel_plan("this process runs in " + who + ", which has no network the daemon can join");
  plan.kind = ReachKind::network;
  plan.fallback_to_tunnel = true;
  plan.reason = "this process runs in " + who + " of the engine at " + engine.host() + ", on network " + plan.network +
                ": the daemon joins it and is dialled at its address there (nothing published)";
  return plan;
}

ReachPlan tcp_plan(const Client& engine, const ReachRequest& r) {
  const Endpoint& ep = engine.config().endpoint;
  if (is_loopback_host(ep.host))
    return loopback_plan(
        "the engine is at " + engine.host() + ", on this host's loopback: a port published on 127.0.0.1", true);
  if (!r.tls)
    return tunnel_plan("the engine at " + engine.host() +
                       " is remote and plain TCP is never published beyond loopback: through the engine's API instead");
  return {
      ReachKind::published,
      "0.0.0.0",
      ep.host,
      "",
      true,
      "the engine at " + engine.host() + " is remote: the port is published on " + ep.host + ", guarded by mutual TLS"};
}

// Chosen from the engine's endpoint and where this process stands; an address chosen here falls back to the tunnel
// if it does not answer.
ReachPlan automatic_plan(Client& engine, const ReachRequest& r) {
  if (engine.config().dialer)
    return tunnel_plan("the engine at " + engine.host() + " is itself reached through a tunnel");
  switch (engine.config().endpoint.kind) {
    case Endpoint::Kind::Unix: return unix_socket_plan(engine, r);
    case Endpoint::Kind::Tcp: return tcp_plan(engine, r);
    case Endpoint::Kind::Ssh:
    case Endpoint::Kind::Tunnel: break;
  }
  return tunnel_plan("the engine is reached over ssh (" + engine.host() +
                     "): its ports need not be reachable from here");
}

}  // namespace

ReachPlan plan_reach(Client& engine, const ReachRequest& r) {
  if (!r.host.empty()) return override_plan(engine, r, r.host, "host=" + r.host);
  if (const char* env = std::getenv("DIND_HOST"); env && *env)
    return override_plan(engine, r, env, std::string("DIND_HOST=") + env);
  if (r.kind != ReachKind::automatic) return asked_plan(engine, r);
  return automatic_plan(engine, r);
}

}  // namespace dind
