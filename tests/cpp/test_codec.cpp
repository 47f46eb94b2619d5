// The codec layer: demuxer, JSON-lines decoder, base64. Pure code, so every split of the input is fair game.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dind/base64.hpp"
#include "dind/demux.hpp"
#include "dind/jsonlines.hpp"

using dind::StdStream;

namespace {

std::string frame(int id, std::string_view payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string h = {
      static_cast<char>(id), 0, 0, 0, static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
      static_cast<char>(n)};
  return h + std::string(payload);
}

using Frames = std::vector<std::pair<StdStream, std::string>>;

// Feeds `data` cut at the given offsets, collecting what the demuxer emits.
Frames demux(std::string_view data, const std::vector<std::size_t>& cuts, dind::DemuxOptions opt = {}) {
  dind::Demuxer d(std::move(opt));
  Frames out;
  std::size_t prev = 0;
  auto sink = [&](StdStream s, std::string_view p) { out.emplace_back(s, std::string(p)); };
  for (std::size_t c : cuts) {
    d.feed(data.substr(prev, c - prev), sink);
    prev = c;
  }
  d.feed(data.substr(prev), sink);
  d.finish();
  return out;
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// A stream of mixed frames: empty ones, small ones, one bigger than a typical read.
std::pair<std::string, Frames> sample_stream(std::mt19937& rng) {
  std::string data;
  Frames expected;
  const std::size_t sizes[] = {0, 1, 7, 8, 9, 100, 0, 4096, 33000, 3, 150000, 0, 12};
  int i = 0;
  for (std::size_t n : sizes) {
    const int id = i++ % 3;
    std::string payload = random_bytes(rng, n);
    data += frame(id, payload);
    if (n) expected.emplace_back(static_cast<StdStream>(id), payload);
  }
  return {data, expected};
}

std::string concat(const Frames& f, StdStream s) {
  std::string out;
  for (const auto& [id, p] : f)
    if (id == s) out += p;
  return out;
}

}  // namespace

TEST(codecDemux, WholeBufferGivesFramesInOrder) {
  std::mt19937 rng(1);
  auto [data, expected] = sample_stream(rng);
  EXPECT_EQ(demux(data, {}), expected);
}

TEST(codecDemux, ByteByByteGivesTheSameFrames) {
  std::mt19937 rng(2);
  auto [data, expected] = sample_stream(rng);
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < data.size(); ++i) cuts.push_back(i);
  EXPECT_EQ(demux(data, cuts), expected);
}

TEST(codecDemux, RandomSplitsGiveTheSameFrames) {
  std::mt19937 rng(3);
  auto [data, expected] = sample_stream(rng);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::size_t> cuts;
    const std::size_t pieces = 1 + rng() % 40;
    for (std::size_t i = 0; i < pieces; ++i) cuts.push_back(rng() % (data.size() + 1));
    std::sort(cuts.begin(), cuts.end());
    ASSERT_EQ(demux(data, cuts), expected) << "round " << round;
    // Streaming mode: frame boundaries are not kept, but every stream's bytes are, in order.
    dind::DemuxOptions streaming;
    streaming.whole_frames = false;
    const Frames pieces_out = demux(data, cuts, streaming);
    for (auto s : {StdStream::in, StdStream::out, StdStream::err})
      ASSERT_EQ(concat(pieces_out, s), concat(expected, s)) << "round " << round;
  }
}

TEST(codecDemux, PayloadInsideTheBufferIsNotCopied) {
  const std::string data = frame(1, "hello") + frame(2, "world");
  dind::Demuxer d;
  int n = 0;
  d.feed(data, [&](StdStream, std::string_view p) {
    EXPECT_GE(p.data(), data.data());
    EXPECT_LE(p.data() + p.size(), data.data() + data.size());
    ++n;
  });
  EXPECT_EQ(n, 2);
}

TEST(codecDemux, Stream3IsADaemonError) {
  const std::string data = frame(1, "partial output\n") + frame(3, "exec failed: no such file\n") + frame(1, "never");
  for (bool whole : {true, false}) {
    for (std::size_t step : {std::size_t{1}, std::size_t{5}, data.size()}) {
      dind::DemuxOptions opt;
      opt.whole_frames = whole;
      opt.context = "exec in container abc";
      dind::Demuxer d(opt);
      std::string out;
      try {
        for (std::size_t i = 0; i < data.size(); i += step)
          d.feed(std::string_view(data).substr(i, step), [&](StdStream, std::string_view p) { out += p; });
        FAIL() << "no StreamError";
      } catch (const dind::StreamError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "the daemon reported an error in exec in container abc: exec failed: no such file");
      }
      EXPECT_EQ(out, "partial output\n");
      // The failure is sticky.
      EXPECT_THROW(d.feed("x", [](StdStream, std::string_view) {}), dind::StreamError);
      EXPECT_THROW(d.finish(), dind::StreamError);
    }
  }
}

TEST(codecDemux, MalformedHeaderNamesTheBytes) {
  auto error_of = [](const std::string& data) {
    dind::Demuxer d;
    try {
      d.feed(data, [](StdStream, std::string_view) {});
      d.finish();
    } catch (const dind::StreamError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string bad_id = frame(1, "ok") + frame(5, "x");
  std::string e = error_of(bad_id);
  EXPECT_NE(e.find("malformed multiplexed frame header at byte 10"), std::string::npos) << e;
  EXPECT_NE(e.find("05 00 00 00 00 00 00 01"), std::string::npos) << e;

  std::string reserved = frame(1, "ok");
  reserved[2] = 1;
  EXPECT_NE(error_of(reserved).find("01 00 01 00"), std::string::npos) << error_of(reserved);

  // A TTY stream read as multiplexed.
  e = error_of("root@host:/# ls\r\n");
  EXPECT_NE(e.find("72 6f 6f 74 40 68 6f 73"), std::string::npos) << e;
  EXPECT_NE(e.find("\"root@hos\""), std::string::npos) << e;
}

TEST(codecDemux, FrameSizeCap) {
  dind::DemuxOptions opt;
  opt.max_frame = 1024;
  dind::Demuxer d(opt);
  const std::string ok = frame(1, std::string(1024, 'a'));
  std::size_t got = 0;
  d.feed(ok, [&](StdStream, std::string_view p) { got += p.size(); });
  EXPECT_EQ(got, 1024u);
  const std::string big = frame(1, std::string(1025, 'a'));
  try {
    d.feed(big.substr(0, 8), [](StdStream, std::string_view) {});
    FAIL() << "no StreamError";
  } catch (const dind::StreamError& e) {
    EXPECT_NE(std::string(e.what()).find("declares 1025 payload bytes, more than the limit of 1024"), std::string::npos)
        << e.what();
  }
  // The default cap refuses a garbled 4 GiB length at once instead of waiting for it.
  dind::Demuxer d2;
  EXPECT_THROW(d2.feed(std::string("\x01\0\0\0\xff\xff\xff\xff", 8), [](StdStream, std::string_view) {}),
               dind::StreamError);
}

TEST(codecDemux, TruncatedStream) {
  const std::string data = frame(2, "0123456789");
  auto sink = [](StdStream, std::string_view) {};
  {
    dind::Demuxer d;
    d.feed(data.substr(0, 3), sink);
    try {
      d.finish();
      FAIL();
    } catch (const dind::StreamError& e) {
      EXPECT_NE(std::string(e.what()).find("ended inside a frame header (3 of 8 bytes)"), std::string::npos);
    }
  }
  {
    dind::Demuxer d;
    d.feed(data.substr(0, 12), sink);
    try {
      d.finish();
      FAIL();
    } catch (const dind::StreamError& e) {
      EXPECT_NE(std::string(e.what()).find("inside a stderr frame at byte 12: 6 of 10 payload bytes missing"),
                std::string::npos)
          << e.what();
    }
  }
  dind::Demuxer d;
  d.feed(data, sink);
  EXPECT_TRUE(d.at_frame_boundary());
  EXPECT_NO_THROW(d.finish());
  EXPECT_EQ(d.offset(), data.size());
}

TEST(codecDemux, RawPassthroughIsStdout) {
  dind::RawPassthrough r;
  std::string out;
  r.feed("\x05 raw tty", [&](StdStream s, std::string_view p) {
    EXPECT_EQ(s, StdStream::out);
    out += p;
  });
  r.finish();
  EXPECT_EQ(out, "\x05 raw tty");
}

// ---- JSON lines -----------------------------------------------------------------------------------------------------

namespace {

std::vector<nlohmann::json> decode_split(std::string_view text, const std::vector<std::size_t>& cuts,
                                         dind::JsonLinesOptions opt = {}) {
  dind::JsonLinesDecoder d(std::move(opt));
  std::vector<nlohmann::json> out;
  auto sink = [&](nlohmann::json&& j) { out.push_back(std::move(j)); };
  std::size_t prev = 0;
  for (std::size_t c : cuts) {
    d.feed(text.substr(prev, c - prev), sink);
    prev = c;
  }
  d.feed(text.substr(prev), sink);
  d.finish(sink);
  return out;
}

const char kProgress[] =
    "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}\r\n"
    "\r\n"
    "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1024,\"total\":2048},\"id\":\"abc\"}\n"
    "\n   \n"
    "{\"stream\":\"Step 1/2 : FROM busybox\\n\"}\r\n"
    "\x1e{\"Type\":\"container\",\"Action\":\"start\"}\n"
    "[1,2,3]\n";

}  // namespace

TEST(codecJsonLines, EverySplitGivesTheSameObjects) {
  const std::string text = kProgress;
  const auto expected = decode_split(text, {});
  ASSERT_EQ(expected.size(), 5u);
  EXPECT_EQ(expected[1]["progressDetail"]["total"], 2048);
  EXPECT_EQ(expected[2]["stream"], "Step 1/2 : FROM busybox\n");
  EXPECT_EQ(expected[3]["Action"], "start");
  for (std::size_t i = 0; i <= text.size(); ++i)
    for (std::size_t j = i; j <= text.size(); j += 7) ASSERT_EQ(decode_split(text, {i, j}), expected) << i << "," << j;
  std::vector<std::size_t> bytes;
  for (std::size_t i = 1; i < text.size(); ++i) bytes.push_back(i);
  EXPECT_EQ(decode_split(text, bytes), expected);
}

TEST(codecJsonLines, LastLineWithoutNewline) {
  const auto v = dind::decode_json_lines("{\"a\":1}\n{\"b\":2}");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1]["b"], 2);
}

TEST(codecJsonLines, ErrorDetailBecomesStreamError) {
  const std::string text =
      "{\"status\":\"Pulling\"}\n"
      "{\"errorDetail\":{\"message\":\"pull access denied for nosuch\"},\"error\":\"pull access denied for nosuch\"}\n";
  dind::JsonLinesOptions opt;
  opt.context = "pull of nosuch:latest";
  dind::JsonLinesDecoder d(opt);
  int seen = 0;
  try {
    d.feed(text, [&](nlohmann::json&&) { ++seen; });
    FAIL() << "no StreamError";
  } catch (const dind::StreamError& e) {
    EXPECT_EQ(std::string(e.what()), "pull of nosuch:latest failed: pull access denied for nosuch");
  }
  EXPECT_EQ(seen, 1);
  EXPECT_THROW(d.feed("{}\n", [](nlohmann::json&&) {}), dind::StreamError);  // sticky

  // The deprecated top-level "error" alone (older daemons, load).
  EXPECT_THROW(dind::decode_json_lines("{\"error\":\"open /x: no such file\"}\n"), dind::StreamError);
  // Optional: events carry no errorDetail, and a caller may want the raw lines anyway.
  opt.raise_on_error = false;
  const auto v = dind::decode_json_lines(text, opt);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(dind::json_stream_error(v[1]), "pull access denied for nosuch");
  EXPECT_EQ(dind::json_stream_error(v[0]), "");
}

TEST(codecJsonLines, InvalidLineNamesAnExcerpt) {
  try {
    dind::decode_json_lines("{\"ok\":1}\n<html><body>502 Bad Gateway</body></html>\n");
    FAIL();
  } catch (const dind::StreamError& e) {
    EXPECT_NE(std::string(e.what()).find("invalid JSON on line 2 of JSON stream: \"<html><body>502 Bad Gateway"),
              std::string::npos)
        << e.what();
  }
}

TEST(codecJsonLines, LineSizeCap) {
  dind::JsonLinesOptions opt;
  opt.max_line = 64;
  const std::string long_line = "{\"s\":\"" + std::string(100, 'x') + "\"}\n";
  EXPECT_THROW(decode_split(long_line, {}, opt), dind::StreamError);
  EXPECT_THROW(decode_split(long_line, {10, 20, 30, 40, 50, 60, 70}, opt), dind::StreamError);
  // A line without any newline is refused as soon as it passes the cap, not at the end.
  dind::JsonLinesDecoder d(opt);
  EXPECT_THROW(d.feed(std::string(65, ' '), [](nlohmann::json&&) {}), dind::StreamError);
  const std::string fits = "{\"s\":\"" + std::string(50, 'x') + "\"}\n";
  EXPECT_EQ(decode_split(fits + fits, {30, 60}, opt).size(), 2u);
}

// ---- base64
// -----------------------------------------------------------------------------------------------------------

TEST(codecBase64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : vectors) {
    EXPECT_EQ(dind::base64_encode(plain), enc);
    EXPECT_EQ(dind::base64url_encode(plain), enc);
    EXPECT_EQ(dind::base64_decode(enc), plain);
  }
}

TEST(codecBase64, UrlAlphabetWithPadding) {
  EXPECT_EQ(dind::base64_encode("\xfb\xff\xfe"), "+//+");
  EXPECT_EQ(dind::base64url_encode("\xfb\xff\xfe"), "-__-");
  EXPECT_EQ(dind::base64url_encode("\xfb\xff"), "-_8=");  // padded, as Go's base64.URLEncoding
  EXPECT_EQ(dind::base64_decode("-_8="), "\xfb\xff");
  EXPECT_EQ(dind::base64_decode("+/8"), "\xfb\xff");  // padding optional
  EXPECT_THROW(dind::base64_decode("Zm9v!"), dind::Error);
  EXPECT_THROW(dind::base64_decode("Zm9vY"), dind::Error);
  EXPECT_THROW(dind::base64_decode("Zg="), dind::Error);
}

TEST(codecBase64, RegistryAuthMatchesGoUrlEncoding) {
  // Expected value computed with Python's base64.urlsafe_b64encode (= Go's base64.URLEncoding); the password makes
  // the standard alphabet differ ('+' at "p>?").
  const nlohmann::json auth = {
      {"username", "user"}, {"password", "p>?~\xc3\xbc"}, {"serveraddress", "https://index.docker.io/v1/"}};
  EXPECT_EQ(
      dind::encode_registry_auth(auth),
      "eyJwYXNzd29yZCI6InA-P37DvCIsInNlcnZlcmFkZHJlc3MiOiJodHRwczovL2luZGV4LmRvY2tlci5pby92MS8iLCJ1c2VybmFtZSI6InVz"
      "ZXIifQ==");
  EXPECT_EQ(nlohmann::json::parse(dind::base64_decode(dind::encode_registry_auth(auth))), auth);
}

TEST(codecBase64, RandomRoundTrip) {
  std::mt19937 rng(7);
  for (std::size_t n = 0; n < 300; ++n) {
    const std::string s = random_bytes(rng, n);
    ASSERT_EQ(dind::base64_decode(dind::base64_encode(s)), s);
    ASSERT_EQ(dind::base64_decode(dind::base64url_encode(s)), s);
  }
}
