// Layer 5: system endpoints beyond Client's own ping/version/info.
#pragma once

#include <nlohmann/json.hpp>

#include "dind/client.hpp"

namespace dind {

// GET /system/df: data usage of images, containers, volumes and the build cache. It walks every layer and volume,
// so it gets no more than the client's unary timeout like any other call, but may be slow on a busy engine.
nlohmann::json df(Client client);

}  // namespace dind
