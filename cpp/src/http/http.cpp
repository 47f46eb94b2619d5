#include "dind/http.hpp"

#include <atomic>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstring>
#include <mutex>

#include "dind/errors.hpp"

namespace dind {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

constexpr std::size_t kHeaderLimit = 64 * 1024;
constexpr std::size_t kReadChunk = 64 * 1024;   // big reads: fewer syscalls and chunks on fast streams
constexpr std::size_t kInlineBody = 64 * 1024;  // bodies up to this go out in the same write as the head

}  // namespace

const std::string* find_header(const Headers& headers, std::string_view name) noexcept {
  for (const auto& h : headers)
    if (iequals(h.first, name)) return &h.second;
  return nullptr;
}

namespace detail {

// One request/response on one connection: the parser state, the bytes read past what was parsed, and the
// connection until the exchange ends (recycled on a clean end, dropped otherwise).
struct Exchange {
  std::unique_ptr<Connection> conn;
  http::ReadSource source;  // read instead of `conn` (read_response(): fuzzing); no connection then
  Recycle recycle;
  std::string what;
  bhttp::response_parser<bhttp::buffer_body> parser;
  beast::flat_buffer buf;
  int status = 0;
  std::string reason;
  Headers headers;
  std::optional<Clock::duration> idle;
  Clock::time_point deadline = kNoDeadline;
  std::mutex mu;  // guards `conn` against close() from another thread
  std::atomic<bool> closed{false};
  bool finished = false;
  bool head_parsed = false;
  std::string status_line;  // what Beast consumed of a head whose end has not arrived yet (the status line)

  Clock::time_point next_deadline() const { return idle ? std::min(deadline, deadline_after(*idle)) : deadline; }

  // Reads more bytes into `buf`; 0 at EOF.
  std::size_t fill(Clock::time_point dl) {
    auto space = buf.prepare(kReadChunk);
    std::size_t n = source ? source(static_cast<char*>(space.data()), space.size())
                           : conn->read_some(space.data(), space.size(), dl, what);
    buf.commit(n);
    return n;
  }

  void spent() noexcept {
    if (conn) conn->mark_unreusable();
  }

  [[noreturn]] void malformed(const char* part, const error_code& ec) {
    spent();
    // A TLS record (alert or handshake) where the status line should start: only at the very start of the response.
    auto data = static_cast<const unsigned char*>(buf.data().data());
    if (!head_parsed && status_line.empty() && buf.size() >= 2 && (data[0] == 0x15 || data[0] == 0x16) &&
        data[1] == 0x03)
      throw TlsError(what + ": the server answered with TLS; this is a TLS port (use https:// or a TLS config)");
    throw StreamError(what + ": malformed response " + part + " (" + ec.message() + ")");
  }

  void read_head(Clock::time_point dl, bool head_request) {
    parser.header_limit(kHeaderLimit);
    parser.body_limit(boost::none);  // callers cap what they keep
    parser.eager(false);             // stop right after the head: bytes past it may be a raw upgraded stream
    if (head_request) parser.skip(true);
    for (;;) {
      if (buf.size() > 0) {
        error_code ec;
        std::size_t used = parser.put(buf.data(), ec);
        if (!parser.is_header_done()) status_line.append(static_cast<const char*>(buf.data().data()), used);
        buf.consume(used);
        if (parser.is_header_done()) break;
        if (ec && ec != bhttp::error::need_more) malformed("head", ec);
        // A partial head that cannot become a status line (a TLS record, an SSH banner): fail now, not at the
        // deadline, whatever the size of the first read.
        if (status_line.empty() && buf.size() >= 2 &&
            std::memcmp(buf.data().data(), "HTTP/", std::min<std::size_t>(buf.size(), 5)) != 0)
          malformed("head", bhttp::error::bad_version);
        if (!ec && used > 0) continue;
      }
      if (fill(dl) == 0) {
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
    }
    head_parsed = true;
    status_line.clear();
    const auto& msg = parser.get();
    status = static_cast<int>(msg.result_int());
    reason = std::string(msg.reason());
    headers.reserve(8);
    for (const auto& f : msg) headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }

  void finish() {
    finished = true;
    std::unique_ptr<Connection> c;
    {
      std::lock_guard<std::mutex> lock(mu);
      c = std::move(conn);
    }
    if (c && !closed.load() && parser.keep_alive() && buf.size() == 0 && recycle) recycle(std::move(c));
  }

  std::size_t read_body(char* out, std::size_t n) {
    if (finished || closed.load()) return 0;
    if (n == 0) return 0;
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
          std::size_t used = parser.put(buf.data(), ec);
          buf.consume(used);
          std::size_t produced = n - body.size;
          if (ec == bhttp::error::need_buffer) ec = {};
          if (ec && ec != bhttp::error::need_more) malformed("body", ec);
          if (produced > 0) {
            if (parser.is_done()) finish();
            return produced;
          }
          if (!ec && used > 0) continue;
        }
        if (fill(next_deadline()) == 0) {
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
      }
    } catch (const Error&) {
      if (closed.load()) return 0;  // close() from another thread: a clean end for the reader
      throw;
    }
  }

  void close() noexcept {
    closed.store(true);
    std::lock_guard<std::mutex> lock(mu);
    if (conn) conn->cancel();
  }
};

}  // namespace detail

// ---- BodyReader --------------------------------------------------------------------------------------------

BodyReader::BodyReader() noexcept = default;
BodyReader::BodyReader(std::unique_ptr<detail::Exchange> x) noexcept : x_(std::move(x)) {}
BodyReader::BodyReader(BodyReader&&) noexcept = default;
BodyReader& BodyReader::operator=(BodyReader&&) noexcept = default;
BodyReader::~BodyReader() = default;

static const std::string kEmpty;
static const Headers kNoHeaders;

int BodyReader::status() const noexcept {
  return x_ ? x_->status : 0;
}
const std::string& BodyReader::reason() const noexcept {
  return x_ ? x_->reason : kEmpty;
}
const Headers& BodyReader::headers() const noexcept {
  return x_ ? x_->headers : kNoHeaders;
}
const std::string& BodyReader::what() const noexcept {
  return x_ ? x_->what : kEmpty;
}
bool BodyReader::done() const noexcept {
  return !x_ || x_->finished || x_->closed.load();
}

std::size_t BodyReader::read_some(char* buf, std::size_t n) {
  return x_ ? x_->read_body(buf, n) : 0;
}

std::string BodyReader::read_all(std::size_t limit) {
  std::string out;
  if (!x_) return out;
  if (auto len = x_->parser.content_length(); len && *len <= limit) out.reserve(static_cast<std::size_t>(*len));
  char tmp[kReadChunk];
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

// ---- UpgradedStream ----------------------------------------------------------------------------------------

UpgradedStream::UpgradedStream() noexcept = default;
UpgradedStream::UpgradedStream(std::unique_ptr<detail::Exchange> x) noexcept : x_(std::move(x)) {}
UpgradedStream::UpgradedStream(UpgradedStream&&) noexcept = default;
UpgradedStream& UpgradedStream::operator=(UpgradedStream&&) noexcept = default;
UpgradedStream::~UpgradedStream() = default;

int UpgradedStream::status() const noexcept {
  return x_ ? x_->status : 0;
}
const Headers& UpgradedStream::headers() const noexcept {
  return x_ ? x_->headers : kNoHeaders;
}
const std::string& UpgradedStream::what() const noexcept {
  return x_ ? x_->what : kEmpty;
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

// ---- exchange ----------------------------------------------------------------------------------------------

namespace http {

std::string url_encode(std::string_view s, std::string_view keep) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

namespace {

std::string serialize_head(const Request& req) {
  std::string h;
  h.reserve(256 + req.target.size());
  h.append(req.method).append(" ").append(req.target).append(" HTTP/1.1\r\nHost: ").append(req.host);
  h.append("\r\nUser-Agent: dind/0.1\r\n");
  for (const auto& [k, v] : req.headers) {
    if (k.find_first_of("\r\n") != std::string::npos || v.find_first_of("\r\n") != std::string::npos)
      throw Error("header " + k + " for " + req.method + " " + req.target + " contains a line break");
    h.append(k).append(": ").append(v).append("\r\n");
  }
  if (req.upgrade) h.append("Connection: Upgrade\r\nUpgrade: tcp\r\n");
  if (req.source) {
    h.append("Transfer-Encoding: chunked\r\n");
  } else if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    h.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
  }
  h.append("\r\n");
  return h;
}

void write_chunked(Connection& conn, const Request& req, Clock::time_point dl, const std::string& what) {
  std::string chunk;
  std::vector<char> data(64 * 1024);
  for (;;) {
    std::size_t n = req.source(data.data(), data.size());
    if (n > data.size()) throw Error(what + ": the body source returned more bytes than asked for");
    char size_line[24];
    int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
    chunk.assign(size_line, static_cast<std::size_t>(len));
    if (n == 0) {
      chunk.append("\r\n");
      conn.write(chunk.data(), chunk.size(), dl, what);
      return;
    }
    chunk.append(data.data(), n).append("\r\n");
    conn.write(chunk.data(), chunk.size(), dl, what);
  }
}

std::unique_ptr<detail::Exchange> start(std::unique_ptr<Connection> conn, const Request& req,
                                        Clock::time_point head_deadline, std::string what, Recycle recycle,
                                        bool* answered) {
  auto x = std::make_unique<detail::Exchange>();
  x->conn = std::move(conn);
  x->recycle = std::move(recycle);
  x->what = std::move(what);
  if (answered) *answered = false;
  std::string head = serialize_head(req);
  try {
    if (!req.source && req.body.size() <= kInlineBody) {
      head += req.body;
      x->conn->write(head.data(), head.size(), head_deadline, x->what);
    } else {
      x->conn->write(head.data(), head.size(), head_deadline, x->what);
      if (req.source)
        write_chunked(*x->conn, req, head_deadline, x->what);
      else
        x->conn->write(req.body.data(), req.body.size(), head_deadline, x->what);
    }
  } catch (const ConnectionError&) {
    // The daemon may answer (404, 400) and close before reading an upload: show that answer, not EPIPE.
    x->conn->mark_unreusable();
    try {
      auto probe = std::make_unique<detail::Exchange>();
      probe->conn = std::move(x->conn);
      probe->what = x->what;
      probe->read_head(std::min(head_deadline, deadline_after(std::chrono::seconds(2))), req.method == "HEAD");
      if (answered) *answered = true;
      return probe;
    } catch (...) {
    }
    throw;
  } catch (...) {
    if (x->conn) x->conn->mark_unreusable();  // a body source that threw leaves a half-written request
    throw;
  }
  try {
    x->read_head(head_deadline, req.method == "HEAD");
  } catch (...) {
    if (answered) *answered = x->parser.got_some() || x->buf.size() > 0;
    throw;
  }
  if (answered) *answered = true;
  return x;
}

}  // namespace

BodyReader exchange(std::unique_ptr<Connection> conn, const Request& req, Clock::time_point head_deadline,
                    std::string what, Recycle recycle, bool* answered) {
  return BodyReader(start(std::move(conn), req, head_deadline, std::move(what), std::move(recycle), answered));
}

std::pair<std::optional<UpgradedStream>, std::optional<BodyReader>> upgrade(std::unique_ptr<Connection> conn,
                                                                            const Request& req,
                                                                            Clock::time_point head_deadline,
                                                                            std::string what) {
  Request r = req;
  r.upgrade = true;
  auto x = start(std::move(conn), r, head_deadline, std::move(what), nullptr, nullptr);
  if (x->status == 101 || x->status == 200) {
    x->conn->mark_unreusable();
    return {UpgradedStream(std::move(x)), std::nullopt};
  }
  return {std::nullopt, BodyReader(std::move(x))};
}

std::pair<std::optional<UpgradedStream>, std::optional<BodyReader>> read_response(ReadSource source, bool upgrade,
                                                                                  bool head_request, std::string what) {
  auto x = std::make_unique<detail::Exchange>();
  x->source = std::move(source);
  x->what = std::move(what);
  x->read_head(kNoDeadline, head_request);
  if (upgrade && (x->status == 101 || x->status == 200)) return {UpgradedStream(std::move(x)), std::nullopt};
  return {std::nullopt, BodyReader(std::move(x))};
}

}  // namespace http
}  // namespace dind
