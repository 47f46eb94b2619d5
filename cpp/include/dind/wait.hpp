// Layer 5: waiting until a container is ready for use, the way testcontainers' wait strategies do: a line in its
// log, a published port that accepts connections, an HTTP answer, a healthy healthcheck.
//
//   dind::WaitOptions w;
//   w.log = "ready";                        // or w.port = 80, w.http = "/", w.healthy = true (any together)
//   w.timeout = std::chrono::seconds(30);
//   dind::wait_for(client, container_id, w);
//
// A container that exits (or is removed) before its wait is met fails at once with ContainerExitedError (its exit
// code and log tail); the deadline passing throws TimeoutError naming what was awaited, the container, the engine and
// the log tail. Ports are dialled from where this process stands: through the client's PortReach (a dind daemon's
// client is given one that fits its reach, dind/reach.hpp), else at the engine's host.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "dind/client.hpp"
#include "dind/frames.hpp"

namespace dind {

// What to wait for; every field that is set must hold (checked in this order: log, healthy, port, http).
struct WaitOptions {
  std::string log;         // an ECMAScript regex, matched against the log (stdout and stderr) as it streams
  std::uint16_t port = 0;  // the container's port N/tcp, published: a connection to it stays up (PortReach::open)
  std::string http;        // a path ("/health"), GET on the published port `http_port` (default: `port`, else 80)
  std::uint16_t http_port = 0;
  int status = 0;        // the status the GET must answer (0: any 2xx or 3xx)
  bool healthy = false;  // State.Health.Status == "healthy" (an error at once without a healthcheck)
  std::chrono::milliseconds timeout{60000};
  int log_tail = 20;  // lines of the container's log carried by the errors

  // "log /ready/, port 80/tcp": what is awaited, for messages.
  std::string describe() const;
};

// How this process reaches a port the engine published on its side (a dind daemon's published ports live in the
// dind container's network namespace).
class PortReach {
 public:
  virtual ~PortReach() = default;
  // Whether a TCP connection to `port` opens before `deadline` and is not closed at once: a userland proxy
  // (docker-proxy) accepts on a published port before the container listens, then closes.
  virtual bool open(std::uint16_t port, Clock::time_point deadline) const = 0;
  // Sends `request` to `port` and returns what came back until the peer closed (or `deadline`, with what came);
  // throws ConnectionError when nothing could be connected.
  virtual std::string exchange(std::uint16_t port, const std::string& request, Clock::time_point deadline) const = 0;
  // "at 172.17.0.3", "through an exec in dind container NAME on ENGINE": for messages.
  virtual std::string describe() const = 0;
};

// Dials HOST:PORT from this process.
std::shared_ptr<const PortReach> direct_port_reach(std::string host);
// Connects from inside container `id` on `outer` to its 127.0.0.1:PORT, by an exec (bash's /dev/tcp, else `nc`:
// the offline image has bash, docker:dind busybox).
std::shared_ptr<const PortReach> exec_port_reach(Client outer, std::string id, std::string name);
// The client's own PortReach, else direct at the engine's host (127.0.0.1 for a unix socket).
std::shared_ptr<const PortReach> port_reach_of(const Client& client);

// One wait, closable from another thread (Ctrl-C in the bindings): run() then throws Error("... cancelled").
class ContainerWait {
 public:
  ContainerWait(Client client, std::string id, WaitOptions options);
  // Blocks until every condition holds; throws as described above, or Error for bad options (a bad regex, a port
  // that is not published, healthy without a healthcheck).
  void run();
  void close() noexcept;

 private:
  void wait_log(Clock::time_point deadline);
  void wait_healthy(Clock::time_point deadline);
  void wait_port(Clock::time_point deadline);
  void wait_http(Clock::time_point deadline);
  void check_running(const std::string& awaiting);
  std::uint16_t published_port(std::uint16_t port);
  [[noreturn]] void timed_out(const std::string& awaiting, const std::string& last);
  std::string log_tail();

  Client client_;
  std::string id_;
  WaitOptions o_;
  std::string where_;  // "container NAME (ID) on HOST"
  std::atomic<bool> closed_{false};
  std::mutex mu_;
  FrameReader* stream_ = nullptr;  // the log stream being read, for close()
};

// ContainerWait(client, id, options).run().
void wait_for(Client& client, const std::string& id, const WaitOptions& options);

}  // namespace dind
