// Layer 5: the volumes endpoint group (/volumes). JSON in and out, as the Engine API gives it.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "dind/client.hpp"

namespace dind {

class Volumes {
 public:
  explicit Volumes(Client client) : client_(std::move(client)) {}

  // POST /volumes/create → the volume. An empty name lets the engine make one up; an empty driver means "local".
  nlohmann::json create(const std::string& name = {}, const std::string& driver = {},
                        const std::map<std::string, std::string>& driver_opts = {},
                        const std::map<std::string, std::string>& labels = {});
  // GET /volumes/{name}; NotFound if absent.
  nlohmann::json inspect(const std::string& name);
  // GET /volumes → {"Volumes": [...] or null, "Warnings": ...}; filters as dind::encode_filters() (filters.hpp) takes
  // them.
  nlohmann::json list(const nlohmann::json& filters = nullptr);
  // DELETE /volumes/{name}; Conflict while a container uses it.
  void remove(const std::string& name, bool force = false);
  // POST /volumes/prune → {"VolumesDeleted": [...], "SpaceReclaimed": n}.
  nlohmann::json prune(const nlohmann::json& filters = nullptr);

  const Client& client() const noexcept { return client_; }

 private:
  Client client_;
};

}  // namespace dind
