// Layer 5: a JSON-lines response body, read one line at a time as it arrives: events, stats, and the progress of
// pull, push, load, import and build. Lines are decoded by JsonLinesDecoder (dind/jsonlines.hpp): chunk boundaries
// do not matter, and CRLF, blank lines and the RS prefix of json-seq are tolerated. No total timeout (an optional
// idle timeout), one reader thread, close() from any thread.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dind/http.hpp"
#include "dind/jsonlines.hpp"

namespace dind {

class JsonStream {
 public:
  JsonStream() = default;
  // `context` names the operation in messages: "pull of busybox:latest from unix:///var/run/docker.sock".
  // raise_on_error: a line with "errorDetail" (or "error") ends the stream with a StreamError naming the operation
  // and carrying the engine's message (progress streams report failures so, under HTTP 200). Off for streams whose
  // lines may hold such a field for other reasons (events).
  JsonStream(BodyReader body, std::string context, bool raise_on_error = true);
  JsonStream(JsonStream&&) noexcept = default;
  JsonStream& operator=(JsonStream&&) noexcept = default;

  // The next line as text, with its '\n' (or without, for a last unterminated line); false at the end or after
  // close(). Lines read so are neither decoded nor checked for errors.
  bool next_line(std::string& line);
  // The next line decoded; blank lines are skipped. An invalid line, or an error line while raising, throws
  // StreamError.
  bool next(nlohmann::json& value);
  // Reads to the end; returns every message.
  std::vector<nlohmann::json> read_all();

  // Whether error lines raise (see the constructor); off, the caller sees them like any other, e.g. to keep a build
  // log.
  void raise_on_error(bool on) noexcept { raise_ = on; }
  void set_idle_timeout(std::optional<Clock::duration> timeout) noexcept { body_.set_idle_timeout(timeout); }
  // Ends the stream; a read blocked in another thread returns false.
  void close() noexcept { body_.close(); }
  bool done() const noexcept { return body_.done() && pos_ >= buf_.size(); }
  const std::string& context() const noexcept { return context_; }

 private:
  [[noreturn]] void fail(const std::string& message);

  BodyReader body_;
  std::string context_;
  JsonLinesDecoder decoder_;  // decodes one whole line at a time
  bool raise_ = true;
  std::string buf_;  // bytes read and not yet handed out, from pos_
  std::size_t pos_ = 0;
  bool eof_ = false;
};

}  // namespace dind
