// Incremental decoder of the JSON-lines streams the engine sends (pull/push/build/load progress, events, stats).
// Chunk boundaries bear no relation to lines: feed pieces of any size; each complete line becomes one
// nlohmann::json passed to `sink(nlohmann::json&&)`. Tolerates CRLF, empty lines and the RS (0x1E) record
// prefix of application/json-seq. A line wholly inside a fed piece is parsed in place; only a line split across
// pieces is gathered.
#pragma once

#include <cstddef>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "dind/errors.hpp"

namespace dind {

struct JsonLinesOptions {
  // A longer line is refused: a stream that is not JSON lines would otherwise be gathered whole.
  std::size_t max_line = std::size_t{16} << 20;
  // Progress streams report failures in-band with HTTP 200: a line with "errorDetail" (or "error") becomes a
  // StreamError carrying the message. Turn off for streams that never carry them (events).
  bool raise_on_error = true;
  // What is being decoded, for error messages, e.g. "pull of busybox:latest from unix:///var/run/docker.sock".
  std::string context = "JSON stream";
};

class JsonLinesDecoder {
 public:
  explicit JsonLinesDecoder(JsonLinesOptions options = {}) : opt_(std::move(options)) {}

  // Consumes all n bytes, calling sink for each complete line. Throws StreamError on an invalid or oversized line
  // or an error line; the decoder then stays failed.
  template <class Sink>
  void feed(const char* data, std::size_t n, Sink&& sink);
  template <class Sink>
  void feed(std::string_view data, Sink&& sink) {
    feed(data.data(), data.size(), sink);
  }
  // Call at end of stream: a last line without a newline is still decoded.
  template <class Sink>
  void finish(Sink&& sink);

  // Bytes of an unfinished line held back.
  std::size_t pending() const noexcept { return partial_.size(); }
  const JsonLinesOptions& options() const noexcept { return opt_; }

 private:
  // Parses one line (empty or blank lines give a discarded value) and applies the errorDetail check.
  nlohmann::json decode(std::string_view line);
  [[noreturn]] void fail(std::string message);
  void check_failed() const {
    if (!failed_.empty()) throw StreamError(failed_);
  }
  template <class Sink>
  void deliver(std::string_view line, Sink& sink) {
    nlohmann::json j = decode(line);
    if (!j.is_discarded()) sink(std::move(j));
  }

  JsonLinesOptions opt_;
  std::string partial_;
  std::uint64_t line_no_ = 0;
  std::string failed_;
};

// Decodes a whole JSON-lines text (tests, small bodies).
std::vector<nlohmann::json> decode_json_lines(std::string_view text, JsonLinesOptions options = {});

// The message of a progress line that reports a failure ("errorDetail".message, else "error"), or empty.
std::string json_stream_error(const nlohmann::json& line);

template <class Sink>
void JsonLinesDecoder::feed(const char* data, std::size_t n, Sink&& sink) {
  check_failed();
  const char* p = data;
  const char* const end = data + n;
  while (p != end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const std::size_t len = static_cast<std::size_t>((nl ? nl : end) - p);
    if (partial_.size() + len > opt_.max_line)
      fail(opt_.context + ": line " + std::to_string(line_no_ + 1) + " is longer than the limit of " +
           std::to_string(opt_.max_line) + " bytes");
    if (!nl) {
      partial_.append(p, len);
      break;
    }
    ++line_no_;
    if (partial_.empty()) {
      deliver(std::string_view(p, len), sink);
    } else {
      partial_.append(p, len);
      struct Clear {
        std::string& s;
        ~Clear() { s.clear(); }
      } clear{partial_};
      deliver(std::string_view(partial_), sink);
    }
    p = nl + 1;
  }
}

template <class Sink>
void JsonLinesDecoder::finish(Sink&& sink) {
  check_failed();
  if (partial_.empty()) return;
  ++line_no_;
  std::string last;
  last.swap(partial_);
  deliver(std::string_view(last), sink);
}

}  // namespace dind
