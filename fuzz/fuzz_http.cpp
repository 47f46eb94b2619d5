// Fuzzes the HTTP response side as exchange()/upgrade() run it (Beast's parser behind http::read_response): the head,
// the body framing (chunked, Content-Length, to EOF) and an upgrade (101/200) with bytes after the head. The payload
// arrives through a fake socket in the pieces the input says. Invariants: the same status, headers, body, raw stream
// and error whatever the split; a body that ends early is an error, never a short success; only ConnectionError,
// StreamError or TlsError. Flags: bit 0 upgrade, bit 1 HEAD request, bits 2-3 the reader's buffer (1, 7, 4096 or
// 65536 bytes).
#include <strings.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "dind/http.hpp"
#include "split.hpp"

using namespace dind;
using namespace dind::fuzz;

namespace {

struct Run {
  int status = 0;
  std::string reason;
  Headers headers;
  bool upgraded = false;
  std::string body;  // the body, or the raw stream after an upgrade
  Outcome outcome;
};

constexpr std::size_t kReadSizes[4] = {1, 7, 4096, 64 * 1024};
constexpr std::size_t kMaxBody = 1 << 20;

// A fake socket: hands out the pieces in order, never more than asked for, then EOF.
struct Pieces {
  std::deque<std::vector<char>> q;
  std::size_t pos = 0;
  std::size_t read(char* buf, std::size_t n) {
    if (q.empty() || n == 0) return 0;
    const std::size_t k = std::min(n, q.front().size() - pos);
    std::memcpy(buf, q.front().data() + pos, k);
    pos += k;
    if (pos == q.front().size()) q.pop_front(), pos = 0;
    return k;
  }
};

Run run(const SplitInput& in, std::vector<std::vector<char>> pieces) {
  const bool upgrade = in.flags & 1;
  const bool head_request = in.flags & 2;
  const std::size_t read_size = kReadSizes[(in.flags >> 2) & 3];
  auto src = std::make_shared<Pieces>();
  src->q.assign(std::make_move_iterator(pieces.begin()), std::make_move_iterator(pieces.end()));
  Run r;
  r.outcome = outcome_of([&] {
    auto [stream, reader] = http::read_response([src](char* b, std::size_t n) { return src->read(b, n); }, upgrade,
                                                head_request, "GET /fuzz");
    if (stream.has_value() == reader.has_value()) broken("read_response() must give exactly one of stream/reader");
    std::vector<char> buf(read_size);
    if (stream) {
      r.upgraded = true;
      r.status = stream->status();
      r.headers = stream->headers();
      while (std::size_t n = stream->read_some(buf.data(), buf.size())) {
        if (n > buf.size()) broken("UpgradedStream::read_some returned more than asked");
        r.body.append(buf.data(), n);
      }
      return;
    }
    r.status = reader->status();
    r.reason = reader->reason();
    r.headers = reader->headers();
    while (std::size_t n = reader->read_some(buf.data(), buf.size())) {
      if (n > buf.size()) broken("BodyReader::read_some returned more than asked");
      r.body.append(buf.data(), n);
      if (r.body.size() > kMaxBody) broken("a body larger than the input");
    }
    if (!reader->done()) broken("read_some() returned 0 but the body is not done");
    if (reader->read_some(buf.data(), buf.size()) != 0) broken("a finished body gave more bytes");
  });
  const std::string& k = r.outcome.kind;
  if (!k.empty() && k != typeid(StreamError).name() && k != typeid(ConnectionError).name() &&
      k != typeid(TlsError).name())
    broken("the HTTP layer threw an unexpected error type", k + ": " + r.outcome.message);
  return r;
}

// A successful body with a valid single Content-Length must have exactly that length (no short success).
void check_content_length(const SplitInput& in, const Run& r) {
  if (!r.outcome.kind.empty() || r.upgraded || (in.flags & 2)) return;
  if (r.status / 100 == 1 || r.status == 204 || r.status == 304) return;
  const std::string* cl = nullptr;
  for (const auto& h : r.headers) {
    if (h.first.size() == 14 && strncasecmp(h.first.c_str(), "content-length", 14) == 0) {
      if (cl) return;  // several: Beast's rules decide, nothing to check here
      cl = &h.second;
    }
    if (h.first.size() == 17 && strncasecmp(h.first.c_str(), "transfer-encoding", 17) == 0) return;
  }
  if (!cl || cl->empty() || cl->size() > 7 || cl->find_first_not_of("0123456789") != std::string::npos) return;
  if (r.body.size() != std::stoul(*cl)) broken("a successful body does not match its Content-Length", *cl);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const SplitInput in = split_input(data, size);
  std::vector<std::vector<char>> whole;
  if (!in.payload.empty()) whole.emplace_back(in.payload.begin(), in.payload.end());
  const Run ref = run(in, std::move(whole));
  check_content_length(in, ref);
  const Run split = run(in, pieces(in));
  if (!(split.outcome == ref.outcome))
    broken("the split changed the error", ref.outcome.message + " | " + split.outcome.message);
  if (split.status != ref.status || split.reason != ref.reason || split.headers != ref.headers ||
      split.upgraded != ref.upgraded || split.body != ref.body)
    broken("the split changed the response");
  return 0;
}
