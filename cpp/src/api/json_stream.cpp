#include "dind/json_stream.hpp"

#include <utility>

#include "dind/errors.hpp"

namespace dind {

namespace {

constexpr std::size_t kLineRead = 16 * 1024;

JsonLinesOptions decoder_options(const std::string& context) {
  JsonLinesOptions o;
  o.raise_on_error = false;  // checked in next(), so that raise_on_error(false) can keep error lines
  o.context = context;
  return o;
}

}  // namespace

JsonStream::JsonStream(BodyReader body, std::string context, bool raise_on_error)
    : body_(std::move(body)),
      context_(std::move(context)),
      decoder_(decoder_options(context_)),
      raise_(raise_on_error) {}

bool JsonStream::next_line(std::string& line) {
  for (;;) {
    if (pos_ < buf_.size()) {
      const std::size_t nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        line.assign(buf_, pos_, nl + 1 - pos_);
        pos_ = nl + 1;
        return true;
      }
      if (eof_) {  // a last line without its newline
        line.assign(buf_, pos_, std::string::npos);
        pos_ = buf_.size();
        return true;
      }
    }
    if (eof_) return false;
    if (pos_ > 0) {  // keep only the unfinished line
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    if (const std::size_t max = decoder_.options().max_line; buf_.size() > max)
      throw StreamError(context_ + ": a line is longer than " + std::to_string(max) + " bytes");
    const std::size_t old = buf_.size();
    buf_.resize(old + kLineRead);
    std::size_t n = 0;
    try {
      n = body_.read_some(buf_.data() + old, kLineRead);
    } catch (...) {
      buf_.resize(old);
      throw;
    }
    buf_.resize(old + n);
    if (n == 0) eof_ = true;
  }
}

bool JsonStream::next(nlohmann::json& value) {
  bool got = false;
  auto sink = [&](nlohmann::json&& j) {
    value = std::move(j);
    got = true;
  };
  std::string line;
  while (!got && next_line(line)) {
    decoder_.feed(line, sink);  // a whole line: blank ones give nothing
    if (line.back() != '\n') decoder_.finish(sink);
  }
  if (got && raise_) {
    if (std::string message = json_stream_error(value); !message.empty()) fail(message);
  }
  return got;
}

std::vector<nlohmann::json> JsonStream::read_all() {
  std::vector<nlohmann::json> out;
  for (nlohmann::json j; next(j);) out.push_back(std::move(j));
  return out;
}

void JsonStream::fail(const std::string& message) {
  body_.close();  // the operation failed: the rest of the stream (if any) is of no use
  eof_ = true;
  pos_ = buf_.size();
  throw StreamError(context_ + " failed: " + message);
}

}  // namespace dind
