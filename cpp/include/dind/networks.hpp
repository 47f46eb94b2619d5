// Layer 5: the networks endpoint group (/networks). JSON in and out, as the Engine API gives it.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dind/client.hpp"

namespace dind {

// The body of POST /networks/create, by docker-py's create_network() names. Unset fields are left out of the
// body so that the engine's defaults apply.
struct NetworkCreate {
  std::string driver;                          // empty: the engine's default ("bridge")
  std::map<std::string, std::string> options;  // driver options
  nlohmann::json ipam;  // {"Driver": ..., "Config": [{"Subnet": ...}], "Options": ...}; null: default
  std::optional<bool> check_duplicate;
  bool internal = false;
  std::map<std::string, std::string> labels;
  bool enable_ipv6 = false;
  std::optional<bool> attachable;
  std::optional<bool> ingress;
  std::string scope;  // "local", "global", "swarm"; empty: default
  // Merged into the body last, for fields this struct does not name (e.g. "ConfigFrom").
  nlohmann::json extra = nlohmann::json::object();

  // The JSON body for `name`.
  nlohmann::json body(const std::string& name) const;
};

// The EndpointConfig of POST /networks/{id}/connect, by docker-py's connect_container_to_network() names.
struct NetworkEndpoint {
  std::vector<std::string> aliases;
  std::vector<std::string> links;  // "name" or "name:alias"
  std::string ipv4_address, ipv6_address;
  std::vector<std::string> link_local_ips;
  std::map<std::string, std::string> driver_opt;
  std::string mac_address;

  nlohmann::json body() const;  // {} when nothing is set
};

class Networks {
 public:
  explicit Networks(Client client) : client_(std::move(client)) {}

  // POST /networks/create → {"Id": ..., "Warning": ...}. A taken name gives Conflict.
  nlohmann::json create(const std::string& name, const NetworkCreate& options = {});
  // POST /networks/create with a body given whole (it must contain "Name").
  nlohmann::json create(const nlohmann::json& body);
  // GET /networks/{id} (id, name or a unique id prefix); NotFound if absent.
  nlohmann::json inspect(const std::string& id, std::optional<bool> verbose = std::nullopt,
                         const std::string& scope = {});
  // GET /networks → an array; `filters` as dind::encode_filters() (filters.hpp) takes them (null or {}: all).
  nlohmann::json list(const nlohmann::json& filters = nullptr);
  // POST /networks/{id}/connect.
  void connect(const std::string& network, const std::string& container, const NetworkEndpoint& endpoint = {});
  // POST /networks/{id}/disconnect.
  void disconnect(const std::string& network, const std::string& container, bool force = false);
  // DELETE /networks/{id}.
  void remove(const std::string& id);
  // POST /networks/prune → {"NetworksDeleted": [...]}.
  nlohmann::json prune(const nlohmann::json& filters = nullptr);

  const Client& client() const noexcept { return client_; }

 private:
  Client client_;
};

}  // namespace dind
