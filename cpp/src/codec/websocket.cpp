#include "dind/websocket.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

#include "dind/base64.hpp"
#include "dind/errors.hpp"

namespace dind::ws {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455, section 1.3

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw Error("websocket: no random bytes from OpenSSL for a key or mask");
  return out;
}

bool known(std::uint8_t op) {
  return op <= 2 || (op >= 8 && op <= 10);
}

}  // namespace

std::string make_key() {
  return base64_encode(random_bytes(16));
}

std::string accept_for(std::string_view key) {
  std::string in(key);
  in.append(kGuid);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(in.data(), in.size(), md.data(), &len, EVP_sha1(), nullptr) != 1)
    throw Error("websocket: SHA-1 failed for Sec-WebSocket-Accept");
  return base64_encode(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

std::string encode_client_frame(Opcode op, std::string_view payload) {
  std::string f;
  f.reserve(payload.size() + 14);
  f.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(op)));
  const std::uint64_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  }
  const std::string mask = random_bytes(4);
  f.append(mask);
  const std::size_t start = f.size();
  f.append(payload);
  for (std::size_t i = 0; i < n; ++i) f[start + i] = static_cast<char>(f[start + i] ^ mask[i & 3]);
  return f;
}

WebSocketDecoder::WebSocketDecoder(std::string context, std::size_t max_frame)
    : context_(std::move(context)), max_frame_(max_frame) {}

void WebSocketDecoder::feed(const char* data, std::size_t n, const Sink& sink) {
  if (!failed_.empty()) throw StreamError(failed_);  // a broken stream stays broken
  buf_.append(data, n);
  std::size_t pos = 0;
  auto bad = [&](const std::string& why) {
    failed_ = context_ + ": malformed websocket frame at byte " + std::to_string(offset_ + pos) + ": " + why;
    throw StreamError(failed_);
  };
  // What the sink got is gone from the buffer however the loop ends (a sink that throws included).
  struct Consumed {
    WebSocketDecoder& d;
    std::size_t& pos;
    ~Consumed() {
      d.offset_ += pos;
      d.buf_.erase(0, pos);
    }
  } consumed{*this, pos};
  for (;;) {
    const std::size_t avail = buf_.size() - pos;
    if (avail < 2) break;
    const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos);
    const bool fin = p[0] & 0x80;
    const std::uint8_t op = p[0] & 0x0F;
    if (p[0] & 0x70) bad("reserved bits set (no extension was negotiated)");
    if (!known(op)) bad("unknown opcode " + std::to_string(op));
    if (p[1] & 0x80) bad("a server's frame is masked");
    std::uint64_t len = p[1] & 0x7F;
    std::size_t head = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (std::uint64_t{p[2]} << 8) | p[3];
      head = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      head = 10;
    }
    if (op >= 8 && (len > 125 || !fin)) bad("a control frame is fragmented or longer than 125 bytes");
    if (len > max_frame_)
      bad("a frame of " + std::to_string(len) + " bytes, over the limit of " + std::to_string(max_frame_));
    if (avail - head < len) break;
    const std::string_view payload(buf_.data() + pos + head, static_cast<std::size_t>(len));
    pos += head + static_cast<std::size_t>(len);
    sink(static_cast<Opcode>(op), payload, fin);
  }
}

}  // namespace dind::ws
