// A response body read incrementally; the connection goes back to its pool only after a clean end.
#include "dind/errors.hpp"
#include "http/exchange.hpp"

namespace dind {

BodyReader::BodyReader() noexcept = default;
BodyReader::BodyReader(std::unique_ptr<detail::Exchange> x) noexcept : x_(std::move(x)) {}
BodyReader::BodyReader(BodyReader&&) noexcept = default;
BodyReader& BodyReader::operator=(BodyReader&&) noexcept = default;
BodyReader::~BodyReader() = default;

int BodyReader::status() const noexcept {
  return x_ ? x_->status : 0;
}
const std::string& BodyReader::reason() const noexcept {
  return x_ ? x_->reason : detail::kNoText;
}
const Headers& BodyReader::headers() const noexcept {
  return x_ ? x_->headers : detail::kNoHeaders;
}
const std::string& BodyReader::what() const noexcept {
  return x_ ? x_->what : detail::kNoText;
}
bool BodyReader::done() const noexcept {
  return !x_ || x_->finished || x_->closed.load();
}

std::size_t BodyReader::read_some(char* buf, std::size_t n) {
  return x_ ? x_->read_body(buf, n) : 0;
}

std::size_t BodyReader::read_available(char* buf, std::size_t n) {
  return x_ ? x_->read_body(buf, n, /*wait=*/false) : 0;
}

std::string BodyReader::read_all(std::size_t limit) {
  std::string out;
  if (!x_) return out;
  if (auto len = x_->parser.content_length(); len && *len <= limit) out.reserve(static_cast<std::size_t>(*len));
  char tmp[detail::kReadChunk];
  for (;;) {
    std::size_t n = x_->read_body(tmp, sizeof tmp);
    if (n == 0) return out;
    if (out.size() + n > limit) {
      close();
      throw StreamError(x_->what + ": the response body is larger than " + std::to_string(limit) + " bytes");
    }
    out.append(tmp, n);
  }
}

bool BodyReader::drain(std::size_t limit) noexcept {
  if (!x_) return true;
  try {
    char tmp[4096];
    std::size_t total = 0;
    while (std::size_t n = x_->read_body(tmp, sizeof tmp)) {
      total += n;
      if (total > limit) {
        close();
        return false;
      }
    }
    return true;
  } catch (...) {
    close();
    return false;
  }
}

void BodyReader::set_idle_timeout(std::optional<Clock::duration> timeout) noexcept {
  if (x_) x_->idle = timeout;
}
void BodyReader::set_deadline(Clock::time_point deadline) noexcept {
  if (x_) x_->deadline = deadline;
}
void BodyReader::close() noexcept {
  if (x_) x_->close();
}

}  // namespace dind
