#include "api/request_json.hpp"

#include <string>

#include "dind/errors.hpp"

namespace dind::detail {

nlohmann::json request_json(Client& client, std::string_view method, std::string_view path, const Query& query,
                            const std::optional<Body>& body, nlohmann::json if_empty) {
  const Response r = client.request(method, path, query, body);
  if (r.body.empty()) return if_empty;
  try {
    return nlohmann::json::parse(r.body);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string(method) + " " + std::string(path) + " on " + client.host() +
                ": the engine's answer is not JSON (" + e.what() + ")");
  }
}

}  // namespace dind::detail
