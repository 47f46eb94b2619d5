// The raw duplex stream after an upgrade: the bytes buffered with the head first, then the connection itself.
#include <cstring>

#include "dind/errors.hpp"
#include "http/exchange.hpp"

namespace dind {

UpgradedStream::UpgradedStream() noexcept = default;
UpgradedStream::UpgradedStream(std::unique_ptr<detail::Exchange> x) noexcept : x_(std::move(x)) {}
UpgradedStream::UpgradedStream(UpgradedStream&&) noexcept = default;
UpgradedStream& UpgradedStream::operator=(UpgradedStream&&) noexcept = default;
UpgradedStream::~UpgradedStream() = default;

int UpgradedStream::status() const noexcept {
  return x_ ? x_->status : 0;
}
const Headers& UpgradedStream::headers() const noexcept {
  return x_ ? x_->headers : detail::kNoHeaders;
}
const std::string& UpgradedStream::what() const noexcept {
  return x_ ? x_->what : detail::kNoText;
}

std::size_t UpgradedStream::read_some(char* out, std::size_t n) {
  return x_ ? read_some(out, n, x_->next_deadline()) : 0;
}

std::size_t UpgradedStream::read_some(char* out, std::size_t n, Clock::time_point deadline) {
  if (!x_ || x_->closed.load() || (!x_->conn && !x_->source) || n == 0) return 0;
  if (x_->buf.size() > 0) {  // bytes that arrived with the head come first
    std::size_t k = std::min(n, x_->buf.size());
    std::memcpy(out, x_->buf.data().data(), k);
    x_->buf.consume(k);
    return k;
  }
  try {
    if (x_->source) return x_->source(out, n);
    return x_->conn->read_some(out, n, deadline, x_->what);
  } catch (const Error&) {
    if (x_->closed.load()) return 0;
    throw;
  }
}

void UpgradedStream::write(const char* data, std::size_t n) {
  if (!x_) throw ConnectionError("the stream is closed");
  write(data, n, x_->next_deadline());
}

void UpgradedStream::write(const char* data, std::size_t n, Clock::time_point deadline) {
  if (!x_ || !x_->conn || x_->closed.load()) throw ConnectionError(what() + ": the stream is closed");
  x_->conn->write(data, n, deadline, x_->what);
}

bool UpgradedStream::input_pending() const noexcept {
  return !x_ || !x_->conn || x_->closed.load() || x_->buf.size() > 0 || x_->conn->input_pending();
}

void UpgradedStream::close_write() {
  if (!x_ || !x_->conn || x_->closed.load()) return;
  x_->conn->shutdown_send();
}

void UpgradedStream::set_idle_timeout(std::optional<Clock::duration> timeout) noexcept {
  if (x_) x_->idle = timeout;
}
void UpgradedStream::close() noexcept {
  if (x_) x_->close();
}

}  // namespace dind
