// Layer 2: one byte stream over a unix socket, TCP or TLS. Every operation runs under a deadline on the calling
// thread (Asio async ops driven by run_for slices); cancel() from any other thread ends a blocked operation.
#pragma once

#include <chrono>
#include <cstddef>
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
  static std::unique_ptr<Connection> open(const Endpoint& endpoint, std::shared_ptr<detail::TlsContext> tls,
                                          Clock::time_point deadline);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Reads at least one byte; returns 0 at end of stream. Throws TimeoutError after `deadline`, ConnectionError when
  // the peer resets or the connection was cancelled, TlsError for TLS alerts (e.g. a rejected client cert).
  // `what` names the operation in messages (default: "reading from <url>").
  std::size_t read_some(void* buf, std::size_t n, Clock::time_point deadline, const std::string& what = {});
  // Writes everything.
  void write(const void* buf, std::size_t n, Clock::time_point deadline, const std::string& what = {});
  // Half-close: no more writes, reads go on (shutdown(SHUT_WR); for TLS on the raw TCP socket, like moby).
  void shutdown_send();

  // Thread-safe: ends the operation blocked in another thread (it throws ConnectionError) and every later one.
  void cancel() noexcept;
  bool cancelled() const noexcept;

  // An idle connection is fit for reuse if nothing is readable on it (a zero-timeout poll): EOF, a reset or stray
  // bytes all mean the server has given up on it.
  bool idle_alive() const noexcept;
  // False once an operation failed, timed out or was cancelled, or after shutdown_send().
  bool reusable() const noexcept;
  void mark_unreusable() noexcept;
  // Whether any byte ever arrived (a fresh connection failing before one is diagnosed differently).
  bool received_any() const noexcept;

  const Endpoint& endpoint() const noexcept;
  Clock::time_point last_used() const noexcept;

 private:
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dind
