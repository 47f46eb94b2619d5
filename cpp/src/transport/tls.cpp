#include "dind/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dind/errors.hpp"
#include "transport/tls_context.hpp"

namespace dind {
namespace {

constexpr const char* kUnknown = "unknown OpenSSL error";

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    throw TlsError(std::string("cannot read the TLS ") + what + " file " + path + ": " + std::strerror(err));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (ss.str().empty()) throw TlsError(std::string("the TLS ") + what + " file " + path + " is empty");
  return ss.str();
}

// What is wrong with PEM text OpenSSL would not take, in words: OpenSSL itself often has no reason to give.
std::string pem_problem(const std::string& pem, const char* kind) {
  if (pem.find("-----BEGIN ") == std::string::npos)
    return std::string("it is not PEM (no -----BEGIN line): not a ") + kind;
  if (pem.find("-----END ") == std::string::npos) return "its PEM block has no -----END line (truncated?)";
  return std::string("its PEM does not hold a ") + kind + " OpenSSL can read (corrupt, or another kind of object)";
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TlsConfig TlsConfig::from_files(const std::string& ca_file, const std::string& cert_file, const std::string& key_file,
                                bool verify) {
  TlsConfig c;
  c.verify = verify;
  if (!ca_file.empty()) c.ca_pem = read_file(ca_file, "CA certificate"), c.ca_source = ca_file;
  if (!cert_file.empty()) c.cert_pem = read_file(cert_file, "client certificate"), c.cert_source = cert_file;
  if (!key_file.empty()) c.key_pem = read_file(key_file, "client key"), c.key_source = key_file;
  if (c.cert_pem.empty() != c.key_pem.empty())
    throw TlsError("a client certificate needs its key and the reverse (cert: " +
                   (cert_file.empty() ? std::string("none") : cert_file) +
                   ", key: " + (key_file.empty() ? std::string("none") : key_file) + ")");
  return c;
}

TlsConfig TlsConfig::from_pem(std::string ca, std::string cert, std::string key, bool verify) {
  TlsConfig c;
  c.ca_pem = std::move(ca);
  c.cert_pem = std::move(cert);
  c.key_pem = std::move(key);
  c.verify = verify;
  return c;
}

TlsConfig TlsConfig::from_cert_dir(const std::string& dir, bool verify) {
  const std::string ca = dir + "/ca.pem", cert = dir + "/cert.pem", key = dir + "/key.pem";
  // Like the docker CLI: the client pair is optional as a pair; the CA is needed only to verify.
  const bool pair = exists(cert) || exists(key);
  return from_files(verify || exists(ca) ? ca : std::string(), pair ? cert : std::string(), pair ? key : std::string(),
                    verify);
}

namespace detail {

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* r = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += r ? r : ("error " + std::to_string(e));
  }
  return out.empty() ? kUnknown : out;
}

std::shared_ptr<TlsContext> make_tls_context(const TlsConfig& c) {
  auto t = std::make_shared<TlsContext>(c);
  SSL_CTX* ctx = t->ctx.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  ERR_clear_error();
  // Never SSL_CTX_set_default_verify_paths: SSL_CERT_FILE and the system store stay out of it.
  if (!c.ca_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(c.ca_pem.data(), static_cast<int>(c.ca_pem.size()));
    STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    int added = 0;
    if (infos) {
      X509_STORE* store = SSL_CTX_get_cert_store(ctx);
      for (int i = 0; i < sk_X509_INFO_num(infos); ++i) {
        X509_INFO* info = sk_X509_INFO_value(infos, i);
        if (info->x509 && X509_STORE_add_cert(store, info->x509) == 1) {
          // Fill OpenSSL's per-cert extension cache now, on one thread: otherwise the first concurrent handshakes
          // fill it, published through atomics inside libcrypto that ThreadSanitizer cannot see.
          X509_check_purpose(info->x509, -1, 0);
          ++added;
        }
      }
      sk_X509_INFO_pop_free(infos, X509_INFO_free);
    }
    if (added == 0) {
      const std::string why = openssl_errors();
      throw TlsError("no usable CA certificate in " + c.ca_source + ": " +
                     (why == kUnknown ? pem_problem(c.ca_pem, "certificate") : why));
    }
  } else if (c.verify) {
    throw TlsError("TLS verification is on but no CA certificate was given (ca.pem / ca_cert)");
  }
  if (!c.cert_pem.empty()) {
    boost::system::error_code ec;
    t->ctx.use_certificate_chain(boost::asio::buffer(c.cert_pem), ec);
    if (ec) {
      const std::string why = openssl_errors();
      throw TlsError("cannot use the client certificate " + c.cert_source + ": " +
                     (why == kUnknown ? pem_problem(c.cert_pem, "certificate") : why));
    }
    // An encrypted key must fail, not make OpenSSL prompt for a pass phrase on the terminal and block.
    SSL_CTX_set_default_passwd_cb(ctx, [](char*, int, int, void*) { return 0; });
    t->ctx.use_private_key(boost::asio::buffer(c.key_pem), boost::asio::ssl::context::pem, ec);
    if (ec) {
      const std::string detail = openssl_errors();  // drains this thread's OpenSSL error queue either way
      const bool encrypted = c.key_pem.find("ENCRYPTED") != std::string::npos;
      throw TlsError("cannot use the client key " + c.key_source + ": " +
                     (encrypted            ? "it is encrypted (give an unencrypted key, as the docker CLI needs)"
                      : detail == kUnknown ? pem_problem(c.key_pem, "private key")
                                           : detail));
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
      throw TlsError("the client key " + c.key_source + " does not match the certificate " + c.cert_source);
    X509_check_purpose(SSL_CTX_get0_certificate(ctx), -1, 0);  // the same cache, for the shared client cert
  }
  t->ctx.set_verify_mode(c.verify ? boost::asio::ssl::verify_peer : boost::asio::ssl::verify_none);
  return t;
}

}  // namespace detail
}  // namespace dind
