#include "dind/pool.hpp"

#include "dind/errors.hpp"

namespace dind {

Pool::Pool(Endpoint endpoint, std::optional<TlsConfig> tls, Options options, Dialer dialer)
    : endpoint_(std::move(endpoint)), options_(options), dialer_(std::move(dialer)) {
  if (endpoint_.tls) {
    if (!tls) tls = TlsConfig{};
    tls_ = detail::make_tls_context(*tls);
  }
}

Pool::Lease Pool::acquire(Clock::time_point deadline) {
  for (;;) {
    std::unique_ptr<Connection> c;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (idle_.empty()) break;
      c = std::move(idle_.back());
      idle_.pop_back();
    }
    // Checked outside the lock; a stale one is dropped (closed by its destructor) and the next one tried.
    if (Clock::now() - c->last_used() < options_.idle_keepalive && c->idle_alive()) return Lease{std::move(c), true};
  }
  return Lease{connect(deadline), false};
}

std::unique_ptr<Connection> Pool::connect(Clock::time_point deadline) {
  const auto dl = std::min(deadline, deadline_after(options_.connect_timeout));
  if (dialer_) return dialer_(dl);
  return Connection::open(endpoint_, tls_, dl);
}

void Pool::release(std::unique_ptr<Connection> conn) {
  if (!conn || !conn->reusable()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() >= options_.max_idle) idle_.pop_front();  // keep the most recently used ones
  idle_.push_back(std::move(conn));
}

std::size_t Pool::idle_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}

void Pool::clear() {
  std::deque<std::unique_ptr<Connection>> drop;
  std::lock_guard<std::mutex> lock(mu_);
  drop.swap(idle_);
}

}  // namespace dind
