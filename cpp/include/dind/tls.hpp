// Layer 1: TLS material. The given CA is the only trust anchor: no system paths, no SSL_CERT_FILE.
#pragma once

#include <memory>
#include <string>

namespace dind {

struct TlsConfig {
  std::string ca_pem;    // trust anchor(s); required when verify is on
  std::string cert_pem;  // client certificate chain (optional; mutual TLS)
  std::string key_pem;   // client private key (with cert_pem)
  bool verify = true;    // verify the server's chain and its name/IP against the dialled host
  // The name (or IP) the server's cert must be valid for, when it differs from the dialled address: a daemon dialled
  // at a container address whose cert names it "docker" (docker-py's assert_hostname). Empty: the dialled host.
  std::string server_name;
  // Where the PEM came from, for messages ("<memory>" for strings).
  std::string ca_source = "<memory>", cert_source = "<memory>", key_source = "<memory>";

  // Reads the files now; a missing or unreadable file throws TlsError naming it. Empty paths are skipped.
  static TlsConfig from_files(const std::string& ca_file, const std::string& cert_file, const std::string& key_file,
                              bool verify = true);
  static TlsConfig from_pem(std::string ca, std::string cert, std::string key, bool verify = true);
  // A docker cert dir: ca.pem, cert.pem, key.pem. cert/key are optional only if both are absent.
  static TlsConfig from_cert_dir(const std::string& dir, bool verify = true);
};

namespace detail {
struct TlsContext;  // a configured OpenSSL context, shared read-only by a client's connections
// Builds the context; bad PEM or a key that does not match the cert throw TlsError naming the source.
std::shared_ptr<TlsContext> make_tls_context(const TlsConfig& config);
}  // namespace detail

}  // namespace dind
