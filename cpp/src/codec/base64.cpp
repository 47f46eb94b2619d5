#include "dind/base64.hpp"

#include <array>
#include <cstdint>

#include "dind/errors.hpp"

namespace dind {

namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view in, const char* alphabet) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (const std::size_t rest = in.size() - i; rest) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (rest == 2 ? std::uint32_t{p[i + 1]} << 8 : 0);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

constexpr std::array<signed char, 256> make_decode_table() {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) {
    t[static_cast<unsigned char>(kStd[i])] = static_cast<signed char>(i);
    t[static_cast<unsigned char>(kUrl[i])] = static_cast<signed char>(i);
  }
  return t;
}
constexpr auto kDecode = make_decode_table();

}  // namespace

std::string base64_encode(std::string_view data) {
  return encode(data, kStd);
}
std::string base64url_encode(std::string_view data) {
  return encode(data, kUrl);
}

std::string base64_decode(std::string_view text) {
  std::string_view body = text;
  std::size_t pad = 0;
  while (!body.empty() && body.back() == '=' && pad < 2) {
    body.remove_suffix(1);
    ++pad;
  }
  if (body.size() % 4 == 1 || (pad && (body.size() + pad) % 4 != 0))
    throw Error("cannot decode base64: bad length " + std::to_string(text.size()) + " of \"" +
                std::string(text.substr(0, 40)) + "\"");
  std::string out;
  out.reserve(body.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const signed char v = kDecode[static_cast<unsigned char>(body[i])];
    if (v < 0)
      throw Error("cannot decode base64: invalid character at offset " + std::to_string(i) + " of \"" +
                  std::string(text.substr(0, 40)) + "\"");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string encode_registry_auth(const nlohmann::json& auth_config) {
  return base64url_encode(auth_config.dump());
}

}  // namespace dind
