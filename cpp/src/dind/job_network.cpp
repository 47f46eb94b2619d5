#include "job_network.hpp"

#include <cstdio>
#include <optional>

#include "dind/networks.hpp"

namespace dind::detail {
namespace {

// An IPv4 subnet "a.b.c.d/n" as (first address, mask); nullopt for IPv6 or anything unparsable.
std::optional<std::pair<std::uint32_t, std::uint32_t>> parse_v4_subnet(const std::string& cidr) {
  unsigned a, b, c, d, n;
  char tail;
  if (std::sscanf(cidr.c_str(), "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &n, &tail) != 5 || a > 255 || b > 255 || c > 255 ||
      d > 255 || n > 32)
    return std::nullopt;
  const std::uint32_t mask = n == 0 ? 0 : ~std::uint32_t{0} << (32 - n);
  return std::make_pair(((a << 24) | (b << 16) | (c << 8) | d) & mask, mask);
}

}  // namespace

Subnets subnets_of(const nlohmann::json& networks) {
  Subnets out;
  for (const auto& n : networks) {
    const nlohmann::json ipam = n.value("IPAM", nlohmann::json::object());
    for (const auto& c : ipam.value("Config", nlohmann::json::array())) {
      if (auto s = parse_v4_subnet(c.value("Subnet", ""))) out.push_back(*s);
    }
  }
  return out;
}

namespace {

bool overlaps(const Subnets& taken, const nlohmann::json& network) {
  for (const auto& [net, mask] : subnets_of(nlohmann::json::array({network}))) {
    for (const auto& [tnet, tmask] : taken) {
      const std::uint32_t common = mask & tmask;  // the shorter prefix decides
      if ((net & common) == (tnet & common)) return true;
    }
  }
  return false;
}

}  // namespace

// Creates the job's network. Joining a running sidecar to it must not clash with the subnets its inner daemon
// already routes (its bridge often sits on the very /16 the outer engine hands out next), so subnets the outer
// engine picks that overlap `avoid` are held while it picks again, then dropped. Returns {id, name}.
std::pair<std::string, std::string> create_job_network(Client& outer, const std::string& base_name,
                                                       const std::map<std::string, std::string>& labels,
                                                       const Subnets& avoid) {
  Networks networks(outer);
  NetworkCreate net;
  net.labels = labels;
  std::vector<std::string> held;
  auto drop_held = [&] {
    for (const auto& id : held) {
      try {
        networks.remove(id);
      } catch (const Error&) {
        // labelled: reap() removes it if this fails
      }
    }
  };
  try {
    for (int attempt = 0; attempt < 16; ++attempt) {
      const std::string name = attempt == 0 ? base_name : base_name + "-" + std::to_string(attempt);
      const std::string id = networks.create(name, net).value("Id", "");
      if (avoid.empty() || !overlaps(avoid, networks.inspect(id))) {
        drop_held();
        return {id, name};
      }
      held.push_back(id);
    }
  } catch (...) {
    drop_held();
    throw;
  }
  drop_held();
  throw Error("creating the network " + base_name + " on " + outer.host() +
              ": every subnet the engine offered overlaps a network of the dind daemon inside the sidecar");
}

}  // namespace dind::detail
