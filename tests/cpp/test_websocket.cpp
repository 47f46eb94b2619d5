// The websocket framing of the Kubernetes exec stream (dind/websocket.hpp): frames a client writes, frames a server
// sends, in any pieces, and the malformed ones refused.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "dind/errors.hpp"
#include "dind/websocket.hpp"

using namespace dind;

namespace {

using Frames = std::vector<std::tuple<ws::Opcode, std::string, bool>>;

// A server frame (never masked) of `payload`, with the length in the form the RFC asks for.
std::string server_frame(ws::Opcode op, const std::string& payload, bool fin = true) {
  std::string f(1, static_cast<char>((fin ? 0x80 : 0) | static_cast<int>(op)));
  const std::size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    f.push_back(126);
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(127);
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xFF));
  }
  return f + payload;
}

Frames decode(const std::string& bytes, std::size_t piece) {
  ws::WebSocketDecoder d("test stream");
  Frames out;
  for (std::size_t i = 0; i < bytes.size(); i += piece)
    d.feed(bytes.data() + i, std::min(piece, bytes.size() - i),
           [&](ws::Opcode op, std::string_view p, bool fin) { out.emplace_back(op, std::string(p), fin); });
  EXPECT_EQ(d.pending(), 0u);
  return out;
}

}  // namespace

TEST(WebSocket, AcceptIsTheRfcExample) {
  // RFC 6455, section 1.3.
  EXPECT_EQ(ws::accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(ws::make_key().size(), 24u);
  EXPECT_NE(ws::make_key(), ws::make_key());
}

TEST(WebSocket, ClientFramesAreMaskedAndCarryEveryLengthForm) {
  for (std::size_t n : {0u, 5u, 125u, 126u, 65535u, 65536u, 200000u}) {
    const std::string payload(n, 'q');
    const std::string f = ws::encode_client_frame(ws::Opcode::binary, payload);
    const auto* u = reinterpret_cast<const unsigned char*>(f.data());
    EXPECT_EQ(u[0], 0x82);
    EXPECT_TRUE(u[1] & 0x80) << "a client frame must be masked";
    const std::size_t head = n < 126 ? 2 : n <= 0xFFFF ? 4 : 10;
    ASSERT_EQ(f.size(), head + 4 + n);
    const std::string mask = f.substr(head, 4);
    std::string unmasked = f.substr(head + 4);
    for (std::size_t i = 0; i < unmasked.size(); ++i) unmasked[i] = static_cast<char>(unmasked[i] ^ mask[i & 3]);
    EXPECT_EQ(unmasked, payload);
  }
}

TEST(WebSocket, ServerFramesDecodeTheSameInAnyPieces) {
  const std::string big(70000, 'b');
  const std::string bytes = server_frame(ws::Opcode::binary, std::string("\1hello")) +
                            server_frame(ws::Opcode::binary, "\2" + std::string(300, 'e')) +
                            server_frame(ws::Opcode::binary, "\1" + big) + server_frame(ws::Opcode::ping, "") +
                            server_frame(ws::Opcode::close, "\x03\xe8");
  const Frames whole = decode(bytes, bytes.size());
  ASSERT_EQ(whole.size(), 5u);
  EXPECT_EQ(std::get<1>(whole[0]), "\1hello");
  EXPECT_EQ(std::get<1>(whole[2]).size(), big.size() + 1);
  EXPECT_EQ(std::get<0>(whole[4]), ws::Opcode::close);
  for (std::size_t piece : {1u, 2u, 3u, 7u, 4096u}) EXPECT_EQ(decode(bytes, piece), whole) << "pieces of " << piece;
}

TEST(WebSocket, MalformedFramesAreRefusedAndStayRefused) {
  struct Case {
    std::string bytes, says;
  };
  const std::vector<Case> cases = {
      {"\xC2\x01x", "reserved bits"},
      {"\x83\x01x", "unknown opcode 3"},
      {"\x82\x81mask", "masked"},
      {server_frame(ws::Opcode::ping, std::string(126, 'p')), "control frame"},
      {server_frame(ws::Opcode::close, "", false), "control frame"},
      {"\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", "over the limit"},
  };
  for (const auto& c : cases) {
    ws::WebSocketDecoder d("the exec in pod ns/p");
    int frames = 0;
    auto sink = [&](ws::Opcode, std::string_view, bool) { ++frames; };
    const std::string good = server_frame(ws::Opcode::binary, "\1ok");
    try {
      d.feed((good + c.bytes).data(), good.size() + c.bytes.size(), sink);
      ADD_FAILURE() << "no error for " << c.says;
    } catch (const StreamError& e) {
      EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("the exec in pod ns/p"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("at byte 5"), std::string::npos) << e.what();
    }
    EXPECT_EQ(frames, 1) << "the good frame before it reached the sink";
    EXPECT_THROW(d.feed(good.data(), good.size(), sink), StreamError);
    EXPECT_EQ(frames, 1);
  }
}
