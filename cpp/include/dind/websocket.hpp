// Layer 4: RFC 6455 frames as a client sends and receives them, for the Kubernetes API server's exec
// (v4.channel.k8s.io). The handshake is an HTTP upgrade (dind/http.hpp); this is the framing on the stream after it.
//
// WebSocketDecoder is an incremental state machine like the Demuxer: feed it whatever arrived, in any pieces, and it
// calls `sink(opcode, payload, fin)` once per whole frame (frames are small; a frame split across feeds is gathered).
// Unmasking does not apply: a server's frames are never masked, and a masked one is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace dind::ws {

enum class Opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// A fresh Sec-WebSocket-Key (16 random bytes, base64).
std::string make_key();
// The Sec-WebSocket-Accept a server must answer `key` with.
std::string accept_for(std::string_view key);
// One final, masked client frame (a fresh random mask per frame, as clients must).
std::string encode_client_frame(Opcode op, std::string_view payload);

class WebSocketDecoder {
 public:
  using Sink = std::function<void(Opcode op, std::string_view payload, bool fin)>;
  // `context` names the stream in messages; a frame longer than `max_frame` is refused (a garbled length).
  explicit WebSocketDecoder(std::string context, std::size_t max_frame = std::size_t{16} << 20);

  // Throws StreamError for a malformed frame: reserved bits set, an unknown opcode, a masked or fragmented control
  // frame or one over 125 bytes, a masked server frame, a length over the limit. Frames before it reached the sink;
  // every later call throws the same error. A sink that throws leaves the frames after its own for the next call.
  void feed(const char* data, std::size_t n, const Sink& sink);
  // Bytes of a frame begun and not yet complete.
  std::size_t pending() const noexcept { return buf_.size(); }

 private:
  std::string context_;
  std::size_t max_frame_;
  std::string buf_;
  std::uint64_t offset_ = 0;  // stream offset of buf_'s first byte, for messages
  std::string failed_;        // the error, once one was met
};

}  // namespace dind::ws
