// Fuzzes the X-Docker-Container-Path-Stat header (base64 of a JSON object) as archive calls decode it: the header
// comes out of a response head fed in pieces, then decode_path_stat(). Flag bit 0 base64-encodes the payload first
// so the JSON side is reached. Invariants: base64 round trips in both alphabets; a decoded stat re-encodes to JSON;
// only dind::Error.
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "dind/base64.hpp"
#include "dind/http.hpp"
#include "dind/path_stat.hpp"
#include "split.hpp"

using namespace dind;
using namespace dind::fuzz;

namespace {

// The header value as the HTTP layer delivers it, reading `head` in the given pieces; empty if the head is refused.
std::optional<std::string> through_http(const std::string& head, const std::vector<std::size_t>& bounds) {
  auto q = std::make_shared<std::deque<std::string>>();
  std::size_t start = 0;
  for (std::size_t end : bounds) {
    if (end > head.size()) end = head.size();
    if (end > start) q->push_back(head.substr(start, end - start));
    start = std::max(start, end);
  }
  if (start < head.size()) q->push_back(head.substr(start));
  std::optional<std::string> value;
  outcome_of([&] {
    auto r = http::read_response(
        [q](char* b, std::size_t n) -> std::size_t {
          if (q->empty()) return 0;
          std::string& f = q->front();
          const std::size_t k = std::min(n, f.size());
          f.copy(b, k);
          f.erase(0, k);
          if (f.empty()) q->pop_front();
          return k;
        },
        false, false, "HEAD /containers/x/archive");
    if (const std::string* h = r.second->header("X-Docker-Container-Path-Stat")) value = *h;
  });
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const SplitInput in = split_input(data, size);
  const std::string raw(in.payload);

  // base64 round trips, whatever the bytes.
  if (base64_decode(base64_encode(raw)) != raw) broken("base64 standard alphabet does not round-trip");
  if (base64_decode(base64url_encode(raw)) != raw) broken("base64url does not round-trip");

  const std::string value = (in.flags & 1) ? base64_encode(raw) : raw;
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nX-Docker-Container-Path-Stat: " + value +
      "\r\nContent-Length: 0\r\n\r\n";
  std::vector<std::size_t> bounds = in.bounds;
  for (auto& b : bounds) b = b * head.size() / std::max<std::size_t>(raw.size(), 1);  // spread over the head
  const std::optional<std::string> header = through_http(head, bounds);

  for (const std::string* v : {&value, header ? &*header : nullptr}) {
    if (!v) continue;
    PathStat st;
    Outcome o = outcome_of([&] { st = decode_path_stat(*v); });
    if (!o.kind.empty() && o.kind != typeid(Error).name()) broken("decode_path_stat threw " + o.kind, o.message);
    if (o.kind.empty()) {
      (void)st.to_json().dump();
      (void)st.is_dir(), (void)st.is_symlink(), (void)st.permissions();
    }
  }
  return 0;
}
