// Container output as the engine sends it on logs, attach and exec start: either multiplexed frames
// (Tty=false) or raw TTY bytes (Tty=true). FrameReader reads it from a BodyReader (logs) or an UpgradedStream
// (attach, exec start; then it can also write stdin and half-close) and hands out chunks tagged stdout/stderr.
//
// The format is never guessed from the bytes (that is what broke other clients on TTY output): it comes from the
// Content-Type the engine sets on API >= 1.42, or from the container's / exec's Tty flag.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dind/demux.hpp"
#include "dind/http.hpp"

namespace dind {

enum class StreamFormat { multiplexed, raw };

// The Content-Types of API >= 1.42.
inline constexpr const char* kMultiplexedStreamType = "application/vnd.docker.multiplexed-stream";
inline constexpr const char* kRawStreamType = "application/vnd.docker.raw-stream";

// The format an output stream's head settles, if any: on API >= 1.42 a multiplexed-stream Content-Type means
// multiplexed; raw-stream means raw only when `raw_type_is_reliable` (a 101 upgrade, or logs), because the
// engine's plain-200 hijack path says raw-stream for both. Before 1.42 the type is always raw-stream: nullopt.
std::optional<StreamFormat> format_from_head(const Headers& headers, std::string_view api_version,
                                             bool raw_type_is_reliable);

// One piece of output: adjacent payloads of the same stream are joined (stdin echo frames count as stdout).
struct OutputChunk {
  StdStream stream = StdStream::out;
  std::string data;
};

class FrameReader {
 public:
  FrameReader();
  // `context` names the stream in errors, e.g. "logs of container 3f2a… on unix:///var/run/docker.sock".
  FrameReader(BodyReader body, StreamFormat format, std::string context);
  FrameReader(UpgradedStream stream, StreamFormat format, std::string context);
  FrameReader(FrameReader&&) noexcept;
  FrameReader& operator=(FrameReader&&) noexcept;
  ~FrameReader();

  // The next chunk of output; false at the end (or after close()). Blocks until output arrives (no total
  // timeout; the idle timeout if one was set). A truncated frame, a malformed header or a daemon error frame
  // (stream 3) throws StreamError; a connection lost mid-body throws StreamError or ConnectionError.
  bool next(OutputChunk& chunk);
  // Everything up to the end: stdout and stderr apart, or together in arrival order.
  std::pair<std::string, std::string> read_all_split();
  std::string read_all();

  StreamFormat format() const noexcept;
  bool tty() const noexcept { return format() == StreamFormat::raw; }
  // True over an UpgradedStream: write() and close_write() work.
  bool duplex() const noexcept;
  // stdin of an attach/exec (needs stdin attached). Throws ConnectionError on a closed stream.
  void write(std::string_view data);
  // Half-close: the process sees EOF on stdin; output keeps coming until it ends.
  void close_write();
  void set_idle_timeout(std::optional<Clock::duration> timeout) noexcept;
  // Ends the stream from any thread: a blocked next() returns false.
  void close() noexcept;
  bool closed() const noexcept;
  const std::string& context() const noexcept;
  const Headers& headers() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dind
