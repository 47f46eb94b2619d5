// Private to the http layer: one request/response on one connection, shared by the request writer (request.cpp),
// the response parser (response.cpp) and the two ways a response is read (body_reader.cpp, upgraded_stream.cpp).
#pragma once

#include <atomic>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "dind/http.hpp"

namespace dind::detail {

inline constexpr std::size_t kHeaderLimit = 64 * 1024;
inline constexpr std::size_t kReadChunk = 64 * 1024;  // big reads: fewer syscalls and chunks on fast streams

// What the accessors of a reader without an exchange (moved from, default-made) return.
inline const std::string kNoText;
inline const Headers kNoHeaders;

// The parser state, the bytes read past what was parsed, and the connection until the exchange ends (recycled on a
// clean end, dropped otherwise).
struct Exchange {
  std::unique_ptr<Connection> conn;
  http::ReadSource source;  // read instead of `conn` (read_response(): fuzzing); no connection then
  Recycle recycle;
  std::string what;
  boost::beast::http::response_parser<boost::beast::http::buffer_body> parser;
  boost::beast::flat_buffer buf;
  int status = 0;
  std::string reason;
  Headers headers;
  std::optional<Clock::duration> idle;
  Clock::time_point deadline = kNoDeadline;
  std::mutex mu;  // guards `conn` against close() from another thread
  std::atomic<bool> closed{false};
  bool finished = false;
  bool head_parsed = false;
  boost::system::error_code body_error;  // met after bytes already given out in the same call; raised by the next
  std::string status_line;  // what Beast consumed of a head whose end has not arrived yet (the status line)

  Clock::time_point next_deadline() const { return idle ? std::min(deadline, deadline_after(*idle)) : deadline; }

  // Reads the response head before `dl` (status, reason, headers); the body stays unread.
  void read_head(Clock::time_point dl, bool head_request);
  // Up to `n` body bytes; 0 at the end of the body, which hands the connection back (finish()). With `wait`
  // false it never blocks: 0 with `finished` still false means nothing is buffered or readable yet.
  std::size_t read_body(char* out, std::size_t n, bool wait = true);
  // Ends the exchange from any thread: a blocked read returns 0, the connection is discarded.
  void close() noexcept;

 private:
  // Feeds what is buffered to the parser (body bytes go to the body's space) and drops what it used.
  std::size_t put_buffered(boost::system::error_code& ec);
  // Reads more bytes into `buf`; 0 at EOF.
  std::size_t fill(Clock::time_point dl);
  // The connection must not be reused.
  void spent() noexcept;
  [[noreturn]] void malformed(const char* part, const boost::system::error_code& ec);
  // Feeds what is buffered to the parser; true once the head is complete.
  bool parse_buffered_head();
  // The connection ended before the head did: says how.
  [[noreturn]] void fail_head_at_eof();
  // Copies the parsed head out of the parser.
  void take_head();
  // The body ended at EOF: a clean end if EOF delimits it, else StreamError.
  std::size_t end_body_at_eof();
  // The body is complete: the connection goes back through `recycle` if it can be reused.
  void finish();
};

}  // namespace dind::detail
