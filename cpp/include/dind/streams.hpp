// The streaming endpoints of one container: logs, attach (with stdin), stats; and JsonStream, the pull reader of
// JSON-lines bodies (stats, events). Every stream has no total timeout (an optional idle timeout), one reader
// thread, and close() from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dind/client.hpp"
#include "dind/frames.hpp"

namespace dind {

// A JSON-lines response body read line by line, as text or decoded. Chunk boundaries do not matter; CRLF, blank
// lines and the RS prefix of json-seq are tolerated.
class JsonStream {
 public:
  JsonStream() = default;
  // raise_on_error: a line carrying "errorDetail"/"error" throws StreamError (progress streams).
  JsonStream(BodyReader body, std::string context, bool raise_on_error);
  JsonStream(JsonStream&&) noexcept = default;
  JsonStream& operator=(JsonStream&&) noexcept = default;

  // The next line, with its '\n' (or without, for a last unterminated line); false at the end or after close().
  bool next_line(std::string& line);
  // The next line decoded; blank lines are skipped. An invalid line throws StreamError.
  bool next(nlohmann::json& value);

  void set_idle_timeout(std::optional<Clock::duration> timeout) noexcept { body_.set_idle_timeout(timeout); }
  void close() noexcept { body_.close(); }  // any thread
  bool done() const noexcept { return body_.done() && pos_ >= buf_.size(); }
  const std::string& context() const noexcept { return context_; }

 private:
  BodyReader body_;
  std::string context_;
  bool raise_on_error_ = false;
  std::string buf_;  // bytes read and not yet handed out, from pos_
  std::size_t pos_ = 0;
  bool eof_ = false;
};

struct LogsOptions {
  bool stdout_stream = true;
  bool stderr_stream = true;
  bool follow = false;
  bool timestamps = false;
  std::string tail = "all";          // "all" or a number of lines
  std::optional<std::string> since;  // unix seconds (may be fractional) or an RFC 3339 time
  std::optional<std::string> until;
  std::optional<bool> tty;  // the container's Config.Tty if known; else inspected when needed
  std::optional<Clock::duration> idle_timeout;
};

struct AttachOptions {
  bool stdin_stream = false;
  bool stdout_stream = true;
  bool stderr_stream = true;
  bool logs = false;   // replay the output so far first
  bool stream = true;  // then follow the live output
  std::optional<std::string> detach_keys;
  std::optional<bool> tty;
  std::optional<Clock::duration> idle_timeout;
};

class ContainerStreams {
 public:
  explicit ContainerStreams(Client client) : client_(std::move(client)) {}

  // GET /containers/{id}/logs. With follow the stream ends when the container stops.
  FrameReader logs(std::string_view id, const LogsOptions& options = {});
  // POST /containers/{id}/attach, hijacked: output as it comes; stdin through write()/close_write() when
  // stdin_stream is set.
  FrameReader attach(std::string_view id, const AttachOptions& options = {});
  // GET /containers/{id}/stats?stream=1: one JSON line per second until the container stops or close().
  JsonStream stats(std::string_view id, bool one_shot = false);
  // GET /containers/{id}/stats?stream=0 (one_shot: no second sample, so no CPU delta, but fast).
  nlohmann::json stats_once(std::string_view id, bool one_shot = false);
  // Config.Tty from GET /containers/{id}/json.
  bool tty(std::string_view id);

 private:
  StreamFormat format_for(std::string_view id, const Headers& headers, std::optional<bool> tty, bool reliable);
  Client client_;
};

// "since"/"until" query values for logs and events: seconds since the epoch, as the engine parses them.
std::string unix_time_arg(double seconds);

}  // namespace dind
