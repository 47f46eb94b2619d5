// Fuzzes the multiplexed-stream demuxer (attach, exec, logs). Invariants: the same frames and the same error whatever
// the split; piece-by-piece delivery (whole_frames = false) gives the same bytes per stream; only StreamError.
// Flags: bit 0 set: max_frame = flags >> 1.
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dind/demux.hpp"
#include "split.hpp"

using namespace dind;
using namespace dind::fuzz;

namespace {

struct Run {
  std::vector<std::pair<StdStream, std::string>> frames;
  std::array<std::string, 3> bytes;  // per stream, concatenated
  Outcome outcome;
  std::uint64_t offset = 0;
  bool boundary = false;
};

DemuxOptions options(std::uint8_t flags, bool whole) {
  DemuxOptions o;
  // Small limits now and then, so the oversized-frame path is reached with small inputs.
  if (flags & 1) o.max_frame = flags >> 1;
  o.whole_frames = whole;
  o.context = "fuzzed stream";
  return o;
}

template <class Feed>
Run run(std::uint8_t flags, bool whole, Feed&& feed_all) {
  Run r;
  Demuxer d(options(flags, whole));
  auto sink = [&](StdStream s, std::string_view payload) {
    if (static_cast<unsigned>(s) > 2) broken("a payload of a stream id other than 0-2 reached the sink");
    if (whole && payload.empty()) broken("an empty frame reached the sink");
    r.frames.emplace_back(s, std::string(payload));
    r.bytes[static_cast<unsigned>(s)] += payload;
  };
  bool fed = false;
  r.outcome = outcome_of([&] {
    feed_all(d, sink);
    fed = true;
    d.finish();
  });
  if (!r.outcome.kind.empty() && r.outcome.kind != typeid(StreamError).name())
    broken("the demuxer threw something other than StreamError", r.outcome.kind + ": " + r.outcome.message);
  r.offset = d.offset();
  r.boundary = d.at_frame_boundary();
  if (!r.outcome.kind.empty() && !fed) {
    // A feed that failed fails for good: every later call throws the same error.
    Outcome again = outcome_of([&] { d.feed("\1\0\0\0\0\0\0\1x", 9, sink); });
    if (!(again == r.outcome)) broken("a failed demuxer did not stay failed", again.message);
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const SplitInput in = split_input(data, size);
  // Reference: the whole payload in one feed.
  const Run ref = run(in.flags, true, [&](Demuxer& d, auto& sink) { d.feed(in.payload, sink); });
  if (ref.outcome.kind.empty()) {
    if (ref.offset != in.payload.size()) broken("offset() is not the number of bytes fed");
    if (!ref.boundary) broken("finish() succeeded inside a frame");
  }
  // The same bytes in pieces.
  const Run split = run(in.flags, true, [&](Demuxer& d, auto& sink) {
    for_each_piece(in, [&](const char* p, std::size_t n) { d.feed(p, n, sink); });
  });
  if (!(split.outcome == ref.outcome))
    broken("the split changed the error", ref.outcome.message + " | " + split.outcome.message);
  if (split.frames != ref.frames) broken("the split changed the frames");
  // Pieces passed on as they come: the same bytes per stream; when the stream ends inside a frame, the pieces of
  // that frame already went out (the reference held them back).
  const Run pieces = run(in.flags, false, [&](Demuxer& d, auto& sink) {
    for_each_piece(in, [&](const char* p, std::size_t n) { d.feed(p, n, sink); });
  });
  if (!(pieces.outcome == ref.outcome))
    broken("piece delivery changed the error", ref.outcome.message + " | " + pieces.outcome.message);
  for (std::size_t s = 0; s < 3; ++s) {
    if (ref.outcome.kind.empty() ? pieces.bytes[s] != ref.bytes[s]
                                 : pieces.bytes[s].compare(0, ref.bytes[s].size(), ref.bytes[s]) != 0)
      broken("piece delivery changed the bytes of a stream");
  }
  return 0;
}
