// The `filters` query parameter of list and prune endpoints (containers, images, networks, volumes).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace dind {

// docker-py's filter shapes → the engine's JSON ({"key": ["v", ...]}): scalars become one-element lists of
// strings, bools "true"/"false", the engine's map form {"key": {"v": true}} keeps its true keys; a string passes
// through; null → "". Throws dind::Error for any other shape.
std::string encode_filters(const nlohmann::json& filters);

}  // namespace dind
