// Error messages of the demuxer, out of line so the inlined hot loop stays small.
#include "dind/demux.hpp"

#include <cstdio>

namespace dind {

const char* to_string(StdStream s) noexcept {
  switch (s) {
    case StdStream::in: return "stdin";
    case StdStream::out: return "stdout";
    case StdStream::err: return "stderr";
  }
  return "unknown stream";
}

namespace detail {

std::string malformed_frame_message(const unsigned char* h, std::uint64_t offset, const std::string& context) {
  std::string hex, text;
  char buf[4];
  for (std::size_t i = 0; i < Demuxer::kHeaderSize; ++i) {
    std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", h[i]);
    hex += buf;
    text += (h[i] >= 0x20 && h[i] < 0x7f) ? static_cast<char>(h[i]) : '.';
  }
  return "malformed multiplexed frame header at byte " + std::to_string(offset) + " of " + context + ": first bytes " +
         hex + " (\"" + text +
         "\"); a frame starts with stream id 0-3 and three zero bytes (is this a TTY stream read as multiplexed?)";
}

std::string frame_too_large_message(std::uint64_t size, std::size_t limit, std::uint64_t offset,
                                    const std::string& context) {
  return "multiplexed frame at byte " + std::to_string(offset) + " of " + context + " declares " +
         std::to_string(size) + " payload bytes, more than the limit of " + std::to_string(limit);
}

std::string daemon_error_message(std::string_view message, const std::string& context) {
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.remove_suffix(1);
  return "the daemon reported an error in " + context + ": " + std::string(message);
}

}  // namespace detail

void Demuxer::fail(std::string message) {
  failed_ = std::move(message);
  throw StreamError(failed_);
}

void Demuxer::finish() const {
  check_failed();
  if (header_fill_ != 0)
    throw StreamError(opt_.context + " ended inside a frame header (" + std::to_string(header_fill_) +
                      " of 8 bytes) at byte " + std::to_string(offset_));
  if (remaining_ != 0) {
    const char* what = stream_ == 3 ? "daemon error" : to_string(static_cast<StdStream>(stream_));
    throw StreamError(opt_.context + " ended inside a " + what + " frame at byte " + std::to_string(offset_) + ": " +
                      std::to_string(remaining_) + " of " + std::to_string(frame_size_) + " payload bytes missing");
  }
}

}  // namespace dind
