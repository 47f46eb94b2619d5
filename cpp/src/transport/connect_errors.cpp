#include "transport/connect_errors.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>

#include "dind/errors.hpp"

namespace dind::detail {

namespace net = boost::asio;

void throw_unix_connect_error(const Endpoint& ep, const boost::system::error_code& ec) {
  const std::string base = "cannot connect to " + ep.url() + ": ";
  struct stat st {};
  if (::stat(ep.path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode))
    throw ConnectionError(base + ep.path + " is " + (S_ISDIR(st.st_mode) ? "a directory" : "a file") +
                          ", not a socket (DOCKER_HOST names the engine's socket, e.g. unix:///var/run/docker.sock)");
  if (ec == net::error::not_found || ec.value() == ENOENT)
    throw ConnectionError(base + "socket " + ep.path + " does not exist (is the Docker engine running?)");
  if (ec == net::error::connection_refused)
    throw ConnectionError(base + "connection refused: nothing listens on " + ep.path);
  if (ec == net::error::access_denied || ec.value() == EACCES)
    throw ConnectionError(base + "permission denied on " + ep.path);
  throw ConnectionError(base + ec.message() + " (" + ep.path + ")");
}

void throw_handshake_error(const std::string& what, const Endpoint& ep, const boost::system::error_code& ec, SSL* s) {
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

}  // namespace dind::detail
