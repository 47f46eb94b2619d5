// Private to the transport layer: a failed connect or TLS handshake said in words, for SocketConnection
// (cpp/src/transport/connection.cpp).
#pragma once

#include <openssl/ssl.h>

#include <boost/system/error_code.hpp>
#include <string>

#include "dind/endpoint.hpp"

namespace dind::detail {

// A unix socket that could not be connected to: what is at the path (a file, a directory, nothing) or what the
// error means. Throws ConnectionError.
[[noreturn]] void throw_unix_connect_error(const Endpoint& ep, const boost::system::error_code& ec);

// A TLS handshake (`what`) that failed on `ssl`: plain HTTP on the port and a rejected handshake are TlsError; a peer
// that closed before sending a single TLS byte (a published port whose daemon is gone) is ConnectionError.
[[noreturn]] void throw_handshake_error(const std::string& what, const Endpoint& ep,
                                        const boost::system::error_code& ec, SSL* ssl);

}  // namespace dind::detail
