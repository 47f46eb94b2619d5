// The response side of an exchange: the head parsed by Beast, then the body incrementally (chunked, Content-Length
// or to EOF), with the connection's fate decided at the end.
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <cstring>

#include "dind/errors.hpp"
#include "http/exchange.hpp"

namespace dind::detail {

namespace bhttp = boost::beast::http;
using boost::system::error_code;

std::size_t Exchange::fill(Clock::time_point dl) {
  auto space = buf.prepare(kReadChunk);
  std::size_t n = source ? source(static_cast<char*>(space.data()), space.size())
                         : conn->read_some(space.data(), space.size(), dl, what);
  buf.commit(n);
  return n;
}

void Exchange::spent() noexcept {
  if (conn) conn->mark_unreusable();
}

void Exchange::malformed(const char* part, const error_code& ec) {
  spent();
  // A TLS record (alert or handshake) where the status line should start: only at the very start of the response.
  auto data = static_cast<const unsigned char*>(buf.data().data());
  if (!head_parsed && status_line.empty() && buf.size() >= 2 && (data[0] == 0x15 || data[0] == 0x16) && data[1] == 0x03)
    throw TlsError(what + ": the server answered with TLS; this is a TLS port (use https:// or a TLS config)");
  throw StreamError(what + ": malformed response " + part + " (" + ec.message() + ")");
}

// ---- the head ------------------------------------------------------------------------------------------------------

void Exchange::read_head(Clock::time_point dl, bool head_request) {
  parser.header_limit(kHeaderLimit);
  parser.body_limit(boost::none);  // callers cap what they keep
  parser.eager(false);             // stop right after the head: bytes past it may be a raw upgraded stream
  if (head_request) parser.skip(true);
  while (!parse_buffered_head()) {
    if (fill(dl) == 0) fail_head_at_eof();
  }
  take_head();
}

bool Exchange::parse_buffered_head() {
  while (buf.size() > 0) {
    error_code ec;
    std::size_t used = parser.put(buf.data(), ec);
    if (!parser.is_header_done()) status_line.append(static_cast<const char*>(buf.data().data()), used);
    buf.consume(used);
    if (parser.is_header_done()) return true;
    if (ec && ec != bhttp::error::need_more) malformed("head", ec);
    // A partial head that cannot become a status line (a TLS record, an SSH banner): fail now, not at the
    // deadline, whatever the size of the first read.
    if (status_line.empty() && buf.size() >= 2 &&
        std::memcmp(buf.data().data(), "HTTP/", std::min<std::size_t>(buf.size(), 5)) != 0)
      malformed("head", bhttp::error::bad_version);
    if (ec || used == 0) return false;  // the parser needs more bytes
  }
  return false;
}

void Exchange::fail_head_at_eof() {
  spent();
  // Beast only re-checks a partial head once its end arrives: parse all that came in one go, so garbage is
  // reported as garbage however the reads fell.
  if (buf.size() > 0) {
    const std::string head = status_line + std::string(static_cast<const char*>(buf.data().data()), buf.size());
    bhttp::response_parser<bhttp::empty_body> whole;
    whole.header_limit(kHeaderLimit);
    error_code ec;
    whole.put(boost::asio::buffer(head), ec);
    if (ec && ec != bhttp::error::need_more) malformed("head", ec);
  }
  if (parser.got_some() || buf.size() > 0)
    throw ConnectionError(what + ": the connection closed in the middle of the response head");
  if (conn && conn->endpoint().is_tcp() && !conn->endpoint().tls && !conn->received_any())
    throw ConnectionError(what +
                          ": the server closed the connection without answering (is this a TLS port? then "
                          "use https:// or a TLS config)");
  throw ConnectionError(what + ": the server closed the connection without answering");
}

void Exchange::take_head() {
  head_parsed = true;
  status_line.clear();
  const auto& msg = parser.get();
  status = static_cast<int>(msg.result_int());
  reason = std::string(msg.reason());
  headers.reserve(8);
  for (const auto& f : msg) headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
}

// ---- the body ------------------------------------------------------------------------------------------------------

std::size_t Exchange::put_buffered(error_code& ec) {
  const std::size_t used = parser.put(buf.data(), ec);
  buf.consume(used);
  if (ec == bhttp::error::need_buffer) ec = {};  // the caller's space is full: not an error
  return used;
}

std::size_t Exchange::read_body(char* out, std::size_t n, bool wait) {
  if (finished || closed.load()) return 0;
  if (n == 0) return 0;
  if (body_error) malformed("body", body_error);
  try {
    auto& body = parser.get().body();
    for (;;) {
      if (parser.is_done()) {
        finish();
        return 0;
      }
      body.data = out;
      body.size = n;
      body.more = true;
      if (buf.size() > 0) {
        error_code ec;
        std::size_t used = put_buffered(ec);
        std::size_t produced = n - body.size;
        if (ec && ec != bhttp::error::need_more) malformed("body", ec);
        if (produced > 0) {
          // Parse on into the space left while what has arrived lasts: the engine sends logs as one chunk per
          // line, and a call per chunk was most of the cost of a log stream.
          // A malformed part is raised by the next call, so that the bytes before it are out whatever the reads.
          while (!ec && used > 0 && body.size > 0 && buf.size() > 0 && !parser.is_done()) {
            used = put_buffered(ec);
            if (ec && ec != bhttp::error::need_more) body_error = ec;
          }
          produced = n - body.size;
          if (parser.is_done()) finish();
          return produced;
        }
        if (!ec && used > 0) continue;
      }
      if (!wait && !(source || (conn && conn->input_pending()))) return 0;
      if (fill(next_deadline()) == 0) return end_body_at_eof();
    }
  } catch (const Error&) {
    if (closed.load()) return 0;  // close() from another thread: a clean end for the reader
    throw;
  }
}

std::size_t Exchange::end_body_at_eof() {
  if (parser.got_some()) {
    error_code ec;
    parser.put_eof(ec);
    if (!ec && parser.is_done()) {
      spent();  // delimited by EOF: the connection is spent
      finish();
      return 0;
    }
  }
  spent();
  throw StreamError(what + ": the connection closed in the middle of the response body");
}

void Exchange::finish() {
  finished = true;
  std::unique_ptr<Connection> c;
  {
    std::lock_guard<std::mutex> lock(mu);
    c = std::move(conn);
  }
  if (c && !closed.load() && parser.keep_alive() && buf.size() == 0 && recycle) recycle(std::move(c));
}

void Exchange::close() noexcept {
  closed.store(true);
  std::lock_guard<std::mutex> lock(mu);
  if (conn) conn->cancel();
}

}  // namespace dind::detail
