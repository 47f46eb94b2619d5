// Private to the api layer: how the endpoint groups address the engine's routes and spell boolean query values.
#pragma once

#include <string>
#include <string_view>

#include "dind/http.hpp"

namespace dind::detail {

// "/containers/{id}{tail}", the id percent-encoded (`keep` as http::url_encode takes it).
inline std::string container_path(std::string_view id, std::string_view tail = {}, std::string_view keep = {}) {
  std::string p = "/containers/" + http::url_encode(id, keep);
  p += tail;
  return p;
}

// "/exec/{id}{tail}".
inline std::string exec_path(std::string_view id, std::string_view tail) {
  std::string p = "/exec/" + http::url_encode(id);
  p += tail;
  return p;
}

// A boolean query value as the engine reads it.
inline const char* flag(bool b) noexcept {
  return b ? "1" : "0";
}

}  // namespace dind::detail
