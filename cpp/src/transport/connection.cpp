#include "dind/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "dind/errors.hpp"
#include "transport/connect_errors.hpp"
#include "transport/ssh_process.hpp"
#include "transport/tls_context.hpp"

namespace dind {

namespace net = boost::asio;
using boost::system::error_code;
using tcp = net::ip::tcp;
using unix_socket = net::local::stream_protocol::socket;

Clock::time_point deadline_after(Clock::duration d) noexcept {
  auto now = Clock::now();
  if (d >= kNoDeadline - now) return kNoDeadline;
  return now + d;
}

namespace {

// How often a blocked operation looks at its cancel flag; cancel() also posts a wake-up, so this is a backstop.
constexpr auto kSlice = std::chrono::milliseconds(100);

std::string seconds(Clock::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
}

bool is_ssl_error(const error_code& ec) {
  return ec.category() == net::error::get_ssl_category() || ec == net::ssl::error::stream_truncated;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// A unix socket, TCP, TLS over TCP, or ssh (a socketpair to the ssh client): all Asio streams on an io_context of
// this connection's own.
class SocketConnection final : public Connection {
 public:
  explicit SocketConnection(const Endpoint& endpoint) : ep(endpoint) {}

  void open(std::shared_ptr<detail::TlsContext> tls_context, Clock::time_point deadline) {
    switch (ep.kind) {
      case Endpoint::Kind::Unix: connect_unix(deadline); return;
      case Endpoint::Kind::Ssh: {
        ssh.emplace();
        unix_sock.emplace(ioc);
        unix_sock->assign(net::local::stream_protocol(), ssh->spawn(ep, deadline));
        return;
      }
      case Endpoint::Kind::Tunnel:
        throw ConnectionError("connecting to " + ep.url() + ": a tunnel is dialled through its engine's API");
      case Endpoint::Kind::Tcp: break;
    }
    if (ep.tls) {
      if (!tls_context) throw TlsError("connecting to " + ep.url() + ": TLS endpoint without a TLS configuration");
      tls = std::move(tls_context);
      ssl.emplace(ioc, tls->ctx);
      connect_tcp(deadline);
      handshake(deadline);
    } else {
      tcp_sock.emplace(ioc);
      connect_tcp(deadline);
    }
  }

  std::size_t read_some(void* buf, std::size_t n, Clock::time_point deadline, const std::string& label) override;
  void write(const void* buf, std::size_t n, Clock::time_point deadline, const std::string& label) override;
  void shutdown_send() override;
  void cancel() noexcept override;
  bool cancelled() const noexcept override { return cancelled_.load(std::memory_order_acquire); }
  bool input_pending() const noexcept override;
  bool reusable() const noexcept override { return !broken && !cancelled(); }
  void mark_unreusable() noexcept override { broken = true; }
  bool received_any() const noexcept override { return got_bytes; }
  const Endpoint& endpoint() const noexcept override { return ep; }
  Clock::time_point last_used() const noexcept override { return last_used_; }

 private:
  net::io_context ioc;
  // Keeps run_one_for() waiting instead of the io_context stopping when it runs out of work: no restart() is needed,
  // which would be unsafe while another thread runs it.
  net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
  std::mutex lead_mu_;
  std::condition_variable lead_cv_;
  bool led_ = false;  // a thread runs the io_context (guarded by lead_mu_)
  Endpoint ep;
  std::shared_ptr<detail::TlsContext> tls;
  std::optional<detail::SshProcess> ssh;             // declared before the socket: closed after it
  std::optional<unix_socket> unix_sock;              // unix, and ssh (our end of the socketpair)
  std::optional<tcp::socket> tcp_sock;               // plain TCP
  std::optional<net::ssl::stream<tcp::socket>> ssl;  // TLS over TCP
  std::atomic<bool> cancelled_{false};
  // Written by a reader and a writer at once (the forwarder), hence atomic.
  std::atomic<bool> broken{false};
  std::atomic<bool> got_bytes{false};
  std::atomic<Clock::time_point> last_used_{Clock::now()};
  std::mutex ssh_mu_;  // a reader and a writer may both fail at once and ask ssh why

  int fd() {
    if (unix_sock) return unix_sock->native_handle();
    if (tcp_sock) return tcp_sock->native_handle();
    if (ssl) return ssl->next_layer().native_handle();
    return -1;
  }
  void cancel_io() {
    error_code ignored;
    if (unix_sock) unix_sock->cancel(ignored);
    if (tcp_sock) tcp_sock->cancel(ignored);
    if (ssl) ssl->next_layer().cancel(ignored);
  }

  // Runs the async op that `start` begins until it completes, `deadline` passes or cancel() is called. Returns the
  // op's error and byte count; throws TimeoutError, or ConnectionError when cancelled.
  //
  // One reader and one writer may run at once (the forwarder pumps both ways): whichever thread holds the lead runs
  // the io_context, and with it every handler and every initiation, so the socket (an ssl::stream too) is only ever
  // touched by one thread at a time; the other thread waits for its op's handler or for the lead.
  template <class Start>
  std::pair<error_code, std::size_t> run(const std::string& what, Clock::time_point deadline, Start&& start) {
    if (cancelled()) {
      broken = true;
      throw ConnectionError(what + ": the connection was closed");
    }
    struct Op {
      std::atomic<bool> done{false};
      error_code ec;
      std::size_t bytes = 0;
    } op;
    auto handler = [this, &op](const error_code& ec, std::size_t n) {
      op.ec = ec;
      op.bytes = n;
      {
        std::lock_guard<std::mutex> lock(lead_mu_);
        op.done.store(true, std::memory_order_release);
      }
      lead_cv_.notify_all();
    };
    Lead lead(*this);
    if (lead.held())
      start(handler);
    else
      net::post(ioc, [&start, handler] { start(handler); });
    const auto started = Clock::now();
    bool aborted = false;
    Clock::duration waited{};
    while (!op.done.load(std::memory_order_acquire)) {
      const auto now = Clock::now();
      const bool stop = cancelled();
      if (!aborted && (stop || now >= deadline)) {
        // Ends every op on the socket (a timed-out connection is spent either way), then waits for ours to finish.
        aborted = true;
        net::post(ioc, [this] { cancel_io(); });
        broken = true;
        waited = now - started;
      }
      if (!lead.held() && !lead.wait(op.done, kSlice)) continue;
      ioc.run_one_for(std::min<Clock::duration>(aborted ? kSlice : deadline - now, kSlice));
    }
    lead.release();
    if (aborted) {
      if (cancelled()) throw ConnectionError(what + ": the connection was closed");
      throw TimeoutError(what + ": timed out after " + seconds(waited));
    }
    last_used_ = Clock::now();
    return {op.ec, op.bytes};
  }

  // The lead of the io_context (see run()): taken when free, handed over by notifying the waiting thread.
  class Lead {
   public:
    explicit Lead(SocketConnection& c) : c_(c) { try_take(); }
    ~Lead() { release(); }
    bool held() const noexcept { return held_; }
    // Waits until `done` or the lead is free (then takes it); true if this thread now leads.
    bool wait(const std::atomic<bool>& done, Clock::duration slice) {
      std::unique_lock<std::mutex> lock(c_.lead_mu_);
      c_.lead_cv_.wait_for(lock, slice, [&] { return done.load(std::memory_order_acquire) || !c_.led_; });
      if (!done.load(std::memory_order_acquire) && !c_.led_) held_ = c_.led_ = true;
      return held_;
    }
    void release() noexcept {
      if (!held_) return;
      {
        std::lock_guard<std::mutex> lock(c_.lead_mu_);
        c_.led_ = held_ = false;
      }
      c_.lead_cv_.notify_all();
    }

   private:
    void try_take() {
      std::lock_guard<std::mutex> lock(c_.lead_mu_);
      if (!c_.led_) held_ = c_.led_ = true;
    }
    SocketConnection& c_;
    bool held_ = false;
  };

  // An ssh stream that ended or broke before any answer: ssh's own words say why (refused, auth, no docker).
  [[noreturn]] void fail_ssh(const std::string& what, const std::string& detail) {
    broken = true;
    std::string why;
    {
      std::lock_guard<std::mutex> lock(ssh_mu_);
      why = ssh->diagnosis(std::chrono::seconds(2));
    }
    throw ConnectionError(what + ": " + detail + " (" + why + ")");
  }

  [[noreturn]] void fail_io(const std::string& what, const error_code& ec) {
    broken = true;
    if (ssh && !got_bytes) fail_ssh(what, "the ssh connection failed before any answer");
    if (ssl && !got_bytes) {
      // TLS 1.3: a client cert the server rejects surfaces on the first read (an alert, or just a reset).
      throw TlsError(
          what + ": TLS failed right after the handshake (was the client certificate rejected?): " +
          (ec == net::ssl::error::stream_truncated ? std::string("the server closed the connection") : ec.message()));
    }
    if (ssl && is_ssl_error(ec)) throw TlsError(what + ": " + ec.message());
    if (tcp_sock && !got_bytes)  // a TLS server drops a plaintext request without a word
      throw ConnectionError(what + ": " + ec.message() +
                            " before any answer (is this a TLS port? then use https:// "
                            "or a TLS config)");
    throw ConnectionError(what + ": " + ec.message());
  }

  void connect_unix(Clock::time_point deadline) {
    unix_sock.emplace(ioc);
    auto [ec, n] = run("connecting to " + ep.url(), deadline, [&](auto handler) {
      unix_sock->async_connect(net::local::stream_protocol::endpoint(ep.path),
                               [handler](const error_code& e) mutable { handler(e, 0); });
    });
    (void)n;
    if (!ec) return;
    broken = true;
    detail::throw_unix_connect_error(ep, ec);
  }

  void connect_tcp(Clock::time_point deadline) {
    tcp::socket& sock = ssl ? ssl->next_layer() : *tcp_sock;
    const std::string what = "connecting to " + ep.url();
    std::vector<tcp::endpoint> targets;
    error_code aec;
    auto addr = net::ip::make_address(ep.host, aec);
    if (!aec) {
      targets.emplace_back(addr, ep.port);
    } else {
      tcp::resolver resolver(ioc);
      tcp::resolver::results_type results;
      auto [ec, n] = run("resolving " + ep.host + " for " + ep.url(), deadline, [&](auto handler) {
        resolver.async_resolve(ep.host, std::to_string(ep.port),
                               [handler, &results](const error_code& e, tcp::resolver::results_type r) mutable {
                                 results = std::move(r);
                                 handler(e, 0);
                               });
      });
      (void)n;
      if (ec) throw ConnectionError("cannot resolve " + ep.host + " for " + ep.url() + ": " + ec.message());
      for (const auto& r : results) targets.push_back(r.endpoint());
    }
    auto [ec, n] = run(what, deadline, [&](auto handler) {
      net::async_connect(sock, targets,
                         [handler](const error_code& e, const tcp::endpoint&) mutable { handler(e, 0); });
    });
    (void)n;
    if (ec) {
      broken = true;
      if (ec == net::error::connection_refused)
        throw ConnectionError("cannot connect to " + ep.host_header() + " (" + ep.url() + "): connection refused");
      throw ConnectionError("cannot connect to " + ep.host_header() + " (" + ep.url() + "): " + ec.message());
    }
    error_code ignored;
    sock.set_option(tcp::no_delay(true), ignored);
    sock.set_option(net::socket_base::keep_alive(true), ignored);
    int idle = 30;
    ::setsockopt(sock.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  }

  void handshake(Clock::time_point deadline) {
    SSL* s = ssl->native_handle();
    const std::string& name = tls->server_name.empty() ? ep.host : tls->server_name;
    if (tls->verify) SSL_set1_host(s, name.c_str());  // name or IP literal, checked inside chain verification
    if (!is_ip_literal(name)) SSL_set_tlsext_host_name(s, name.c_str());  // SNI for DNS names only
    const std::string what = "TLS handshake with " + ep.url();
    auto [ec, n] = run(what, deadline, [&](auto handler) {
      ssl->async_handshake(net::ssl::stream_base::client, [handler](const error_code& e) mutable { handler(e, 0); });
    });
    (void)n;
    if (!ec) return;
    broken = true;
    detail::throw_handshake_error(what, ep, ec, s);
  }
};

std::size_t SocketConnection::read_some(void* buf, std::size_t n, Clock::time_point deadline,
                                        const std::string& label) {
  const std::string what = label.empty() ? "reading from " + ep.url() : label;
  // What has already arrived (an end included) is read directly. Asio's epoll reactor is edge-triggered and takes a
  // short read as "drained, wait for the next edge"; when the peer's last bytes and its close came in one edge, no
  // edge follows and an async read would wait forever (FakeStreams.HijackedDropInsideFrameIsStreamError in
  // tests/cpp/test_streams.cpp). A plain socket's recv is safe beside the other thread's writes; TLS state is not,
  // so TLS reads go through Asio only.
  if (!ssl && !cancelled()) {
    const ssize_t r = ::recv(fd(), buf, n, MSG_DONTWAIT);
    if (r > 0) {
      got_bytes = true;
      last_used_ = Clock::now();
      return static_cast<std::size_t>(r);
    }
    if (r == 0) {
      if (ssh && !got_bytes) fail_ssh(what, "the ssh connection ended before any answer");
      return 0;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      fail_io(what, error_code(errno, boost::system::system_category()));
  }
  auto [ec, got] = run(what, deadline, [&](auto handler) {
    auto b = net::buffer(buf, n);
    if (unix_sock)
      unix_sock->async_read_some(b, handler);
    else if (tcp_sock)
      tcp_sock->async_read_some(b, handler);
    else
      ssl->async_read_some(b, handler);
  });
  if (got > 0) {
    got_bytes = true;
    return got;
  }
  const bool eof = !ec || ec == net::error::eof || (ssl && ec == net::ssl::error::stream_truncated);
  // EOF is for HTTP framing to judge, except on a fresh TLS connection (a rejected handshake) and on a fresh ssh
  // one (ssh failed, and said why on its stderr).
  if (eof && ssh && !got_bytes) fail_ssh(what, "the ssh connection ended before any answer");
  if (eof && !(ssl && !got_bytes)) return 0;
  fail_io(what, ec);
}

void SocketConnection::write(const void* buf, std::size_t n, Clock::time_point deadline, const std::string& label) {
  const std::string what = label.empty() ? "writing to " + ep.url() : label;
  auto [ec, put] = run(what, deadline, [&](auto handler) {
    auto b = net::buffer(buf, n);
    if (unix_sock)
      net::async_write(*unix_sock, b, handler);
    else if (tcp_sock)
      net::async_write(*tcp_sock, b, handler);
    else
      net::async_write(*ssl, b, handler);
  });
  (void)put;
  if (ec) fail_io(what, ec);
}

void SocketConnection::shutdown_send() {
  broken = true;  // a half-closed connection never goes back to a pool
  error_code ec;
  if (unix_sock)
    unix_sock->shutdown(net::socket_base::shutdown_send, ec);
  else if (tcp_sock)
    tcp_sock->shutdown(net::socket_base::shutdown_send, ec);
  else
    ssl->next_layer().shutdown(net::socket_base::shutdown_send, ec);  // like moby: raw TCP, no close_notify
  if (ec && ec != net::error::not_connected)
    throw ConnectionError("half-closing the connection to " + ep.url() + ": " + ec.message());
}

void SocketConnection::cancel() noexcept {
  cancelled_.store(true, std::memory_order_release);
  try {
    // Wakes the thread blocked in run_one_for at once; posting is the thread-safe way to touch the io_context.
    net::post(ioc, [this] { cancel_io(); });
  } catch (...) {
  }
}

bool SocketConnection::input_pending() const noexcept {
  auto& self = const_cast<SocketConnection&>(*this);  // Asio's handles are non-const; nothing is changed here
  if (self.ssl && SSL_pending(self.ssl->native_handle()) > 0) return true;
  pollfd p{self.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;  // readable (bytes, EOF, RST) or an error
}

}  // namespace

std::unique_ptr<Connection> Connection::open(const Endpoint& endpoint, std::shared_ptr<detail::TlsContext> tls,
                                             Clock::time_point deadline) {
  auto c = std::make_unique<SocketConnection>(endpoint);
  c->open(std::move(tls), deadline);
  return c;
}

}  // namespace dind
