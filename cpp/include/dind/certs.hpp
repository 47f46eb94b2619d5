// The TLS material of one dind daemon, made in-process (layer 6, ARCHITECTURE.md): a CA, a server cert and a client cert.
//
// The library puts server/{ca,cert,key}.pem into the created docker:dind container before starting it, so the image's
// entrypoint only verifies them instead of generating RSA-4096 keys (seconds saved on every start).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace dind {

// What goes into the certificates. Defaults suit a daemon reached through a port published on 127.0.0.1.
struct CertOptions {
  // Subject alternative names of the server cert: every name and address a client will dial must be here.
  std::vector<std::string> dns_names{"docker", "localhost"};
  std::vector<std::string> ip_addresses{"127.0.0.1", "::1"};

  // How long the certs stay valid. One year: the CA is unique to one daemon and its key is destroyed, so the daemon's
  // lifetime is the real bound on what the certs unlock; a daemon kept with --dind-keep or `dind up` (and restarted,
  // which re-runs the entrypoint's `openssl verify`) must not break after weeks. Below Apple's 825-day limit.
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
  // notBefore lies this far in the past: the entrypoint verifies with the engine's clock, which may be another
  // machine's (DOCKER_HOST=tcp://...) and a little behind ours.
  std::chrono::seconds backdate{std::chrono::hours(1)};

  std::string ca_common_name{"dind CA"};
  std::string server_common_name{"dind server"};
  std::string client_common_name{"dind client"};

  // Adds server SANs in $DOCKER_TLS_SAN syntax: comma-separated "DNS:name", "IP:address" or a bare value (an IP
  // literal, brackets allowed, becomes IP, anything else DNS). Duplicates are ignored. Throws dind::Error on a
  // malformed name or address, or another SAN type (email:, URI:).
  CertOptions& add_san(std::string_view sans);
};

// One file of the bundle, for writing to disk or into a tar.
struct CertFile {
  std::string name;      // path relative to its directory: "server/key.pem" (server_files) or "key.pem" (client_files)
  std::string contents;  // PEM
  unsigned mode;         // 0644 for certificates, 0600 for private keys
};

// CA, server and client certs; EC P-256 keys, SHA-256 signatures, random 159-bit serials.
//
// The CA's private key is dropped as soon as the two leaf certs are signed: nothing later needs it (the SANs are
// known before the container is created, and every client of one daemon shares the one client cert), and a key that
// no longer exists cannot leak from the process, a kept cert dir or the container (which, as the image contract
// requires, never gets a ca/key.pem). A daemon that needs new SANs gets a new bundle.
class CertBundle {
 public:
  // Makes a fresh CA and signs the server and client certs with it. Throws dind::Error on bad options and
  // dind::TlsError (with OpenSSL's error text) if OpenSSL fails.
  static CertBundle make(const CertOptions& options);
  static CertBundle make() { return make(CertOptions{}); }

  const std::string& ca_cert() const noexcept { return ca_cert_; }
  const std::string& server_cert() const noexcept { return server_cert_; }
  const std::string& server_key() const noexcept { return server_key_; }
  const std::string& client_cert() const noexcept { return client_cert_; }
  const std::string& client_key() const noexcept { return client_key_; }

  // server/ca.pem, server/cert.pem, server/key.pem: what the dind image expects under $DOCKER_TLS_CERTDIR (put them
  // there as a tar with a "server/" directory entry, before the container starts).
  std::vector<CertFile> server_files() const;
  // ca.pem, cert.pem, key.pem: the docker CLI's DOCKER_CERT_PATH layout.
  std::vector<CertFile> client_files() const;
  // Writes client_files() into `dir` (made with mode 0700 if missing; existing files are never overwritten).
  // Throws dind::Error naming the file.
  void write_client_dir(const std::string& dir) const;

  CertBundle(const CertBundle&) = default;
  CertBundle(CertBundle&&) noexcept = default;
  CertBundle& operator=(const CertBundle&) = default;
  CertBundle& operator=(CertBundle&&) noexcept = default;
  // Wipes this object's copies of the private keys.
  ~CertBundle();

 private:
  CertBundle() = default;
  std::string ca_cert_, server_cert_, server_key_, client_cert_, client_key_;
};

}  // namespace dind
