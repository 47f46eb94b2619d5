#include "dind/frames.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include "dind/client.hpp"

namespace dind {

namespace {
// One transport read. Large enough that a fast producer (200 MB of exec output) costs few calls, small enough to
// keep latency and memory low for slow ones.
constexpr std::size_t kReadSize = 256 * 1024;
// The most one chunk handed out gathers from reads that did not wait (see Impl::top_up).
constexpr std::size_t kBatch = 256 * 1024;

bool type_is(const std::string* value, std::string_view type) {
  if (!value) return false;
  std::string_view v(*value);
  if (auto semi = v.find(';'); semi != std::string_view::npos) v = v.substr(0, semi);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v == type;
}
}  // namespace

std::optional<StreamFormat> format_from_head(const Headers& headers, std::string_view api_version,
                                             bool raw_type_is_reliable) {
  if (compare_api_versions(api_version, "1.42") < 0) return std::nullopt;
  const std::string* type = find_header(headers, "Content-Type");
  if (type_is(type, kMultiplexedStreamType)) return StreamFormat::multiplexed;
  if (raw_type_is_reliable && type_is(type, kRawStreamType)) return StreamFormat::raw;
  return std::nullopt;
}

struct FrameReader::Impl {
  std::optional<BodyReader> body;
  std::optional<UpgradedStream> up;
  StreamFormat format = StreamFormat::multiplexed;
  Demuxer demux;
  std::deque<OutputChunk> pending;
  std::string buf;
  std::atomic<bool> closed{false};
  bool eof = false;
  std::exception_ptr failed;  // met while batching (top_up), raised once the output before it is out
  std::string context;

  Impl(StreamFormat f, std::string ctx)
      : format(f), demux(DemuxOptions{std::size_t{64} << 20, false, ctx}), context(std::move(ctx)) {}

  // One transport read. `wait` false takes only what has already arrived (0 if nothing has, or at the end, which
  // the next waiting read then reports).
  std::size_t read(char* out, std::size_t n, bool wait) {
    if (body) return wait ? body->read_some(out, n) : body->read_available(out, n);
    if (!wait && !up->input_pending()) return 0;
    return up->read_some(out, n);
  }

  void add(StdStream s, std::string_view payload) {
    if (s == StdStream::in) s = StdStream::out;  // the engine writes stdin echo as stream 0: it is output
    if (!pending.empty() && pending.back().stream == s) {
      pending.back().data.append(payload.data(), payload.size());
    } else {
      pending.push_back(OutputChunk{s, std::string(payload)});
    }
  }

  void feed(std::size_t n) {
    demux.feed(buf.data(), n, [this](StdStream s, std::string_view payload) { add(s, payload); });
  }

  // feed(), but an error met after output in the same read is raised once that output is out.
  void feed_deferring(std::size_t n) {
    try {
      feed(n);
    } catch (...) {
      if (pending.empty()) throw;
      failed = std::current_exception();
    }
  }

  // Grows a lone pending chunk with what has already arrived, up to about kBatch: the engine writes a frame (and,
  // for logs, an HTTP chunk) per line, and handing Python one line per iteration made it the bottleneck. Never
  // waits, so a follower still gets a line as soon as it arrives. A second pending chunk (the other stream) ends
  // the batch, which keeps stdout and stderr in arrival order.
  // An error met here (a daemon error frame, a lost connection) is raised after the output before it is handed out.
  // The rest of a frame begun is waited for, though: the engine writes each frame in one write, so the rest is on
  // its way, and handing over the pieces (a reader woken per few KiB) cost a Python iteration each.
  void top_up() {
    try {
      while (!failed && pending.size() == 1 && pending.front().data.size() < kBatch && !closed.load()) {
        const std::size_t want = std::min(kReadSize, kBatch - pending.front().data.size() + Demuxer::kHeaderSize);
        if (buf.size() < want) buf.resize(kReadSize);
        const bool mid_frame = format == StreamFormat::multiplexed && !demux.at_frame_boundary();
        const std::size_t n = read(buf.data(), want, mid_frame);
        if (n == 0) return;  // nothing more has arrived, or the end (the next waiting read reports it)
        feed(n);
      }
    } catch (...) {
      failed = std::current_exception();
    }
  }

  // Raw TTY bytes: read straight into the chunk, no framing and no copy; then what else has arrived, up to kBatch.
  bool next_raw(OutputChunk& chunk) {
    chunk.stream = StdStream::out;
    chunk.data.resize(kBatch);
    std::size_t got = read(chunk.data.data(), kBatch, true);
    if (got == 0) {
      eof = true;
      chunk.data.clear();
      return false;
    }
    while (got < kBatch && !closed.load()) {
      const std::size_t n = read(chunk.data.data() + got, kBatch - got, false);
      if (n == 0) break;
      got += n;
    }
    chunk.data.resize(got);
    return true;
  }

  bool next(OutputChunk& chunk) {
    for (;;) {
      if (!pending.empty()) {
        if (!eof) top_up();
        chunk = std::move(pending.front());
        pending.pop_front();
        return true;
      }
      if (failed) {
        eof = true;
        std::rethrow_exception(std::exchange(failed, nullptr));
      }
      if (eof || closed.load()) return false;
      if (format == StreamFormat::raw) return next_raw(chunk);
      if (buf.size() != kReadSize) buf.resize(kReadSize);
      std::size_t n = read(buf.data(), buf.size(), true);
      if (n == 0) {
        eof = true;
        if (!closed.load()) demux.finish();  // a stream cut inside a frame is an error, not an end
        return false;
      }
      feed_deferring(n);
    }
  }
};

FrameReader::FrameReader() = default;
FrameReader::FrameReader(BodyReader body, StreamFormat format, std::string context)
    : impl_(std::make_unique<Impl>(format, std::move(context))) {
  impl_->body.emplace(std::move(body));
}
FrameReader::FrameReader(UpgradedStream stream, StreamFormat format, std::string context)
    : impl_(std::make_unique<Impl>(format, std::move(context))) {
  impl_->up.emplace(std::move(stream));
}
FrameReader::FrameReader(FrameReader&&) noexcept = default;
FrameReader& FrameReader::operator=(FrameReader&&) noexcept = default;
FrameReader::~FrameReader() = default;

bool FrameReader::next(OutputChunk& chunk) {
  return impl_ && impl_->next(chunk);
}

std::pair<std::string, std::string> FrameReader::read_all_split() {
  std::pair<std::string, std::string> out;
  OutputChunk c;
  while (next(c)) {
    std::string& dst = c.stream == StdStream::err ? out.second : out.first;
    if (dst.empty())
      dst = std::move(c.data);
    else
      dst.append(c.data);
  }
  return out;
}

std::string FrameReader::read_all() {
  std::string out;
  OutputChunk c;
  while (next(c)) {
    if (out.empty())
      out = std::move(c.data);
    else
      out.append(c.data);
  }
  return out;
}

StreamFormat FrameReader::format() const noexcept {
  return impl_ ? impl_->format : StreamFormat::multiplexed;
}
bool FrameReader::duplex() const noexcept {
  return impl_ && impl_->up.has_value();
}

void FrameReader::write(std::string_view data) {
  if (!duplex()) throw Error("cannot write to " + context() + ": it is not an attached (hijacked) stream");
  impl_->up->write(data);
}

void FrameReader::close_write() {
  if (!duplex()) throw Error("cannot half-close " + context() + ": it is not an attached (hijacked) stream");
  impl_->up->close_write();
}

void FrameReader::set_idle_timeout(std::optional<Clock::duration> timeout) noexcept {
  if (!impl_) return;
  if (impl_->body) impl_->body->set_idle_timeout(timeout);
  if (impl_->up) impl_->up->set_idle_timeout(timeout);
}

void FrameReader::close() noexcept {
  if (!impl_) return;
  impl_->closed.store(true);
  if (impl_->body) impl_->body->close();
  if (impl_->up) impl_->up->close();
}

bool FrameReader::closed() const noexcept {
  return !impl_ || impl_->closed.load();
}

const std::string& FrameReader::context() const noexcept {
  static const std::string none = "a closed output stream";
  return impl_ ? impl_->context : none;
}

const Headers& FrameReader::headers() const noexcept {
  static const Headers none;
  if (!impl_) return none;
  return impl_->body ? impl_->body->headers() : impl_->up->headers();
}

}  // namespace dind
