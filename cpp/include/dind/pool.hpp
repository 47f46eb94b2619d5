// Layer 2: a thread-safe keep-alive pool of connections to one endpoint (one per client).
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "dind/connection.hpp"

namespace dind {

class Pool {
 public:
  struct Options {
    std::size_t max_idle = 8;
    Clock::duration idle_keepalive = std::chrono::seconds(30);  // drop connections idle longer than this
    Clock::duration connect_timeout = std::chrono::seconds(30);
  };
  struct Lease {
    std::unique_ptr<Connection> conn;
    bool reused = false;  // came from the idle list (a failure before any answer may be retried once)
  };

  // `dialer` (optional) makes the connections instead of Connection::open(endpoint): a tunnel.
  Pool(Endpoint endpoint, std::optional<TlsConfig> tls, Options options, Dialer dialer = {});

  // An idle connection that still looks alive, else a new one (connect bounded by `deadline` and connect_timeout).
  Lease acquire(Clock::time_point deadline);
  // Always a new connection (hijacks, retries).
  std::unique_ptr<Connection> connect(Clock::time_point deadline);
  // Takes a connection back if it is reusable and there is room; otherwise closes it.
  void release(std::unique_ptr<Connection> conn);
  std::size_t idle_count() const;
  void clear();

  const Endpoint& endpoint() const noexcept { return endpoint_; }

 private:
  Endpoint endpoint_;
  std::shared_ptr<detail::TlsContext> tls_;
  Options options_;
  Dialer dialer_;
  mutable std::mutex mu_;
  std::deque<std::unique_ptr<Connection>> idle_;  // most recently used at the back
};

}  // namespace dind
