// Layer 0: the SHA-256 of a string, in lower-case hex (docker context directories, reuse hashes).
#pragma once

#include <string>
#include <string_view>

namespace dind::detail {

// Throws Error naming `what` if OpenSSL fails.
std::string sha256_hex(std::string_view data, const std::string& what);

}  // namespace dind::detail
