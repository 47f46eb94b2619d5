// Layer 2: one byte stream to an engine. Every operation runs under a deadline on the calling thread (Asio async ops
// driven by run_for slices); cancel() from any other thread ends a blocked operation.
//
// Connection is the interface the HTTP layer speaks over. open() makes the transports an Endpoint names: a unix
// socket, TCP, TLS over TCP, or ssh (the engine's socket reached through `ssh HOST docker system dial-stdio`, the
// docker CLI's way). Other streams plug in through a Dialer: the tunnel through an engine's exec API
// (dind/tunnel.hpp) is one.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "dind/endpoint.hpp"
#include "dind/tls.hpp"

namespace dind {

using Clock = std::chrono::steady_clock;
// No deadline.
inline constexpr Clock::time_point kNoDeadline = Clock::time_point::max();
// now + d, saturating.
Clock::time_point deadline_after(Clock::duration d) noexcept;

class Connection {
 public:
  // Connects (and for TLS handshakes) before `deadline`. ConnectionError / TimeoutError / TlsError name the endpoint.
  // An ssh endpoint starts the ssh client; its failures (refused, auth) surface on the first read, with its stderr.
  static std::unique_ptr<Connection> open(const Endpoint& endpoint, std::shared_ptr<detail::TlsContext> tls,
                                          Clock::time_point deadline);
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Reads at least one byte; returns 0 at end of stream. Throws TimeoutError after `deadline`, ConnectionError when
  // the peer resets or the connection was cancelled, TlsError for TLS alerts (e.g. a rejected client cert).
  // `what` names the operation in messages (empty: "reading from <url>").
  virtual std::size_t read_some(void* buf, std::size_t n, Clock::time_point deadline, const std::string& what) = 0;
  // Writes everything.
  virtual void write(const void* buf, std::size_t n, Clock::time_point deadline, const std::string& what) = 0;
  std::size_t read_some(void* buf, std::size_t n, Clock::time_point deadline) {
    return read_some(buf, n, deadline, {});
  }
  void write(const void* buf, std::size_t n, Clock::time_point deadline) { write(buf, n, deadline, {}); }
  // Half-close: no more writes, reads go on (shutdown(SHUT_WR); for TLS on the raw TCP socket, like moby).
  virtual void shutdown_send() = 0;

  // Thread-safe: ends the operation blocked in another thread (it throws ConnectionError) and every later one.
  virtual void cancel() noexcept = 0;
  virtual bool cancelled() const noexcept = 0;

  // Something is readable right now (a zero-timeout poll): bytes, EOF or an error.
  virtual bool input_pending() const noexcept = 0;
  // An idle connection is fit for reuse if it is neither broken nor cancelled and nothing is readable on it: EOF, a
  // reset or stray bytes all mean the server has given up on it.
  bool idle_alive() const noexcept { return reusable() && !input_pending(); }
  // False once an operation failed, timed out or was cancelled, or after shutdown_send().
  virtual bool reusable() const noexcept = 0;
  virtual void mark_unreusable() noexcept = 0;
  // Whether any byte ever arrived (a fresh connection failing before one is diagnosed differently).
  virtual bool received_any() const noexcept = 0;

  virtual const Endpoint& endpoint() const noexcept = 0;
  virtual Clock::time_point last_used() const noexcept = 0;

 protected:
  Connection() = default;
};

// Makes a new connection before `deadline`. A client given one dials through it instead of Connection::open.
using Dialer = std::function<std::unique_ptr<Connection>(Clock::time_point deadline)>;

}  // namespace dind
