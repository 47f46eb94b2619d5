// Layer 5: the streaming endpoints of one container: logs, attach (with stdin), stats. Every stream has no total
// timeout (an optional idle timeout), one reader thread, and close() from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dind/client.hpp"
#include "dind/frames.hpp"
#include "dind/json_stream.hpp"

namespace dind {

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
  // GET /containers/{id}/stats?stream=0: one sample (one_shot: no second sample, so no CPU delta, but fast). Without
  // one_shot the engine samples twice, a second apart, before it answers: `timeout` bounds that wait (none by
  // default, as for any stream).
  nlohmann::json stats_once(std::string_view id, bool one_shot = false,
                            std::optional<Clock::duration> timeout = std::nullopt);
  // Config.Tty from GET /containers/{id}/json.
  bool tty(std::string_view id);

 private:
  StreamFormat format_for(std::string_view id, const Headers& headers, std::optional<bool> tty, bool reliable);
  // The one request path of stats() and stats_once(): GET /containers/{id}/stats?stream=&one-shot=.
  JsonStream open_stats(std::string_view id, bool stream, bool one_shot, std::optional<Clock::duration> idle_timeout);
  Client client_;
};

// "since"/"until" query values for logs and events: seconds since the epoch, as the engine parses them.
std::string unix_time_arg(double seconds);

}  // namespace dind
