// Fuzzes the websocket frame decoder (the Kubernetes API server's exec stream). Invariants: the same frames and the
// same error whatever the split; a failed decoder stays failed; only StreamError. Flags: bit 0 set: max_frame =
// flags >> 1.
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "dind/websocket.hpp"
#include "split.hpp"

using namespace dind;
using namespace dind::fuzz;

namespace {

struct Run {
  std::vector<std::tuple<int, std::string, bool>> frames;
  Outcome outcome;
};

template <class Feed>
Run run(std::uint8_t flags, Feed&& feed_all) {
  Run r;
  ws::WebSocketDecoder d("fuzzed stream", (flags & 1) ? std::size_t{flags >> 1} : std::size_t{16} << 20);
  auto sink = [&](ws::Opcode op, std::string_view payload, bool fin) {
    if (static_cast<int>(op) >= 8 && (payload.size() > 125 || !fin)) broken("a bad control frame reached the sink");
    r.frames.emplace_back(static_cast<int>(op), std::string(payload), fin);
  };
  bool fed = false;
  r.outcome = outcome_of([&] {
    feed_all(d, sink);
    fed = true;
  });
  if (!r.outcome.kind.empty() && r.outcome.kind != typeid(StreamError).name())
    broken("the decoder threw something other than StreamError", r.outcome.kind + ": " + r.outcome.message);
  if (!r.outcome.kind.empty() && !fed) {
    Outcome again = outcome_of([&] { d.feed("\x82\x01x", 3, sink); });
    if (!(again == r.outcome)) broken("a failed decoder did not stay failed", again.message);
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const SplitInput in = split_input(data, size);
  const Run ref =
      run(in.flags, [&](ws::WebSocketDecoder& d, auto& sink) { d.feed(in.payload.data(), in.payload.size(), sink); });
  const Run split = run(in.flags, [&](ws::WebSocketDecoder& d, auto& sink) {
    for_each_piece(in, [&](const char* p, std::size_t n) { d.feed(p, n, sink); });
  });
  if (!(split.outcome == ref.outcome))
    broken("the split changed the error", ref.outcome.message + " | " + split.outcome.message);
  if (split.frames != ref.frames) broken("the split changed the frames");
  return 0;
}
