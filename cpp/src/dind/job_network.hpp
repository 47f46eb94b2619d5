// Private to layer 6: the network of a CI job (job.cpp), on a subnet that does not clash with the ones a shared
// sidecar's inner daemon already routes.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "dind/client.hpp"

namespace dind::detail {

// IPv4 subnets as (first address, mask).
using Subnets = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

// The IPv4 subnets of the networks in a list answer (GET /networks).
Subnets subnets_of(const nlohmann::json& networks);

// Creates the job's network, on a subnet that overlaps none of `avoid`. Returns {id, name}.
std::pair<std::string, std::string> create_job_network(Client& outer, const std::string& base_name,
                                                       const std::map<std::string, std::string>& labels,
                                                       const Subnets& avoid);

}  // namespace dind::detail
