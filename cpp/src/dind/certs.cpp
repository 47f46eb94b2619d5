#include "dind/certs.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>
#include <system_error>

#include "dind/errors.hpp"
#include "dind/private_dir.hpp"

namespace dind {
namespace {

constexpr const char* kWhat = "making the dind TLS certificates";

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using GenNamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using GenNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using Ia5Ptr = std::unique_ptr<ASN1_IA5STRING, Deleter<ASN1_IA5STRING_free>>;
using OctetPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;

// Throws TlsError with `step` and everything on OpenSSL's (thread-local) error queue, which it empties.
[[noreturn]] void openssl_fail(const std::string& step) {
  std::string detail;
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    detail += detail.empty() ? "" : "; ";
    detail += buf;
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') detail += std::string(" (") + data + ")";
  }
  throw TlsError(std::string(kWhat) + ": " + step + " failed" + (detail.empty() ? "" : ": " + detail));
}

[[noreturn]] void bad_option(const std::string& msg) {
  throw Error(std::string(kWhat) + ": " + msg);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "[::1]" -> "::1"; an IP literal as the caller may have taken it from a URL.
std::string_view unbracket(std::string_view s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') return s.substr(1, s.size() - 2);
  return s;
}

bool is_ip_literal(std::string_view s) {
  std::string z(unbracket(s));
  unsigned char buf[16];
  return inet_pton(AF_INET, z.c_str(), buf) == 1 || inet_pton(AF_INET6, z.c_str(), buf) == 1;
}

// A host name as OpenSSL's X509_check_host will match it: LDH labels (underscore allowed, as in container names),
// an optional "*" as the whole leftmost label.
bool is_dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const std::size_t dot = s.find('.', start);
    const std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    const bool wildcard = first && label == "*" && dot != std::string_view::npos;
    if (!wildcard) {
      for (char c : label)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
      if (label.front() == '-' || label.back() == '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
    first = false;
  }
}

void push_unique(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

PkeyPtr make_key() {
  PkeyPtr key{EVP_EC_gen("P-256")};
  if (!key) openssl_fail("generating an EC P-256 key");
  return key;
}

// A v3 certificate for `key` with subject CN=`cn`, a random serial and the validity window; not yet signed.
X509Ptr new_cert(EVP_PKEY* key, const std::string& cn, const CertOptions& o) {
  X509Ptr x{X509_new()};
  if (!x) openssl_fail("allocating a certificate");
  if (X509_set_version(x.get(), X509_VERSION_3) != 1) openssl_fail("setting the certificate version");

  // 159 random bits: positive and at most 20 octets in DER, as RFC 5280 requires; never zero.
  BnPtr serial{BN_new()};
  if (!serial) openssl_fail("allocating a serial number");
  do {
    if (BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) openssl_fail("drawing a random serial");
  } while (BN_is_zero(serial.get()));
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x.get())) == nullptr)
    openssl_fail("setting the serial number");

  const long back = static_cast<long>(o.backdate.count());
  const long valid = static_cast<long>(o.validity.count());
  if (X509_time_adj_ex(X509_getm_notBefore(x.get()), -(back / 86400), -(back % 86400), nullptr) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(x.get()), valid / 86400, valid % 86400, nullptr) == nullptr)
    openssl_fail("setting the validity period (notBefore now-" + std::to_string(back) + "s, notAfter now+" +
                 std::to_string(valid) + "s)");

  if (X509_set_pubkey(x.get(), key) != 1) openssl_fail("setting the public key");
  if (X509_NAME_add_entry_by_txt(X509_get_subject_name(x.get()), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1)
    openssl_fail("setting the subject CN=\"" + cn + "\"");
  return x;
}

// Adds an extension from OpenSSL's config syntax. Only used with the fixed strings below, never with caller input
// (SANs are built as structures, so a name cannot smuggle in "critical" or another entry).
void add_ext(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  ExtPtr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value)};
  if (!ext || X509_add_ext(x, ext.get(), -1) != 1)
    openssl_fail(std::string("adding the extension ") + OBJ_nid2sn(nid) + "=" + value);
}

void add_sans(X509* x, const std::vector<std::string>& dns, const std::vector<std::string>& ips) {
  GenNamesPtr names{sk_GENERAL_NAME_new_null()};
  if (!names) openssl_fail("allocating the subject alternative names");
  auto push = [&](GenNamePtr g, const std::string& what) {
    if (sk_GENERAL_NAME_push(names.get(), g.get()) <= 0) openssl_fail("adding " + what);
    g.release();  // owned by `names` now
  };
  for (const auto& d : dns) {
    GenNamePtr g{GENERAL_NAME_new()};
    Ia5Ptr s{ASN1_IA5STRING_new()};
    if (!g || !s || ASN1_STRING_set(s.get(), d.data(), static_cast<int>(d.size())) != 1)
      openssl_fail("encoding DNS:" + d);
    GENERAL_NAME_set0_value(g.get(), GEN_DNS, s.release());
    push(std::move(g), "DNS:" + d);
  }
  for (const auto& ip : ips) {
    GenNamePtr g{GENERAL_NAME_new()};
    OctetPtr a{a2i_IPADDRESS(std::string(unbracket(ip)).c_str())};
    if (!g || !a) openssl_fail("encoding IP:" + ip);
    GENERAL_NAME_set0_value(g.get(), GEN_IPADD, a.release());
    push(std::move(g), "IP:" + ip);
  }
  if (X509_add1_ext_i2d(x, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1)
    openssl_fail("adding the subject alternative names");
}

void sign(X509* x, EVP_PKEY* issuer_key, const std::string& which) {
  if (X509_sign(x, issuer_key, EVP_sha256()) <= 0) openssl_fail("signing the " + which + " certificate");
}

std::string read_bio(BIO* b, const std::string& which) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  if (n <= 0 || data == nullptr) openssl_fail("encoding the " + which + " as PEM");
  return std::string(data, static_cast<std::size_t>(n));
}

std::string cert_pem(X509* x, const std::string& which) {
  BioPtr b{BIO_new(BIO_s_mem())};
  if (!b || PEM_write_bio_X509(b.get(), x) != 1) openssl_fail("encoding the " + which + " certificate as PEM");
  return read_bio(b.get(), which + " certificate");
}

// PKCS#8 "PRIVATE KEY", unencrypted: read by Go's tls.X509KeyPair (dockerd, docker CLI), Python's ssl and OpenSSL.
std::string key_pem(EVP_PKEY* k, const std::string& which) {
  // secmem: the BIO's buffer is wiped when freed, so no stray copy of the key stays on the heap.
  BioPtr b{BIO_new(BIO_s_secmem())};
  if (!b || PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    openssl_fail("encoding the " + which + " key as PEM");
  return read_bio(b.get(), which + " key");
}

// A leaf cert signed by the CA. RFC 5480 §3: an EC key may not assert keyEncipherment (that is RSA key transport);
// ECDHE handshakes need only digitalSignature.
X509Ptr make_leaf(EVP_PKEY* key, const std::string& cn, const CertOptions& o, X509* ca, EVP_PKEY* ca_key,
                  const char* eku, const std::vector<std::string>* dns, const std::vector<std::string>* ips) {
  X509Ptr x = new_cert(key, cn, o);
  if (X509_set_issuer_name(x.get(), X509_get_subject_name(ca)) != 1) openssl_fail("setting the issuer name");
  add_ext(x.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(x.get(), ca, NID_key_usage, "critical,digitalSignature");
  add_ext(x.get(), ca, NID_ext_key_usage, eku);
  add_ext(x.get(), ca, NID_subject_key_identifier, "hash");
  add_ext(x.get(), ca, NID_authority_key_identifier, "keyid:always");
  if (dns != nullptr) add_sans(x.get(), *dns, *ips);
  sign(x.get(), ca_key, cn);
  return x;
}

}  // namespace

CertOptions& CertOptions::add_san(std::string_view sans) {
  std::size_t start = 0;
  while (start <= sans.size()) {
    const std::size_t comma = sans.find(',', start);
    const std::string_view item = trim(sans.substr(start, comma == std::string_view::npos ? sans.npos : comma - start));
    start = comma == std::string_view::npos ? sans.size() + 1 : comma + 1;
    if (item.empty()) continue;
    const std::size_t colon = item.find(':');
    const std::string type = colon == std::string_view::npos ? "" : lower(item.substr(0, colon));
    if (type == "dns") {
      const std::string_view name = trim(item.substr(colon + 1));
      if (!is_dns_name(name)) bad_option("\"" + std::string(item) + "\" is not a valid DNS name");
      push_unique(dns_names, std::string(name));
    } else if (type == "ip") {
      const std::string_view addr = unbracket(trim(item.substr(colon + 1)));
      if (!is_ip_literal(addr)) bad_option("\"" + std::string(item) + "\" is not a valid IP address");
      push_unique(ip_addresses, std::string(addr));
    } else if (is_ip_literal(item)) {  // bare, including IPv6 literals whose ':' is not a type separator
      push_unique(ip_addresses, std::string(unbracket(item)));
    } else if (colon == std::string_view::npos && is_dns_name(item)) {
      push_unique(dns_names, std::string(item));
    } else {
      bad_option("unsupported subject alternative name \"" + std::string(item) +
                 "\" (expected DNS:name, IP:address, a host name or an IP address)");
    }
  }
  return *this;
}

CertBundle CertBundle::make(const CertOptions& o) {
  // Check the caller's input before any crypto, so the error names the option rather than an OpenSSL failure.
  std::vector<std::string> dns, ips;
  for (const auto& d : o.dns_names) {
    if (!is_dns_name(d)) bad_option("\"" + d + "\" is not a valid DNS name for the server certificate");
    push_unique(dns, d);
  }
  for (const auto& ip : o.ip_addresses) {
    if (!is_ip_literal(ip)) bad_option("\"" + ip + "\" is not a valid IP address for the server certificate");
    push_unique(ips, std::string(unbracket(ip)));
  }
  if (dns.empty() && ips.empty()) bad_option("the server certificate needs at least one DNS name or IP address");
  if (o.validity.count() <= 0) bad_option("the validity must be positive");
  if (o.backdate.count() < 0) bad_option("the backdate must not be negative");
  for (const std::string* cn : {&o.ca_common_name, &o.server_common_name, &o.client_common_name})
    if (cn->empty()) bad_option("common names must not be empty (strict verifiers reject an empty subject)");

  ERR_clear_error();  // so a failure reports only its own errors

  // The CA. keyUsage is required by strict verifiers (Python >= 3.13, X509_V_FLAG_X509_STRICT); digitalSignature
  // matches the official entrypoint's CA (docker-library/docker#536).
  PkeyPtr ca_key = make_key();
  X509Ptr ca = new_cert(ca_key.get(), o.ca_common_name, o);
  if (X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())) != 1) openssl_fail("setting the CA issuer name");
  add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_ext(ca.get(), ca.get(), NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign");
  add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  sign(ca.get(), ca_key.get(), "CA");

  PkeyPtr server_key = make_key();
  X509Ptr server =
      make_leaf(server_key.get(), o.server_common_name, o, ca.get(), ca_key.get(), "serverAuth", &dns, &ips);
  PkeyPtr client_key = make_key();
  X509Ptr client =
      make_leaf(client_key.get(), o.client_common_name, o, ca.get(), ca_key.get(), "clientAuth", nullptr, nullptr);
  ca_key.reset();  // the CA key is never needed again (see certs.hpp); EVP_PKEY_free wipes it

  CertBundle b;
  b.ca_cert_ = cert_pem(ca.get(), "CA");
  b.server_cert_ = cert_pem(server.get(), "server");
  b.server_key_ = key_pem(server_key.get(), "server");
  b.client_cert_ = cert_pem(client.get(), "client");
  b.client_key_ = key_pem(client_key.get(), "client");
  return b;
}

CertBundle::~CertBundle() {
  // Best effort: wipe this object's copies of the keys before the strings free their buffers.
  for (std::string* k : {&server_key_, &client_key_})
    if (!k->empty()) OPENSSL_cleanse(k->data(), k->size());
}

std::vector<CertFile> CertBundle::server_files() const {
  return {{"server/ca.pem", ca_cert_, 0644},
          {"server/cert.pem", server_cert_, 0644},
          {"server/key.pem", server_key_, 0600}};
}

std::vector<CertFile> CertBundle::client_files() const {
  return {{"ca.pem", ca_cert_, 0644}, {"cert.pem", client_cert_, 0644}, {"key.pem", client_key_, 0600}};
}

void CertBundle::write_client_dir(const std::string& dir) const {
  if (::mkdir(dir.c_str(), S_IRWXU) != 0 && errno != EEXIST)
    throw Error("making the client cert directory " + dir +
                " failed: " + std::error_code(errno, std::generic_category()).message());
  for (const auto& f : client_files()) write_new_file(dir + "/" + f.name, f.contents, f.mode);
}

}  // namespace dind
