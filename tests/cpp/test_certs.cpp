// CertBundle and PrivateDir: the certs are checked by the openssl CLI and by real mutual-TLS handshakes (Boost.Asio
// ssl on 127.0.0.1, with OpenSSL's strict X.509 checks that Python >= 3.13 also applies).
#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dind/certs.hpp"
#include "dind/errors.hpp"
#include "dind/private_dir.hpp"

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using dind::CertBundle;
using dind::CertOptions;
using dind::PrivateDir;

namespace {

struct CmdResult {
  int status;
  std::string output;
};

// Runs a shell command, capturing stdout and stderr.
CmdResult run(const std::string& cmd) {
  CmdResult r{-1, {}};
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed: " + cmd);
  std::array<char, 4096> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) r.output.append(buf.data(), n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string text(const std::string& pem_path) {
  return run("openssl x509 -noout -text -in " + pem_path).output;
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) throw std::runtime_error("stat " + path);
  return st.st_mode & 07777;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
std::unique_ptr<X509, X509Free> parse(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  return std::unique_ptr<X509, X509Free>(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
}

// The bundle's files, side by side in one private directory, for the openssl CLI.
struct OnDisk {
  PrivateDir dir{"dind-test-"};
  std::string ca, server_cert, server_key, client_cert, client_key;
  explicit OnDisk(const CertBundle& b) {
    ca = dir.write("ca.pem", b.ca_cert(), 0644);
    server_cert = dir.write("server-cert.pem", b.server_cert(), 0644);
    server_key = dir.write("server-key.pem", b.server_key());
    client_cert = dir.write("client-cert.pem", b.client_cert(), 0644);
    client_key = dir.write("client-key.pem", b.client_key());
  }
};

// What each side of one mutual-TLS exchange saw.
struct Outcome {
  boost::system::error_code server_handshake, server_io, client_handshake, client_io;
  long client_verify = X509_V_OK;  // the client's verify result (why it rejected the server)
  long server_verify = X509_V_OK;  // the server's verify result (why it rejected the client)
  bool echoed = false;             // a byte went client -> server -> client over the session
};

struct ClientSide {
  std::string ca, cert, key;  // cert/key empty: present no client cert
};

// The server of `server` (requiring a client cert signed by its CA) and a client trusting `client.ca` and checking the
// name `host`, both on one io_context, talking over 127.0.0.1.
Outcome exchange(const CertBundle& server, const ClientSide& client, const std::string& host) {
  Outcome o;
  net::io_context ioc;

  ssl::context sctx{ssl::context::tls_server};
  sctx.use_certificate_chain(net::buffer(server.server_cert()));
  sctx.use_private_key(net::buffer(server.server_key()), ssl::context::pem);
  sctx.add_certificate_authority(net::buffer(server.ca_cert()));
  sctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);

  ssl::context cctx{ssl::context::tls_client};
  cctx.add_certificate_authority(net::buffer(client.ca));
  if (!client.cert.empty()) {
    cctx.use_certificate_chain(net::buffer(client.cert));
    cctx.use_private_key(net::buffer(client.key), ssl::context::pem);
  }
  cctx.set_verify_mode(ssl::verify_peer);
  // What Python >= 3.13 turns on by default (VERIFY_X509_STRICT): a CA without keyUsage, a leaf without AKI, ... fail.
  for (auto* ctx : {sctx.native_handle(), cctx.native_handle()})
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_X509_STRICT);

  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  ssl::stream<tcp::socket> srv(ioc, sctx), cli(ioc, cctx);
  if (SSL_set1_host(cli.native_handle(), host.c_str()) != 1) throw std::runtime_error("SSL_set1_host " + host);
  boost::system::error_code ignored;
  net::ip::make_address(host, ignored);
  if (ignored) SSL_set_tlsext_host_name(cli.native_handle(), host.c_str());  // SNI for DNS names only

  char sbuf = 0, cbuf = 0;
  const char ping = 'p';
  acceptor.async_accept(srv.next_layer(), [&](boost::system::error_code ec) {
    if (ec) return void(o.server_handshake = ec);
    srv.async_handshake(ssl::stream_base::server, [&](boost::system::error_code ec) {
      o.server_handshake = ec;
      o.server_verify = SSL_get_verify_result(srv.native_handle());
      if (ec) return void(srv.next_layer().close(ignored));
      net::async_read(srv, net::buffer(&sbuf, 1), [&](boost::system::error_code ec, std::size_t) {
        if (ec) return void(o.server_io = ec);
        net::async_write(srv, net::buffer(&sbuf, 1),
                         [&](boost::system::error_code ec, std::size_t) { o.server_io = ec; });
      });
    });
  });
  cli.next_layer().async_connect(acceptor.local_endpoint(), [&](boost::system::error_code ec) {
    if (ec) return void(o.client_handshake = ec);
    cli.async_handshake(ssl::stream_base::client, [&](boost::system::error_code ec) {
      o.client_handshake = ec;
      o.client_verify = SSL_get_verify_result(cli.native_handle());
      if (ec) return void(cli.next_layer().close(ignored));
      net::async_write(cli, net::buffer(&ping, 1), [&](boost::system::error_code ec, std::size_t) {
        if (ec) return void(o.client_io = ec);
        // TLS 1.3: a rejected client cert shows up here, after the client's handshake "succeeded".
        net::async_read(cli, net::buffer(&cbuf, 1), [&](boost::system::error_code ec, std::size_t) {
          o.client_io = ec;
          o.echoed = !ec && cbuf == ping;
        });
      });
    });
  });
  ioc.run_for(std::chrono::seconds(30));  // a guard against a hang, not a timing assertion
  return o;
}

ClientSide client_of(const CertBundle& b) {
  return {b.ca_cert(), b.client_cert(), b.client_key()};
}

const CertBundle& shared_bundle() {
  static const CertBundle b = CertBundle::make();
  return b;
}

// ---- the certificates, as the openssl CLI sees them --------------------------------------------------------------

TEST(CertBundle, OpensslVerifiesServerAndClientAgainstTheCaStrictly) {
  OnDisk d(shared_bundle());
  for (const auto& [cert, purpose] : {std::pair{d.server_cert, "sslserver"}, std::pair{d.client_cert, "sslclient"}}) {
    const CmdResult r =
        run("openssl verify -x509_strict -purpose " + std::string(purpose) + " -CAfile " + d.ca + " " + cert);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find(": OK"), std::string::npos) << r.output;
  }
  // Name checks as the docker CLI and the library make them.
  for (const std::string check :
       {"-verify_hostname docker", "-verify_hostname localhost", "-verify_ip 127.0.0.1", "-verify_ip ::1"}) {
    const CmdResult r =
        run("openssl verify -x509_strict -purpose sslserver " + check + " -CAfile " + d.ca + " " + d.server_cert);
    EXPECT_EQ(r.status, 0) << check << ": " << r.output;
  }
}

TEST(CertBundle, OpensslRejectsWrongPurposeWrongCaAndWrongName) {
  OnDisk d(shared_bundle());
  OnDisk other(CertBundle::make());
  auto fails = [](const std::string& cmd) {
    const CmdResult r = run(cmd);
    EXPECT_NE(r.status, 0) << cmd << "\n" << r.output;
  };
  fails("openssl verify -purpose sslclient -CAfile " + d.ca + " " + d.server_cert);
  fails("openssl verify -purpose sslserver -CAfile " + d.ca + " " + d.client_cert);
  fails("openssl verify -CAfile " + other.ca + " " + d.server_cert);
  fails("openssl verify -CAfile " + other.ca + " " + d.client_cert);
  fails("openssl verify -verify_hostname example.com -CAfile " + d.ca + " " + d.server_cert);
  fails("openssl verify -verify_ip 10.1.2.3 -CAfile " + d.ca + " " + d.server_cert);
}

TEST(CertBundle, CaExtensions) {
  OnDisk d(shared_bundle());
  const std::string t = text(d.ca);
  EXPECT_NE(t.find("X509v3 Basic Constraints: critical\n                CA:TRUE"), std::string::npos) << t;
  EXPECT_NE(t.find("X509v3 Key Usage: critical\n                Digital Signature, Certificate Sign, CRL Sign"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("X509v3 Subject Key Identifier"), std::string::npos) << t;
  EXPECT_NE(t.find("Subject: CN = dind CA"), std::string::npos) << t;
  EXPECT_NE(t.find("Issuer: CN = dind CA"), std::string::npos) << t;
  EXPECT_NE(t.find("ecdsa-with-SHA256"), std::string::npos) << t;
  EXPECT_NE(t.find("NIST CURVE: P-256"), std::string::npos) << t;
}

TEST(CertBundle, ServerExtensionsAndSans) {
  OnDisk d(shared_bundle());
  const std::string t = text(d.server_cert);
  EXPECT_NE(
      t.find("X509v3 Subject Alternative Name: \n                DNS:docker, DNS:localhost, IP Address:127.0.0.1, "
             "IP Address:0:0:0:0:0:0:0:1\n"),
      std::string::npos)
      << t;
  EXPECT_NE(t.find("X509v3 Basic Constraints: critical\n                CA:FALSE"), std::string::npos) << t;
  // ECDSA: digitalSignature only; keyEncipherment is RSA key transport (RFC 5480 forbids it for EC keys).
  EXPECT_NE(t.find("X509v3 Key Usage: critical\n                Digital Signature\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("Key Encipherment"), std::string::npos) << t;
  EXPECT_NE(t.find("X509v3 Extended Key Usage: \n                TLS Web Server Authentication\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("X509v3 Authority Key Identifier"), std::string::npos) << t;
  EXPECT_NE(t.find("Issuer: CN = dind CA"), std::string::npos) << t;
  EXPECT_NE(t.find("Subject: CN = dind server"), std::string::npos) << t;
  EXPECT_NE(t.find("ecdsa-with-SHA256"), std::string::npos) << t;
  EXPECT_NE(t.find("NIST CURVE: P-256"), std::string::npos) << t;
}

TEST(CertBundle, ClientExtensions) {
  OnDisk d(shared_bundle());
  const std::string t = text(d.client_cert);
  EXPECT_NE(t.find("X509v3 Extended Key Usage: \n                TLS Web Client Authentication\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("X509v3 Key Usage: critical\n                Digital Signature\n"), std::string::npos) << t;
  EXPECT_NE(t.find("X509v3 Authority Key Identifier"), std::string::npos) << t;
  EXPECT_NE(t.find("Subject: CN = dind client"), std::string::npos) << t;
  EXPECT_EQ(t.find("Subject Alternative Name"), std::string::npos) << t;
}

TEST(CertBundle, SerialsAreRandom159BitAndValidityIsBackdated) {
  const CertBundle& b = shared_bundle();
  const CertOptions defaults;
  std::vector<std::string> serials;
  for (const std::string* pem : {&b.ca_cert(), &b.server_cert(), &b.client_cert()}) {
    auto x = parse(*pem);
    ASSERT_TRUE(x);
    std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x.get()), nullptr),
                                                   &BN_free);
    ASSERT_TRUE(bn);
    EXPECT_FALSE(BN_is_negative(bn.get()));
    EXPECT_FALSE(BN_is_zero(bn.get()));
    EXPECT_LE(BN_num_bits(bn.get()), 159);
    char* hex = BN_bn2hex(bn.get());
    serials.emplace_back(hex);
    OPENSSL_free(hex);

    int days = 0, secs = 0;
    ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x.get()), X509_get0_notAfter(x.get())), 1);
    const long span = days * 86400L + secs;
    // Both ends are set from the same clock reading, give or take a second.
    EXPECT_NEAR(span, (defaults.validity + defaults.backdate).count(), 2);
    // notBefore is in the past by the backdate: compared with this machine's own clock, no absolute time.
    EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(x.get())), 0);
    EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(x.get())), 0);
  }
  std::sort(serials.begin(), serials.end());
  EXPECT_EQ(std::unique(serials.begin(), serials.end()), serials.end());
}

TEST(CertBundle, KeysArePkcs8EcAndMatchTheirCerts) {
  const CertBundle& b = shared_bundle();
  for (const auto& [cert, key] :
       {std::pair{&b.server_cert(), &b.server_key()}, std::pair{&b.client_cert(), &b.client_key()}}) {
    EXPECT_EQ(key->rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u) << *key;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(key->data(), static_cast<int>(key->size())),
                                                  &BIO_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr),
                                                          &EVP_PKEY_free);
    ASSERT_TRUE(k);
    EXPECT_TRUE(EVP_PKEY_is_a(k.get(), "EC"));
    EXPECT_EQ(EVP_PKEY_get_bits(k.get()), 256);
    auto x = parse(*cert);
    ASSERT_TRUE(x);
    EXPECT_EQ(X509_check_private_key(x.get(), k.get()), 1);
  }
}

TEST(CertBundle, EachBundleHasItsOwnCa) {
  const CertBundle a = CertBundle::make(), b = CertBundle::make();
  EXPECT_NE(a.ca_cert(), b.ca_cert());
  EXPECT_NE(a.server_key(), b.server_key());
  EXPECT_NE(a.client_key(), b.client_key());
}

// ---- real mutual TLS ---------------------------------------------------------------------------------------------

TEST(CertBundleTls, MutualTlsSucceedsForEveryDefaultName) {
  const CertBundle& b = shared_bundle();
  for (const std::string host : {"127.0.0.1", "localhost", "docker", "::1"}) {
    const Outcome o = exchange(b, client_of(b), host);
    EXPECT_FALSE(o.client_handshake) << host << ": " << o.client_handshake.message() << " / "
                                     << X509_verify_cert_error_string(o.client_verify);
    EXPECT_FALSE(o.server_handshake) << host << ": " << o.server_handshake.message() << " / "
                                     << X509_verify_cert_error_string(o.server_verify);
    EXPECT_FALSE(o.server_io) << host << ": " << o.server_io.message();
    EXPECT_FALSE(o.client_io) << host << ": " << o.client_io.message();
    EXPECT_TRUE(o.echoed) << host;
  }
}

TEST(CertBundleTls, HostNotInTheSansIsRejectedByTheClient) {
  const CertBundle& b = shared_bundle();
  const Outcome dns = exchange(b, client_of(b), "example.com");
  EXPECT_TRUE(dns.client_handshake);
  EXPECT_EQ(dns.client_verify, X509_V_ERR_HOSTNAME_MISMATCH) << X509_verify_cert_error_string(dns.client_verify);
  EXPECT_FALSE(dns.echoed);
  const Outcome ip = exchange(b, client_of(b), "10.1.2.3");
  EXPECT_TRUE(ip.client_handshake);
  EXPECT_EQ(ip.client_verify, X509_V_ERR_IP_ADDRESS_MISMATCH) << X509_verify_cert_error_string(ip.client_verify);
  EXPECT_FALSE(ip.echoed);
}

TEST(CertBundleTls, ClientCertOfAnotherBundleIsRejectedByTheServer) {
  const CertBundle& b = shared_bundle();
  const CertBundle stranger = CertBundle::make();
  // Trusts b's CA (so the server is fine) but presents a client cert signed by another CA.
  const Outcome o = exchange(b, {b.ca_cert(), stranger.client_cert(), stranger.client_key()}, "127.0.0.1");
  EXPECT_TRUE(o.server_handshake);
  EXPECT_NE(o.server_verify, X509_V_OK);
  // With TLS 1.3 the client's handshake may complete before the server says no; its first read then fails.
  EXPECT_TRUE(o.client_handshake || o.client_io);
  EXPECT_FALSE(o.echoed);
}

TEST(CertBundleTls, MissingClientCertIsRejected) {
  const CertBundle& b = shared_bundle();
  const Outcome o = exchange(b, {b.ca_cert(), "", ""}, "127.0.0.1");
  EXPECT_TRUE(o.server_handshake);
  EXPECT_TRUE(o.client_handshake || o.client_io);
  EXPECT_FALSE(o.echoed);
}

TEST(CertBundleTls, ServerOfAnotherBundleIsRejectedByTheClient) {
  const CertBundle& b = shared_bundle();
  const CertBundle stranger = CertBundle::make();
  const Outcome o = exchange(stranger, client_of(b), "127.0.0.1");
  EXPECT_TRUE(o.client_handshake);
  // The server sends its CA along (OpenSSL builds the chain from its trust store), hence "self-signed in chain".
  EXPECT_TRUE(o.client_verify == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
              o.client_verify == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
      << X509_verify_cert_error_string(o.client_verify);
  EXPECT_FALSE(o.echoed);
}

// ---- options -----------------------------------------------------------------------------------------------------

TEST(CertOptions, AddSanParsesDockerTlsSanSyntax) {
  CertOptions o;
  o.add_san("DNS:dind, IP:10.0.0.5,[fd00::1], my_dind.example ,172.17.0.2,dns:localhost,ip:127.0.0.1,*.svc.local");
  EXPECT_EQ(o.dns_names, (std::vector<std::string>{"docker", "localhost", "dind", "my_dind.example", "*.svc.local"}));
  EXPECT_EQ(o.ip_addresses, (std::vector<std::string>{"127.0.0.1", "::1", "10.0.0.5", "fd00::1", "172.17.0.2"}));
}

TEST(CertOptions, BadSansAreRejectedWithTheirText) {
  for (const std::string bad : {"email:a@b.c", "URI:http://x", "DNS:bad name", "IP:1.2.3", "IP:example.com",
                                "DNS:-lead", "DNS:a..b", "ha ha", "DNS:"}) {
    CertOptions o;
    try {
      o.add_san(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const dind::Error& e) {
      const std::string item = bad.substr(0, bad.find(' ') == std::string::npos ? bad.size() : bad.find(' '));
      EXPECT_NE(std::string(e.what()).find(item), std::string::npos) << e.what();
    }
  }
  CertOptions direct;
  direct.ip_addresses.push_back("not-an-ip");
  EXPECT_THROW(CertBundle::make(direct), dind::Error);
  CertOptions comma;
  comma.dns_names.push_back("a,IP:1.2.3.4");  // no injection through the config syntax
  EXPECT_THROW(CertBundle::make(comma), dind::Error);
  CertOptions empty;
  empty.dns_names.clear();
  empty.ip_addresses.clear();
  EXPECT_THROW(CertBundle::make(empty), dind::Error);
}

TEST(CertOptions, AddedSansAndNamesAreInTheCertAndVerify) {
  CertOptions o;
  o.add_san("DNS:dind-sidecar,IP:10.0.0.5");
  o.server_common_name = "my server";
  o.validity = std::chrono::hours(24);
  const CertBundle b = CertBundle::make(o);
  OnDisk d(b);
  const std::string t = text(d.server_cert);
  EXPECT_NE(t.find("DNS:docker, DNS:localhost, DNS:dind-sidecar, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, "
                   "IP Address:10.0.0.5"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("Subject: CN = my server"), std::string::npos) << t;
  const Outcome ok = exchange(b, client_of(b), "dind-sidecar");
  EXPECT_TRUE(ok.echoed) << ok.client_handshake.message() << " / " << X509_verify_cert_error_string(ok.client_verify);
  // The name is only checked, so 127.0.0.1 can stand in for 10.0.0.5 without dialling it.
  EXPECT_TRUE(exchange(b, client_of(b), "10.0.0.5").echoed);
}

TEST(CertOptions, LongCommonNameFailsWithOpensslText) {
  CertOptions o;
  o.ca_common_name = std::string(65, 'x');  // X.520 ub-common-name is 64
  try {
    CertBundle::make(o);
    FAIL() << "accepted a 65-character CN";
  } catch (const dind::TlsError& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("making the dind TLS certificates"), std::string::npos) << w;
    EXPECT_NE(w.find("CN="), std::string::npos) << w;
    EXPECT_NE(w.find("string too long"), std::string::npos) << w;  // OpenSSL's own reason
  }
}

TEST(CertOptions, ValidityBeyondWhatX509CanEncodeFailsAndSaysSo) {
  CertOptions o;
  o.validity = std::chrono::hours(24L * 365 * 10000);  // past the year 9999
  try {
    CertBundle::make(o);
    FAIL() << "accepted a validity of 10000 years";
  } catch (const dind::TlsError& e) {
    EXPECT_NE(std::string(e.what()).find("setting the validity period"), std::string::npos) << e.what();
  }
}

// ---- files -------------------------------------------------------------------------------------------------------

TEST(CertBundleFiles, ServerFilesMatchTheDindImageContract) {
  const CertBundle& b = shared_bundle();
  const auto files = b.server_files();
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].name, "server/ca.pem");
  EXPECT_EQ(files[0].contents, b.ca_cert());
  EXPECT_EQ(files[0].mode, 0644u);
  EXPECT_EQ(files[1].name, "server/cert.pem");
  EXPECT_EQ(files[1].contents, b.server_cert());
  EXPECT_EQ(files[1].mode, 0644u);
  EXPECT_EQ(files[2].name, "server/key.pem");
  EXPECT_EQ(files[2].contents, b.server_key());
  EXPECT_EQ(files[2].mode, 0600u);
  // Exactly what the entrypoint's verify-only path runs on them.
  PrivateDir d;
  ASSERT_EQ(::mkdir(d.file("server").c_str(), 0700), 0);
  for (const auto& f : files) d.write(f.name, f.contents, f.mode);
  const CmdResult r = run("cd " + d.path() + " && openssl verify -CAfile server/ca.pem server/cert.pem");
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(CertBundleFiles, WriteClientDirMakesTheDockerCertPathLayout) {
  const CertBundle& b = shared_bundle();
  PrivateDir d;
  const std::string client = d.file("client");
  b.write_client_dir(client);
  EXPECT_EQ(mode_of(client), 0700u);
  EXPECT_EQ(read_all(client + "/ca.pem"), b.ca_cert());
  EXPECT_EQ(read_all(client + "/cert.pem"), b.client_cert());
  EXPECT_EQ(read_all(client + "/key.pem"), b.client_key());
  EXPECT_EQ(mode_of(client + "/ca.pem"), 0644u);
  EXPECT_EQ(mode_of(client + "/cert.pem"), 0644u);
  EXPECT_EQ(mode_of(client + "/key.pem"), 0600u);
  // Never overwrites: a second write fails and names the file.
  try {
    b.write_client_dir(client);
    FAIL() << "overwrote an existing cert dir";
  } catch (const dind::Error& e) {
    EXPECT_NE(std::string(e.what()).find(client + "/ca.pem"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_all(client + "/key.pem"), b.client_key());
}

TEST(CertBundleFiles, WriteClientDirRefusesAPlantedSymlink) {
  const CertBundle& b = shared_bundle();
  PrivateDir d;
  const std::string client = d.file("client"), target = d.file("stolen-key.pem");
  ASSERT_EQ(::mkdir(client.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(target.c_str(), (client + "/key.pem").c_str()), 0);
  EXPECT_THROW(b.write_client_dir(client), dind::Error);
  EXPECT_FALSE(fs::exists(target));
}

// ---- PrivateDir --------------------------------------------------------------------------------------------------

// Restores the umask on every path out of a test.
struct UmaskGuard {
  mode_t old;
  explicit UmaskGuard(mode_t m) : old(::umask(m)) {}
  ~UmaskGuard() { ::umask(old); }
};

// Sets an environment variable for one test.
struct EnvGuard {
  std::string name;
  std::optional<std::string> old;
  EnvGuard(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~EnvGuard() {
    if (old)
      ::setenv(name.c_str(), old->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

TEST(PrivateDir, ModesAreExactWhateverTheUmask) {
  for (mode_t mask : {mode_t{0}, mode_t{022}, mode_t{0277}}) {
    UmaskGuard g(mask);
    PrivateDir d;
    EXPECT_EQ(mode_of(d.path()), 0700u) << "umask " << std::oct << mask;
    EXPECT_EQ(mode_of(d.write("key.pem", "secret")), 0600u) << "umask " << std::oct << mask;
    EXPECT_EQ(mode_of(d.write("cert.pem", "public", 0644)), 0644u) << "umask " << std::oct << mask;
    EXPECT_EQ(read_all(d.file("key.pem")), "secret");
  }
}

TEST(PrivateDir, LivesUnderTmpdirAndIsRemovedWithItsContents) {
  PrivateDir outer("dind-outer-");
  EnvGuard env("TMPDIR", outer.path() + "/");
  std::string path;
  {
    PrivateDir d("mine-");
    path = d.path();
    EXPECT_EQ(fs::path(path).parent_path(), fs::path(outer.path()));
    EXPECT_EQ(fs::path(path).filename().string().rfind("mine-", 0), 0u);
    ASSERT_EQ(::mkdir(d.file("nested").c_str(), 0700), 0);
    d.write("nested/key.pem", "k");
    d.write("top.pem", "t", 0644);
    EXPECT_TRUE(fs::exists(path + "/nested/key.pem"));
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(PrivateDir, IsRemovedWhenAnExceptionUnwinds) {
  std::string path;
  try {
    PrivateDir d;
    path = d.path();
    shared_bundle().write_client_dir(d.file("client"));
    throw std::runtime_error("daemon failed to start");
  } catch (const std::runtime_error&) {
  }
  ASSERT_FALSE(path.empty());
  EXPECT_FALSE(fs::exists(path));
}

TEST(PrivateDir, KeepAndReleaseLeaveItOnDisk) {
  std::string kept, released;
  {
    PrivateDir a, b;
    a.write("key.pem", "k");
    a.keep();
    EXPECT_TRUE(a.kept());
    kept = a.path();
    released = b.release();
    EXPECT_TRUE(b.path().empty());
    EXPECT_THROW(b.write("x", "y"), dind::Error);
  }
  EXPECT_TRUE(fs::exists(kept + "/key.pem"));
  EXPECT_TRUE(fs::exists(released));
  fs::remove_all(kept);
  fs::remove_all(released);
}

TEST(PrivateDir, MovesTransferOwnershipAndRemoveIsExplicit) {
  PrivateDir a;
  const std::string first = a.path();
  PrivateDir b(std::move(a));
  EXPECT_TRUE(a.path().empty());
  EXPECT_EQ(b.path(), first);
  PrivateDir c;
  const std::string second = c.path();
  c = std::move(b);  // c's own directory goes, it now owns the first one
  EXPECT_FALSE(fs::exists(second));
  EXPECT_TRUE(fs::exists(first));
  c.remove();
  EXPECT_FALSE(fs::exists(first));
  EXPECT_TRUE(c.path().empty());
}

TEST(PrivateDir, BadPrefixAndMissingTmpdirFailWithThePath) {
  EXPECT_THROW(PrivateDir("a/b"), dind::Error);
  EnvGuard env("TMPDIR", "/nonexistent-dind-tmp");
  try {
    PrivateDir d;
    FAIL() << "made a directory under a missing TMPDIR";
  } catch (const dind::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dind-tmp/dind-"), std::string::npos) << e.what();
  }
}

// ---- cost ----------------------------------------------------------------------------------------------------------

// Reports the median cost of make(); asserts nothing about it (timings are only compared side by side).
TEST(CertBundle, MakeCostMedianOf20) {
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const CertBundle b = CertBundle::make();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_FALSE(b.server_cert().empty());
  }
  std::sort(ms.begin(), ms.end());
  const double median = (ms[9] + ms[10]) / 2;
  std::cout << "CertBundle::make(): median " << median << " ms, min " << ms.front() << " ms, max " << ms.back()
            << " ms (20 runs)\n";
  RecordProperty("make_median_us", static_cast<int>(median * 1000));
}

}  // namespace
