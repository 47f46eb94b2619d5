#include "dind/reach.hpp"

#include <cstdlib>

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

ReachPlan plan_reach(Client& engine, const ReachRequest& r) {
  const Endpoint& ep = engine.config().endpoint;
  std::string host = r.host;
  std::string host_from = "host=" + host;
  if (host.empty()) {
    if (const char* env = std::getenv("DIND_HOST"); env && *env) {
      host = env;
      host_from = "DIND_HOST=" + host;
    }
  }
  ReachPlan plan;
  auto publish = [&](ReachPlan p) {
    if (!r.tls && !is_loopback_host(p.publish_ip) && !r.insecure_publish)
      throw Error("starting a dind daemon on " + engine.host() + ": plain TCP (tls off) would be published on " +
                  p.publish_ip +
                  " of the engine's host, where anyone who reaches it controls the daemon: keep TLS, "
                  "use reach='tunnel', or allow it explicitly (insecure_publish)");
    return p;
  };

  if (!host.empty()) {
    if (r.kind == ReachKind::tunnel || r.kind == ReachKind::network)
      throw Error(std::string("starting a dind daemon: ") + host_from +
                  " names where a published port is dialled, "
                  "which cannot go with reach='" +
                  to_string(r.kind) + "'");
    plan.kind = ReachKind::published;
    plan.dial_host = host;
    plan.publish_ip = is_loopback_host(host) ? "127.0.0.1" : "0.0.0.0";
    plan.reason = host_from + " overrides: the port is published on " + plan.publish_ip +
                  " of the engine's host and "
                  "dialled at " +
                  host;
    return publish(plan);
  }

  switch (r.kind) {
    case ReachKind::loopback:
      plan = {ReachKind::loopback, "127.0.0.1", "127.0.0.1", "", false, "asked for (reach='loopback')"};
      return plan;
    case ReachKind::published: {
      const std::string at = ep.is_tcp() || ep.kind == Endpoint::Kind::Ssh ? ep.host : "127.0.0.1";
      plan = {ReachKind::published,
              "0.0.0.0",
              at,
              "",
              false,
              "asked for (reach='published'): published on all addresses of the engine's host, dialled at " + at};
      return publish(plan);
    }
    case ReachKind::tunnel:
      plan.kind = ReachKind::tunnel;
      plan.reason = "asked for (reach='tunnel')";
      return plan;
    case ReachKind::network: {
      const CallerPlace place = engine_is_plain_socket(engine) ? locate_caller(engine) : CallerPlace{};
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
    case ReachKind::automatic: break;
  }

  plan.fallback_to_tunnel = true;
  if (engine.config().dialer) {
    plan.kind = ReachKind::tunnel;
    plan.fallback_to_tunnel = false;
    plan.reason = "the engine at " + engine.host() + " is itself reached through a tunnel";
    return plan;
  }
  switch (ep.kind) {
    case Endpoint::Kind::Unix: {
      const CallerPlace place = locate_caller(engine);
      if (!place.in_container) {
        plan = {ReachKind::loopback,
                "127.0.0.1",
                "127.0.0.1",
                "",
                true,
                "this process is on the engine's host (" + engine.host() + "): a port published on 127.0.0.1"};
        return plan;
      }
      if (place.container_id.empty()) {
        plan.kind = ReachKind::tunnel;
        plan.fallback_to_tunnel = false;
        plan.reason = "this process runs in a container that the engine at " + engine.host() +
                      " does not know, so neither its loopback nor its networks are the engine's";
        return plan;
      }
      const std::string short_id = place.container_id.substr(0, 12);
      const std::string who =
          "container " + (place.container_name.empty() ? short_id : place.container_name) + " (" + short_id + ")";
      if (place.networks.size() == 1 && place.networks[0] == "host") {
        plan = {ReachKind::loopback,
                "127.0.0.1",
                "127.0.0.1",
                "",
                true,
                "this process runs in " + who + ", which shares the engine host's network: 127.0.0.1"};
        return plan;
      }
      plan.network = pick_network(place, r.network);
      if (plan.network.empty()) {
        plan.kind = ReachKind::tunnel;
        plan.fallback_to_tunnel = false;
        plan.reason = "this process runs in " + who + ", which has no network the daemon can join";
        return plan;
      }
      plan.kind = ReachKind::network;
      plan.reason = "this process runs in " + who + " of the engine at " + engine.host() + ", on network " +
                    plan.network + ": the daemon joins it and is dialled at its address there (nothing published)";
      return plan;
    }
    case Endpoint::Kind::Tcp:
      if (is_loopback_host(ep.host)) {
        plan = {ReachKind::loopback,
                "127.0.0.1",
                "127.0.0.1",
                "",
                true,
                "the engine is at " + engine.host() + ", on this host's loopback: a port published on 127.0.0.1"};
        return plan;
      }
      if (!r.tls) {
        plan.kind = ReachKind::tunnel;
        plan.fallback_to_tunnel = false;
        plan.reason = "the engine at " + engine.host() +
                      " is remote and plain TCP is never published beyond "
                      "loopback: through the engine's API instead";
        return plan;
      }
      plan = {ReachKind::published,
              "0.0.0.0",
              ep.host,
              "",
              true,
              "the engine at " + engine.host() + " is remote: the port is published on " + ep.host +
                  ", guarded by mutual TLS"};
      return plan;
    case Endpoint::Kind::Ssh:
    case Endpoint::Kind::Tunnel: break;
  }
  plan.kind = ReachKind::tunnel;
  plan.fallback_to_tunnel = false;
  plan.reason = "the engine is reached over ssh (" + engine.host() + "): its ports need not be reachable from here";
  return plan;
}

}  // namespace dind
