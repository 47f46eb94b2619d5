// A value as error messages show it: printable ASCII kept, other bytes as \xNN (messages stay valid UTF-8 for
// Python), cut after 200 bytes (a runaway variable or file must not become a megabyte message).
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace dind::detail {

inline std::string shown(std::string_view v, std::size_t max = 200) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  if (v.size() > max) out += "... (" + std::to_string(v.size()) + " bytes)";
  return out;
}

}  // namespace dind::detail
