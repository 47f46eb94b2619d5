// Private to the transport layer: the shared OpenSSL context behind detail::TlsContext.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include "dind/tls.hpp"

namespace dind::detail {

struct TlsContext {
  explicit TlsContext(const TlsConfig& c)
      : ctx(boost::asio::ssl::context::tls_client), verify(c.verify), server_name(c.server_name) {}
  boost::asio::ssl::context ctx;
  bool verify;
  std::string server_name;  // checked instead of the dialled host when set
};

// OpenSSL's reason for the most recent error(s) on this thread, e.g. "certificate verify failed".
std::string openssl_errors();

}  // namespace dind::detail
