// Fuzzes the JSON-lines decoder (progress streams, events, stats). Invariants: the same values and the same error
// whatever the split; pending() never exceeds the line limit; only StreamError. Flags: bit 0 raise_on_error;
// bit 1 set: max_line = flags >> 2.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dind/jsonlines.hpp"
#include "split.hpp"

using namespace dind;
using namespace dind::fuzz;

namespace {

struct Run {
  std::vector<nlohmann::json> values;
  Outcome outcome;
};

JsonLinesOptions options(std::uint8_t flags) {
  JsonLinesOptions o;
  o.raise_on_error = flags & 1;
  if (flags & 2) o.max_line = flags >> 2;  // small limits reach the too-long path with small inputs
  o.context = "fuzzed stream";
  return o;
}

template <class Feed>
Run run(std::uint8_t flags, Feed&& feed_all) {
  Run r;
  JsonLinesDecoder d(options(flags));
  auto sink = [&](nlohmann::json&& j) {
    if (j.is_discarded()) broken("a discarded value reached the sink");
    if (d.options().raise_on_error && !json_stream_error(j).empty()) broken("an error line reached the sink");
    r.values.push_back(std::move(j));
  };
  r.outcome = outcome_of([&] {
    feed_all(d, sink);
    if (d.pending() > d.options().max_line) broken("pending() exceeds the line limit");
    d.finish(sink);
  });
  if (!r.outcome.kind.empty() && r.outcome.kind != typeid(StreamError).name())
    broken("the decoder threw something other than StreamError", r.outcome.kind + ": " + r.outcome.message);
  if (!r.outcome.kind.empty()) {
    Outcome again = outcome_of([&] { d.feed("{}\n", sink); });
    if (!(again == r.outcome)) broken("a failed decoder did not stay failed", again.message);
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const SplitInput in = split_input(data, size);
  const Run ref = run(in.flags, [&](JsonLinesDecoder& d, auto& sink) { d.feed(in.payload, sink); });
  const Run split = run(in.flags, [&](JsonLinesDecoder& d, auto& sink) {
    for_each_piece(in, [&](const char* p, std::size_t n) { d.feed(p, n, sink); });
  });
  if (!(split.outcome == ref.outcome))
    broken("the split changed the error", ref.outcome.message + " | " + split.outcome.message);
  if (split.values != ref.values) broken("the split changed the decoded values");
  // The whole-text helper agrees with the incremental decoder.
  std::vector<nlohmann::json> whole;
  Outcome o = outcome_of([&] { whole = decode_json_lines(in.payload, options(in.flags)); });
  if (!(o == ref.outcome))
    broken("decode_json_lines() disagrees on the error", ref.outcome.message + " | " + o.message);
  if (o.kind.empty() && whole != ref.values) broken("decode_json_lines() disagrees on the values");
  return 0;
}
