#include "dind/system.hpp"

#include "api/request_json.hpp"

namespace dind {

nlohmann::json df(Client client) {
  return detail::request_json(client, "GET", "/system/df");
}

}  // namespace dind
