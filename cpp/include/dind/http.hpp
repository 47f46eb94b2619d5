// Layer 3: HTTP/1.1 over a Connection. Responses are parsed by Beast (head, then the body incrementally:
// chunked, Content-Length or to EOF); requests are written by hand (a string body or a chunked pull source);
// an upgrade (101, or 200 on the hijack endpoints) turns the connection into a raw duplex stream.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dind/connection.hpp"

namespace dind {

using Headers = std::vector<std::pair<std::string, std::string>>;
// Pull source for a chunked request body: fill up to `cap` bytes of `buf`, return the count; 0 ends the body.
using BodySource = std::function<std::size_t(char* buf, std::size_t cap)>;
// Receives a connection whose exchange finished cleanly (the pool's release); may be empty.
using Recycle = std::function<void(std::unique_ptr<Connection>)>;

// Case-insensitive header lookup; nullptr when absent.
const std::string* find_header(const Headers& headers, std::string_view name) noexcept;

struct Response {
  int status = 0;
  std::string reason;
  Headers headers;
  std::string body;
  const std::string* header(std::string_view name) const noexcept { return find_header(headers, name); }
};

struct Request {
  std::string method = "GET";
  std::string target = "/";  // path and query, already encoded
  std::string host;          // Host header
  Headers headers;
  std::string body;                      // sent with Content-Length (unless `source` is set)
  BodySource source;                     // streamed as Transfer-Encoding: chunked
  bool upgrade = false;                  // Connection: Upgrade, Upgrade: <upgrade_protocol>
  std::string upgrade_protocol = "tcp";  // the engine's hijack; "websocket" for the Kubernetes API server
};

namespace detail {
struct Exchange;
}

// The body of a response, read incrementally. Owns its connection: a body read to its end goes back to the pool
// (if the server keeps it alive); a body closed early or broken never does. One reader thread; close() from any.
class BodyReader {
 public:
  BodyReader() noexcept;
  explicit BodyReader(std::unique_ptr<detail::Exchange> x) noexcept;
  BodyReader(BodyReader&&) noexcept;
  BodyReader& operator=(BodyReader&&) noexcept;
  ~BodyReader();

  int status() const noexcept;
  const std::string& reason() const noexcept;
  const Headers& headers() const noexcept;
  const std::string* header(std::string_view name) const noexcept { return find_header(headers(), name); }

  // Up to `n` body bytes; 0 at the end of the body (or after close()). Blocks until some arrive or the idle
  // timeout passes (TimeoutError). A connection lost mid-body throws StreamError.
  std::size_t read_some(char* buf, std::size_t n);
  // Like read_some, but only what is buffered or already readable on the connection: never waits for the server
  // (0 then, with done() still false). Streams use it to batch what has arrived without delaying a chunk.
  std::size_t read_available(char* buf, std::size_t n);
  // The rest of the body; StreamError once it exceeds `limit`.
  std::string read_all(std::size_t limit = static_cast<std::size_t>(-1));
  // Drains the rest (up to `limit` bytes) so the connection can be reused; returns false if it gave up.
  bool drain(std::size_t limit = 64 * 1024) noexcept;
  bool done() const noexcept;
  // Deadline for each read from now on: an idle timeout (none by default for streams).
  void set_idle_timeout(std::optional<Clock::duration> timeout) noexcept;
  // Absolute deadline for the rest of the body (unary calls).
  void set_deadline(Clock::time_point deadline) noexcept;
  // Ends the stream: a read blocked in another thread returns 0; the connection is discarded.
  void close() noexcept;
  // The address and request this body belongs to ("GET /v1.41/events on unix:///...").
  const std::string& what() const noexcept;

 private:
  std::unique_ptr<detail::Exchange> x_;
};

// The raw duplex stream after an upgrade (attach, exec start). Bytes that came with the response head are read
// first. Never returns to the pool.
class UpgradedStream {
 public:
  UpgradedStream() noexcept;
  explicit UpgradedStream(std::unique_ptr<detail::Exchange> x) noexcept;
  UpgradedStream(UpgradedStream&&) noexcept;
  UpgradedStream& operator=(UpgradedStream&&) noexcept;
  ~UpgradedStream();

  int status() const noexcept;
  const Headers& headers() const noexcept;
  const std::string* header(std::string_view name) const noexcept { return find_header(headers(), name); }

  // Up to `n` bytes; 0 at EOF or after close().
  std::size_t read_some(char* buf, std::size_t n);
  void write(const char* data, std::size_t n);
  void write(std::string_view data) { write(data.data(), data.size()); }
  // The same under an explicit deadline instead of the idle timeout: one thread may read while another writes.
  std::size_t read_some(char* buf, std::size_t n, Clock::time_point deadline);
  void write(const char* data, std::size_t n, Clock::time_point deadline);
  // Bytes buffered, or something readable on the connection (see Connection::input_pending); true once closed.
  bool input_pending() const noexcept;
  // Half-close (stdin EOF): the peer sees EOF, output keeps coming until it ends.
  void close_write();
  void set_idle_timeout(std::optional<Clock::duration> timeout) noexcept;
  void close() noexcept;  // any thread
  const std::string& what() const noexcept;

 private:
  std::unique_ptr<detail::Exchange> x_;
};

namespace http {

// Writes `req` on `conn` and reads the response head before `head_deadline`. `what` names the request in
// messages. The returned reader owns `conn`; `recycle` gets it back after a clean end of body.
// If writing the body fails because the server already answered (e.g. 404 before reading an upload), that answer
// is returned. `*answered` (optional) tells whether any response byte arrived, for the retry rule.
BodyReader exchange(std::unique_ptr<Connection> conn, const Request& req, Clock::time_point head_deadline,
                    std::string what, Recycle recycle, bool* answered = nullptr);

// Like exchange() with req.upgrade set; status 101 or 200 gives the raw stream, anything else a BodyReader
// (the caller turns it into an error). Exactly one of the pair is set.
std::pair<std::optional<UpgradedStream>, std::optional<BodyReader>> upgrade(std::unique_ptr<Connection> conn,
                                                                            const Request& req,
                                                                            Clock::time_point head_deadline,
                                                                            std::string what);

// Stands in for Connection::read_some in read_response(): up to `n` bytes into `buf`, 0 at end of stream.
using ReadSource = std::function<std::size_t(char* buf, std::size_t n)>;
// The response side of exchange() (upgrade: of upgrade()) over `source` instead of a connection: the same head and
// body parsing, for the fuzzers. Exactly one of the pair is set; nothing is ever recycled.
std::pair<std::optional<UpgradedStream>, std::optional<BodyReader>> read_response(ReadSource source, bool upgrade,
                                                                                  bool head_request, std::string what);

// What an image reference keeps in a path segment: the engine's routes take its "/", ":" and "@" as they are.
inline constexpr std::string_view kImageReferenceChars = "/:@";
// Percent-encodes a query component or a path segment: RFC 3986 unreserved characters stay as they are, and so do
// those in `keep` (kImageReferenceChars where a route takes an image reference).
std::string url_encode(std::string_view s, std::string_view keep = {});

}  // namespace http
}  // namespace dind
