// The multiplexed stream format of attach, exec and logs (non-TTY): frames of
// [stream id, 0, 0, 0, big-endian u32 payload length] + payload, which bear no relation to read boundaries.
//
// Demuxer is a pure, incremental state machine: feed it whatever the transport delivered, in any pieces, and it calls
// `sink(StdStream, std::string_view payload)`. A payload that lies wholly inside the fed buffer is passed as a view
// into it (no copy); only a frame split across feeds is gathered in an internal buffer (or, with
// `whole_frames = false`, passed on piece by piece). The view is valid only during the sink call.
// The same code is driven by gtest, the Python module and a fuzzer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "dind/errors.hpp"

namespace dind {

// The stream a payload belongs to. The daemon also uses id 3 for its own errors; those become StreamError.
enum class StdStream : std::uint8_t { in = 0, out = 1, err = 2 };

const char* to_string(StdStream s) noexcept;

struct DemuxOptions {
  // Frames larger than this are refused: a garbled header reads as a multi-GiB length, and a whole frame is buffered.
  // The daemon writes frames of at most a few tens of KiB, so the default is generous.
  std::size_t max_frame = std::size_t{64} << 20;
  // true: each frame's payload reaches the sink in exactly one call (split frames are gathered).
  // false: payload pieces are passed on as they arrive, never buffered (frame boundaries are lost).
  bool whole_frames = true;
  // What is being demuxed, for error messages, e.g. "logs of container 3f2a… on unix:///var/run/docker.sock".
  std::string context = "multiplexed stream";
};

namespace detail {
std::string malformed_frame_message(const unsigned char* header, std::uint64_t offset, const std::string& context);
std::string frame_too_large_message(std::uint64_t size, std::size_t limit, std::uint64_t offset,
                                    const std::string& context);
std::string daemon_error_message(std::string_view message, const std::string& context);
}  // namespace detail

class Demuxer {
 public:
  static constexpr std::size_t kHeaderSize = 8;
  static constexpr std::size_t kGatherStep = std::size_t{64} << 10;  // first reservation for a split frame

  explicit Demuxer(DemuxOptions options = {}) : opt_(std::move(options)) {}

  // Consumes all n bytes. Throws StreamError on a malformed or oversized frame or a daemon error frame (stream 3);
  // after that the demuxer stays failed and every later call throws the same error.
  template <class Sink>
  void feed(const char* data, std::size_t n, Sink&& sink);
  template <class Sink>
  void feed(std::string_view data, Sink&& sink) {
    feed(data.data(), data.size(), sink);
  }

  // Call at end of stream: throws StreamError if it ended inside a frame.
  void finish() const;

  // True between frames (no partial header or payload pending).
  bool at_frame_boundary() const noexcept { return header_fill_ == 0 && remaining_ == 0; }
  // Bytes consumed so far (for error positions and statistics).
  std::uint64_t offset() const noexcept { return offset_; }
  const DemuxOptions& options() const noexcept { return opt_; }

 private:
  void begin_frame(const unsigned char* h, std::uint64_t header_offset);
  [[noreturn]] void fail(std::string message);
  void check_failed() const {
    if (!failed_.empty()) throw StreamError(failed_);
  }
  template <class Sink>
  void emit(std::string_view payload, Sink& sink) {
    if (stream_ == 3) fail(detail::daemon_error_message(payload, opt_.context));
    sink(static_cast<StdStream>(stream_), payload);
  }

  DemuxOptions opt_;
  unsigned char header_[kHeaderSize] = {};
  std::size_t header_fill_ = 0;  // bytes of a split header gathered so far
  std::uint8_t stream_ = 0;      // stream id of the current frame
  std::uint32_t frame_size_ = 0;
  std::uint32_t remaining_ = 0;  // payload bytes of the current frame not yet consumed
  std::string buffer_;           // a split frame's payload, when frames are delivered whole
  std::uint64_t offset_ = 0;
  std::string failed_;  // the error message once failed (sticky)
};

// The TTY counterpart: raw bytes with no framing, all reported as stdout. Same shape as Demuxer, so code reading
// attach/exec/logs can be written once for both.
class RawPassthrough {
 public:
  template <class Sink>
  void feed(const char* data, std::size_t n, Sink&& sink) {
    if (n) sink(StdStream::out, std::string_view(data, n));
  }
  template <class Sink>
  void feed(std::string_view data, Sink&& sink) {
    feed(data.data(), data.size(), sink);
  }
  void finish() const noexcept {}
};

template <class Sink>
void Demuxer::feed(const char* data, std::size_t n, Sink&& sink) {
  check_failed();
  const char* p = data;
  const char* const end = data + n;
  while (p != end) {
    if (remaining_ == 0) {
      // Between frames, or inside a header.
      const std::uint64_t header_offset = offset_ + static_cast<std::uint64_t>(p - data) - header_fill_;
      if (header_fill_ == 0 && static_cast<std::size_t>(end - p) >= kHeaderSize) {
        begin_frame(reinterpret_cast<const unsigned char*>(p), header_offset);  // fast path: header inside the buffer
        p += kHeaderSize;
      } else {
        const std::size_t take = std::min<std::size_t>(kHeaderSize - header_fill_, static_cast<std::size_t>(end - p));
        std::memcpy(header_ + header_fill_, p, take);
        header_fill_ += take;
        p += take;
        if (header_fill_ < kHeaderSize) break;
        header_fill_ = 0;
        begin_frame(header_, header_offset);
      }
      continue;  // an empty frame has nothing to deliver (docker-py skips them too)
    }
    const std::size_t avail = static_cast<std::size_t>(end - p);
    if (buffer_.empty() && avail >= remaining_) {
      // Fast path: the rest of the payload lies in this buffer, and nothing of it was gathered before.
      const std::string_view payload(p, remaining_);
      p += remaining_;
      remaining_ = 0;
      emit(payload, sink);
      continue;
    }
    const std::size_t take = std::min<std::size_t>(avail, remaining_);
    if (!opt_.whole_frames && stream_ != 3) {
      const std::string_view piece(p, take);
      p += take;
      remaining_ -= static_cast<std::uint32_t>(take);
      emit(piece, sink);
      continue;
    }
    // Grow with what arrives (geometrically, up to the frame size), not with what the header declares: a garbled
    // header would otherwise cost max_frame bytes up front for every split frame.
    if (const std::size_t need = buffer_.size() + take; buffer_.capacity() < need)
      buffer_.reserve(std::min<std::size_t>(frame_size_, std::max({need, 2 * buffer_.capacity(), kGatherStep})));
    buffer_.append(p, take);
    p += take;
    remaining_ -= static_cast<std::uint32_t>(take);
    if (remaining_ == 0) {
      // Cleared even if the sink throws, so the demuxer stays consistent; the capacity is kept for the next frame.
      struct Clear {
        std::string& s;
        ~Clear() { s.clear(); }
      } clear{buffer_};
      emit(std::string_view(buffer_), sink);
    }
  }
  offset_ += n;
}

inline void Demuxer::begin_frame(const unsigned char* h, std::uint64_t header_offset) {
  if (h[0] > 3 || (h[1] | h[2] | h[3]) != 0) {
    fail(detail::malformed_frame_message(h, header_offset, opt_.context));
  }
  const std::uint32_t size =
      (std::uint32_t{h[4]} << 24) | (std::uint32_t{h[5]} << 16) | (std::uint32_t{h[6]} << 8) | std::uint32_t{h[7]};
  if (size > opt_.max_frame) {
    fail(detail::frame_too_large_message(size, opt_.max_frame, header_offset, opt_.context));
  }
  stream_ = h[0];
  frame_size_ = size;
  remaining_ = size;
}

}  // namespace dind
