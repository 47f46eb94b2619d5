#include "dind/system.hpp"

#include "dind/errors.hpp"

namespace dind {

nlohmann::json df(Client client) {
  auto r = client.request("GET", "/system/df");
  try {
    return nlohmann::json::parse(r.body);
  } catch (const nlohmann::json::exception& e) {
    throw Error("GET /system/df on " + client.host() + ": the engine's answer is not JSON: " + e.what());
  }
}

}  // namespace dind
