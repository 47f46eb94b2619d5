#include "dind/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <optional>

#include "dind/errors.hpp"
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

}  // namespace

struct Connection::Impl {
  net::io_context ioc{1};
  Endpoint ep;
  std::shared_ptr<detail::TlsContext> tls;
  std::optional<unix_socket> unix_sock;
  std::optional<tcp::socket> tcp_sock;               // plain TCP
  std::optional<net::ssl::stream<tcp::socket>> ssl;  // TLS over TCP
  std::atomic<bool> cancelled{false};
  bool broken = false;
  bool got_bytes = false;
  Clock::time_point last_used = Clock::now();

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

  // Runs the async op that `start` begins, on this thread, until it completes, `deadline` passes or cancel() is
  // called. Returns the op's error and byte count; throws TimeoutError, or ConnectionError when cancelled.
  template <class Start>
  std::pair<error_code, std::size_t> run(const std::string& what, Clock::time_point deadline, Start&& start) {
    if (cancelled.load(std::memory_order_acquire)) {
      broken = true;
      throw ConnectionError(what + ": the connection was closed");
    }
    bool done = false;
    error_code result;
    std::size_t bytes = 0;
    start([&](const error_code& ec, std::size_t n) {
      done = true;
      result = ec;
      bytes = n;
    });
    const auto started = Clock::now();
    while (!done) {
      const auto now = Clock::now();
      const bool stop = cancelled.load(std::memory_order_acquire);
      if (stop || now >= deadline) {
        cancel_io();
        ioc.restart();
        while (!done && ioc.run_one() > 0) {
        }
        broken = true;
        if (stop) throw ConnectionError(what + ": the connection was closed");
        throw TimeoutError(what + ": timed out after " + seconds(now - started));
      }
      const auto slice = std::min<Clock::duration>(deadline - now, kSlice);
      ioc.restart();
      ioc.run_one_for(slice);
    }
    last_used = Clock::now();
    return {result, bytes};
  }

  [[noreturn]] void fail_io(const std::string& what, const error_code& ec) {
    broken = true;
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
    const std::string base = "cannot connect to " + ep.url() + ": ";
    if (ec == net::error::not_found || ec.value() == ENOENT)
      throw ConnectionError(base + "socket " + ep.path + " does not exist (is the Docker engine running?)");
    if (ec == net::error::connection_refused)
      throw ConnectionError(base + "connection refused: nothing listens on " + ep.path);
    if (ec == net::error::access_denied || ec.value() == EACCES)
      throw ConnectionError(base + "permission denied on " + ep.path);
    throw ConnectionError(base + ec.message() + " (" + ep.path + ")");
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
    long vr = SSL_get_verify_result(s);
    std::string reason = ec.message();
    if (vr != X509_V_OK) reason += " (" + std::string(X509_verify_cert_error_string(vr)) + ")";
    const bool reason_known = ec.category() == net::error::get_ssl_category();
    if (reason_known && (ERR_GET_REASON(ec.value()) == SSL_R_WRONG_VERSION_NUMBER ||
                         ERR_GET_REASON(ec.value()) == SSL_R_PACKET_LENGTH_TOO_LONG))
      throw TlsError(what + " failed: server answered plain HTTP, not TLS; is this a TLS port? (" + reason + ")");
    const bool closed = ec == net::error::eof || ec == net::ssl::error::stream_truncated ||
                        ec == net::error::connection_reset || ec == net::error::broken_pipe;
    // Closed before a single byte of TLS came back: no TLS server judged us. That is what a published port whose
    // daemon died looks like (docker-proxy accepts, then drops the connection), so it is a connection failure.
    if (closed && BIO_number_read(SSL_get_rbio(s)) == 0)
      throw ConnectionError(what + " failed: " + ep.host_header() + " closed the connection before any TLS answer (" +
                            reason + "); is the daemon behind this port still running, and is it a TLS port?");
    if (closed)
      throw TlsError(what + " failed: the server closed the connection during the handshake (" + reason +
                     "); is this a TLS port, and does it accept our client certificate?");
    throw TlsError(what + " failed: " + reason);
  }
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

std::unique_ptr<Connection> Connection::open(const Endpoint& endpoint, std::shared_ptr<detail::TlsContext> tls,
                                             Clock::time_point deadline) {
  auto impl = std::make_unique<Impl>();
  impl->ep = endpoint;
  if (endpoint.is_unix()) {
    impl->connect_unix(deadline);
  } else if (endpoint.tls) {
    if (!tls) throw TlsError("connecting to " + endpoint.url() + ": TLS endpoint without a TLS configuration");
    impl->tls = std::move(tls);
    impl->ssl.emplace(impl->ioc, impl->tls->ctx);
    impl->connect_tcp(deadline);
    impl->handshake(deadline);
  } else {
    impl->tcp_sock.emplace(impl->ioc);
    impl->connect_tcp(deadline);
  }
  return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

std::size_t Connection::read_some(void* buf, std::size_t n, Clock::time_point deadline, const std::string& label) {
  Impl& m = *impl_;
  const std::string what = label.empty() ? "reading from " + m.ep.url() : label;
  auto [ec, got] = m.run(what, deadline, [&](auto handler) {
    auto b = net::buffer(buf, n);
    if (m.unix_sock)
      m.unix_sock->async_read_some(b, handler);
    else if (m.tcp_sock)
      m.tcp_sock->async_read_some(b, handler);
    else
      m.ssl->async_read_some(b, handler);
  });
  if (got > 0) {
    m.got_bytes = true;
    return got;
  }
  const bool eof = !ec || ec == net::error::eof || (m.ssl && ec == net::ssl::error::stream_truncated);
  // EOF is for HTTP framing to judge, except on a fresh TLS connection: that is a rejected handshake.
  if (eof && !(m.ssl && !m.got_bytes)) return 0;
  m.fail_io(what, ec);
}

void Connection::write(const void* buf, std::size_t n, Clock::time_point deadline, const std::string& label) {
  Impl& m = *impl_;
  const std::string what = label.empty() ? "writing to " + m.ep.url() : label;
  auto [ec, put] = m.run(what, deadline, [&](auto handler) {
    auto b = net::buffer(buf, n);
    if (m.unix_sock)
      net::async_write(*m.unix_sock, b, handler);
    else if (m.tcp_sock)
      net::async_write(*m.tcp_sock, b, handler);
    else
      net::async_write(*m.ssl, b, handler);
  });
  (void)put;
  if (ec) m.fail_io(what, ec);
}

void Connection::shutdown_send() {
  Impl& m = *impl_;
  m.broken = true;  // a half-closed connection never goes back to a pool
  error_code ec;
  if (m.unix_sock)
    m.unix_sock->shutdown(net::socket_base::shutdown_send, ec);
  else if (m.tcp_sock)
    m.tcp_sock->shutdown(net::socket_base::shutdown_send, ec);
  else
    m.ssl->next_layer().shutdown(net::socket_base::shutdown_send, ec);  // like moby: raw TCP, no close_notify
  if (ec && ec != net::error::not_connected)
    throw ConnectionError("half-closing the connection to " + m.ep.url() + ": " + ec.message());
}

void Connection::cancel() noexcept {
  impl_->cancelled.store(true, std::memory_order_release);
  try {
    // Wakes the thread blocked in run_one_for at once; posting is the thread-safe way to touch the io_context.
    Impl* m = impl_.get();
    net::post(m->ioc, [m] { m->cancel_io(); });
  } catch (...) {
  }
}

bool Connection::cancelled() const noexcept {
  return impl_->cancelled.load(std::memory_order_acquire);
}

bool Connection::idle_alive() const noexcept {
  if (impl_->broken || cancelled()) return false;
  if (impl_->ssl && SSL_pending(impl_->ssl->native_handle()) > 0) return false;
  pollfd p{impl_->fd(), POLLIN, 0};
  int r = ::poll(&p, 1, 0);
  return r == 0;  // readable (EOF, RST, stray bytes) or an error: the server gave up on it
}

bool Connection::received_any() const noexcept {
  return impl_->got_bytes;
}
bool Connection::reusable() const noexcept {
  return !impl_->broken && !cancelled();
}
void Connection::mark_unreusable() noexcept {
  impl_->broken = true;
}
const Endpoint& Connection::endpoint() const noexcept {
  return impl_->ep;
}
Clock::time_point Connection::last_used() const noexcept {
  return impl_->last_used;
}

}  // namespace dind
