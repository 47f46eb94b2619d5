#include "digest.hpp"

#include <openssl/evp.h>

#include "dind/errors.hpp"

namespace dind::detail {

std::string sha256_hex(std::string_view data, const std::string& what) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1)
    throw Error("SHA-256 of " + what + " failed (OpenSSL)");
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

}  // namespace dind::detail
