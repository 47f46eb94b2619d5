// Private to the api layer: a unary call whose answer is JSON, parsed one way for every endpoint group.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "dind/client.hpp"

namespace dind::detail {

// client.request(method, path, query, body) and its body as JSON; `if_empty` when the engine sent no body. A body
// that is not JSON throws Error naming the call: "GET /info on unix:///var/run/docker.sock: the engine's answer is
// not JSON (...)".
nlohmann::json request_json(Client& client, std::string_view method, std::string_view path, const Query& query = {},
                            const std::optional<Body>& body = std::nullopt, nlohmann::json if_empty = nullptr);

}  // namespace dind::detail
