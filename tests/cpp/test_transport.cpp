// Layers 1–2: endpoint parsing, the docker CLI's environment rules, TLS files, and TLS against an in-process
// OpenSSL server on 127.0.0.1 with throwaway certificates made here.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dind/client.hpp"
#include "dind/connection.hpp"
#include "dind/errors.hpp"
#include "dind/pool.hpp"

namespace fs = std::filesystem;

namespace {

// ---- throwaway certificates (EC P-256) --------------------------------------------------------------------
using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

struct Pem {
  std::string cert, key;
};

void add_ext(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ex = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ex, nullptr) << value;
  X509_add_ext(x, ex, -1);
  X509_EXTENSION_free(ex);
}

std::string pem_of(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

std::string pem_of(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

struct Issued {
  Key key{nullptr, EVP_PKEY_free};
  Cert cert{nullptr, X509_free};
  Pem pem() const { return {pem_of(cert.get()), pem_of(key.get())}; }
};

// A CA when `issuer` is null; otherwise a leaf for `eku` ("serverAuth"/"clientAuth") with `san`.
Issued issue(const char* cn, const Issued* issuer, const char* eku = nullptr, const char* san = nullptr) {
  Issued out;
  out.key.reset(EVP_EC_gen("P-256"));
  out.cert.reset(X509_new());
  X509* x = out.cert.get();
  X509_set_version(x, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -300);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, out.key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
  if (!issuer) {
    add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(x, x, NID_subject_key_identifier, "hash");
  } else {
    add_ext(x, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, issuer_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    add_ext(x, issuer_cert, NID_ext_key_usage, eku);
    if (san) add_ext(x, issuer_cert, NID_subject_alt_name, san);
    add_ext(x, issuer_cert, NID_authority_key_identifier, "keyid:always");
  }
  X509_sign(x, issuer ? issuer->key.get() : out.key.get(), EVP_sha256());
  return out;
}

struct Pki {
  Issued ca = issue("dind-test-ca", nullptr);
  Issued other_ca = issue("dind-other-ca", nullptr);
  Issued server = issue("server", &ca, "serverAuth", "DNS:localhost,IP:127.0.0.1");
  Issued server_other_name = issue("server", &ca, "serverAuth", "DNS:other.example");
  Issued client = issue("client", &ca, "clientAuth");
  fs::path dir;

  Pki() {
    dir = fs::temp_directory_path() / ("dind-h2-pki-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    write("ca.pem", ca.pem().cert);
    write("other-ca.pem", other_ca.pem().cert);
    write("cert.pem", client.pem().cert);
    write("key.pem", client.pem().key);
  }
  ~Pki() { fs::remove_all(dir); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir / name) << text; }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

Pki& pki() {
  static Pki p;
  return p;
}

// ---- an in-process TCP server on 127.0.0.1, plain or TLS ---------------------------------------------------
class TcpServer {
 public:
  // `tls_cert`: serve TLS with that cert, requiring a client cert from `client_ca` if given.
  TcpServer(const Issued* tls_cert, const Issued* client_ca) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(lfd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (tls_cert) {
      ctx_ = SSL_CTX_new(TLS_server_method());
      SSL_CTX_use_certificate(ctx_, tls_cert->cert.get());
      SSL_CTX_use_PrivateKey(ctx_, tls_cert->key.get());
      if (client_ca) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), client_ca->cert.get());
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      }
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~TcpServer() {
    stop_ = true;
    thread_.join();
    for (auto& t : conns_) t.join();
    ::close(lfd_);
    if (ctx_) SSL_CTX_free(ctx_);
  }
  int port() const { return port_; }
  std::string url(const char* scheme, const char* host = "127.0.0.1") const {
    return std::string(scheme) + "://" + host + ":" + std::to_string(port_);
  }
  std::atomic<int> handshakes_ok{0};

 private:
  void loop() {
    while (!stop_) {
      pollfd p{lfd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept(lfd_, nullptr, nullptr);
      if (fd < 0) continue;
      timeval tv{0, 200 * 1000};  // lets serve() notice stop_ while a client keeps its connection idle
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      conns_.emplace_back([this, fd] {
        serve(fd);
        ::close(fd);
      });
    }
  }
  void serve(int fd) {
    SSL* ssl = nullptr;
    auto read = [&](char* b, int n) { return ssl ? SSL_read(ssl, b, n) : static_cast<int>(::recv(fd, b, n, 0)); };
    auto write = [&](const std::string& s) {
      if (ssl)
        SSL_write(ssl, s.data(), static_cast<int>(s.size()));
      else
        ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    };
    if (ctx_) {
      ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      int r;
      while ((r = SSL_accept(ssl)) != 1 && !stop_ && SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ &&
             (errno == EAGAIN || errno == EWOULDBLOCK))
        ERR_clear_error();
      if (r != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        return;
      }
      ++handshakes_ok;
    }
    std::string data;
    char buf[4096];
    while (!stop_) {
      int n = read(buf, sizeof buf);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && (!ssl || true)) {
        ERR_clear_error();
        continue;
      }
      if (n <= 0) break;
      data.append(buf, static_cast<std::size_t>(n));
      if (!ctx_ && data.find("\r\n\r\n") == std::string::npos && data.size() > 3 && data[0] == 0x16) {
        // A TLS ClientHello at a plain HTTP server: answer like Go's net/http does to garbage.
        write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        break;
      }
      std::size_t end;
      while ((end = data.find("\r\n\r\n")) != std::string::npos) {
        data.erase(0, end + 4);
        write("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK");
      }
    }
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
  }

  int lfd_ = -1;
  int port_ = 0;
  SSL_CTX* ctx_ = nullptr;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> conns_;
};

dind::Client tls_client(const std::string& url, const dind::TlsConfig& tls) {
  auto cfg = dind::ClientConfig::from_url(url, tls);
  cfg.version = "1.41";
  cfg.timeout = std::chrono::seconds(5);
  return dind::Client(cfg);
}

template <class E>
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no exception)";
}

}  // namespace

// ---- Endpoint ----------------------------------------------------------------------------------------------

TEST(Endpoint, Parses) {
  auto u = dind::Endpoint::parse("unix:///var/run/docker.sock");
  EXPECT_TRUE(u.is_unix());
  EXPECT_EQ(u.path, "/var/run/docker.sock");
  EXPECT_EQ(u.host_header(), "docker");
  EXPECT_EQ(u.url(), "unix:///var/run/docker.sock");

  auto t = dind::Endpoint::parse("tcp://127.0.0.1:2375");
  EXPECT_FALSE(t.is_unix());
  EXPECT_FALSE(t.tls);
  EXPECT_EQ(t.host, "127.0.0.1");
  EXPECT_EQ(t.port, 2375);
  EXPECT_EQ(t.url(), "tcp://127.0.0.1:2375");

  EXPECT_EQ(dind::Endpoint::parse("tcp://docker").port, 2375);
  auto tt = dind::Endpoint::parse("tcp://docker", true);
  EXPECT_TRUE(tt.tls);
  EXPECT_EQ(tt.port, 2376);
  EXPECT_EQ(tt.url(), "https://docker:2376");

  auto h = dind::Endpoint::parse("https://localhost:12345/");
  EXPECT_TRUE(h.tls);
  EXPECT_EQ(h.port, 12345);
  EXPECT_EQ(dind::Endpoint::parse("http://localhost").port, 80);

  auto v6 = dind::Endpoint::parse("tcp://[::1]:2375");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.host_header(), "[::1]:2375");

  auto s = dind::Endpoint::parse("ssh://me@build-host:2222");
  EXPECT_EQ(s.kind, dind::Endpoint::Kind::Ssh);
  EXPECT_EQ(s.user, "me");
  EXPECT_EQ(s.host, "build-host");
  EXPECT_EQ(s.port, 2222);
  EXPECT_EQ(s.url(), "ssh://me@build-host:2222");
  EXPECT_EQ(s.host_header(), "docker");
  auto bare = dind::Endpoint::parse("ssh://127.0.0.1", true);  // TLS has no meaning over ssh
  EXPECT_EQ(bare.port, 0);
  EXPECT_TRUE(bare.user.empty());
  EXPECT_FALSE(bare.tls);
  EXPECT_EQ(bare.url(), "ssh://127.0.0.1");
  EXPECT_EQ(dind::Endpoint::parse("ssh://root@[::1]:22").url(), "ssh://root@[::1]:22");
  EXPECT_FALSE(dind::ClientConfig::from_url("ssh://h", dind::TlsConfig{}).tls);
}

TEST(Endpoint, RejectsWithTheValueInTheMessage) {
  for (const char* bad :
       {"npipe:////./pipe/docker_engine", "ssh://me:secret@host", "ssh://-oProxyCommand=x", "ssh://-l@h",
        "/var/run/docker.sock", "unix://relative.sock", "tcp://", "tcp://host:", "tcp://host:99999",
        "tcp://host:2375/path", "ftp://host", "tcp://::1:2375", "tcp://host:abc"}) {
    std::string m = message_of<dind::Error>([&] { dind::Endpoint::parse(bad); });
    EXPECT_NE(m.find(std::string("\"") + bad + "\""), std::string::npos) << bad << " → " << m;
  }
  EXPECT_NE(message_of<dind::Error>([] { dind::Endpoint::parse("npipe:////./pipe/x"); }).find("not supported"),
            std::string::npos);
}

// ---- the docker CLI's environment rules --------------------------------------------------------------------

TEST(ClientConfig, FromEnvRules) {
  auto& p = pki();
  {
    auto c = dind::ClientConfig::from_env({});
    EXPECT_EQ(c.endpoint.url(), "unix:///var/run/docker.sock");
    EXPECT_FALSE(c.tls);
    EXPECT_TRUE(c.version.empty());
  }
  {
    auto c = dind::ClientConfig::from_env({{"DOCKER_HOST", "tcp://127.0.0.1:2376"},
                                           {"DOCKER_TLS_VERIFY", "1"},
                                           {"DOCKER_CERT_PATH", p.dir.string()},
                                           {"DOCKER_API_VERSION", "1.40"}});
    EXPECT_TRUE(c.endpoint.tls);
    ASSERT_TRUE(c.tls);
    EXPECT_TRUE(c.tls->verify);
    EXPECT_EQ(c.tls->ca_pem, p.ca.pem().cert);
    EXPECT_EQ(c.tls->cert_pem, p.client.pem().cert);
    EXPECT_EQ(c.version, "1.40");
  }
  {
    // Non-empty means verify, even "0" (the CLI's rule).
    auto c = dind::ClientConfig::from_env(
        {{"DOCKER_HOST", "tcp://h:2376"}, {"DOCKER_TLS_VERIFY", "0"}, {"DOCKER_CERT_PATH", p.dir.string()}});
    ASSERT_TRUE(c.tls);
    EXPECT_TRUE(c.tls->verify);
  }
  {
    // A cert path without DOCKER_TLS_VERIFY: TLS without verification.
    auto c = dind::ClientConfig::from_env({{"DOCKER_HOST", "tcp://h"}, {"DOCKER_CERT_PATH", p.dir.string()}});
    ASSERT_TRUE(c.tls);
    EXPECT_FALSE(c.tls->verify);
    EXPECT_EQ(c.endpoint.port, 2376);
  }
  {
    // DOCKER_CERT_PATH defaults to ~/.docker.
    fs::path home = p.dir / "home";
    fs::create_directories(home / ".docker");
    fs::copy_file(p.dir / "ca.pem", home / ".docker" / "ca.pem", fs::copy_options::overwrite_existing);
    auto c = dind::ClientConfig::from_env(
        {{"DOCKER_HOST", "tcp://h:2376"}, {"DOCKER_TLS_VERIFY", "1"}, {"HOME", home.string()}});
    ASSERT_TRUE(c.tls);
    EXPECT_EQ(c.tls->ca_source, (home / ".docker" / "ca.pem").string());
    EXPECT_TRUE(c.tls->cert_pem.empty());  // no client pair there: none used
  }
  {
    std::string m = message_of<dind::Error>([] { dind::ClientConfig::from_env({{"DOCKER_HOST", "npipe:///x"}}); });
    EXPECT_NE(m.find("DOCKER_HOST"), std::string::npos) << m;
    EXPECT_NE(m.find("npipe:///x"), std::string::npos) << m;
  }
}

TEST(TlsConfig, MissingFilesNameTheFile) {
  auto& p = pki();
  const std::string missing = p.path("nope/ca.pem");
  std::string m = message_of<dind::TlsError>([&] { dind::TlsConfig::from_files(missing, "", ""); });
  EXPECT_NE(m.find(missing), std::string::npos) << m;
  m = message_of<dind::TlsError>([&] {
    dind::ClientConfig::from_env(
        {{"DOCKER_HOST", "tcp://h:2376"}, {"DOCKER_TLS_VERIFY", "1"}, {"DOCKER_CERT_PATH", p.path("nope")}});
  });
  EXPECT_NE(m.find(p.path("nope/ca.pem")), std::string::npos) << m;
  // A cert without its key.
  m = message_of<dind::TlsError>([&] { dind::TlsConfig::from_files(p.path("ca.pem"), p.path("cert.pem"), ""); });
  EXPECT_NE(m.find(p.path("cert.pem")), std::string::npos) << m;
  // Garbage PEM is named when the client is built.
  m = message_of<dind::TlsError>([&] { tls_client("https://127.0.0.1:1", dind::TlsConfig::from_pem("junk", "", "")); });
  EXPECT_NE(m.find("CA"), std::string::npos) << m;
  // Verification without a CA is refused, not silently trusted to the system store.
  m = message_of<dind::TlsError>([&] { tls_client("https://127.0.0.1:1", dind::TlsConfig{}); });
  EXPECT_NE(m.find("no CA"), std::string::npos) << m;
}

TEST(TlsConfig, AnEncryptedKeyIsAnErrorNotAPassPhrasePrompt) {
  // OpenSSL's default would ask for the pass phrase on the terminal and block (found by fuzz_endpoint).
  auto& p = pki();
  BIO* b = BIO_new(BIO_s_mem());
  const char pass[] = "secret";
  PEM_write_bio_PrivateKey(b, p.client.key.get(), EVP_aes_128_cbc(), reinterpret_cast<const unsigned char*>(pass),
                           sizeof pass - 1, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  const std::string encrypted(data, static_cast<std::size_t>(n));
  BIO_free(b);
  const std::string m = message_of<dind::TlsError>([&] {
    tls_client("https://127.0.0.1:1", dind::TlsConfig::from_pem(p.ca.pem().cert, p.client.pem().cert, encrypted));
  });
  EXPECT_NE(m.find("encrypted"), std::string::npos) << m;
  EXPECT_EQ(m.find("secret"), std::string::npos) << m;
}

// ---- TLS against an in-process server ----------------------------------------------------------------------

TEST(Tls, MutualTlsWorksAndConnectionsAreReused) {
  auto& p = pki();
  TcpServer server(&p.server, &p.ca);
  auto c = tls_client(server.url("https"), dind::TlsConfig::from_cert_dir(p.dir.string()));
  EXPECT_EQ(c.ping(), "OK");
  EXPECT_EQ(c.ping(), "OK");
  EXPECT_EQ(server.handshakes_ok.load(), 1);
  // By DNS name too (SNI + name check), and tcp:// with a TLS config means TLS.
  auto by_name = tls_client(server.url("tcp", "localhost"), dind::TlsConfig::from_cert_dir(p.dir.string()));
  EXPECT_EQ(by_name.ping(), "OK");
}

TEST(Tls, WrongCaIsATlsError) {
  auto& p = pki();
  TcpServer server(&p.server, &p.ca);
  auto c = tls_client(server.url("https"),
                      dind::TlsConfig::from_files(p.path("other-ca.pem"), p.path("cert.pem"), p.path("key.pem")));
  std::string m = message_of<dind::TlsError>([&] { c.ping(); });
  EXPECT_NE(m.find("certificate verify failed"), std::string::npos) << m;
  EXPECT_NE(m.find(server.url("https")), std::string::npos) << m;
}

TEST(Tls, HostNotInTheCertIsATlsError) {
  auto& p = pki();
  TcpServer server(&p.server_other_name, &p.ca);
  auto c = tls_client(server.url("https"), dind::TlsConfig::from_cert_dir(p.dir.string()));
  std::string m = message_of<dind::TlsError>([&] { c.ping(); });
  EXPECT_NE(m.find("IP address mismatch"), std::string::npos) << m;
  // verify=false skips the chain and name checks (and still presents the client cert).
  auto insecure = tls_client(server.url("https"), dind::TlsConfig::from_cert_dir(p.dir.string(), false));
  EXPECT_EQ(insecure.ping(), "OK");
}

TEST(Tls, MissingClientCertIsATlsError) {
  auto& p = pki();
  TcpServer server(&p.server, &p.ca);
  auto c = tls_client(server.url("https"), dind::TlsConfig::from_files(p.path("ca.pem"), "", ""));
  // TLS 1.3: the client's handshake succeeds; the rejection shows on the first read.
  std::string m = message_of<dind::TlsError>([&] { c.ping(); });
  EXPECT_NE(m.find("client certificate"), std::string::npos) << m;
}

TEST(Tls, PlainHttpToATlsPort) {
  auto& p = pki();
  TcpServer server(&p.server, &p.ca);
  dind::ClientConfig cfg = dind::ClientConfig::from_url(server.url("tcp"));
  cfg.version = "1.41";
  cfg.timeout = std::chrono::seconds(5);
  dind::Client c(cfg);
  try {
    c.ping();
    FAIL() << "no exception";
  } catch (const dind::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("TLS"), std::string::npos) << m;
    EXPECT_NE(m.find(server.url("tcp")), std::string::npos) << m;
  }
}

TEST(Tls, TlsToAPlainPort) {
  auto& p = pki();
  TcpServer server(nullptr, nullptr);
  auto c = tls_client(server.url("https"), dind::TlsConfig::from_cert_dir(p.dir.string()));
  std::string m = message_of<dind::TlsError>([&] { c.ping(); });
  EXPECT_NE(m.find("plain HTTP"), std::string::npos) << m;
}

TEST(Tls, SslCertFileChangesNothing) {
  auto& p = pki();
  TcpServer server(&p.server, &p.ca);
  const char* old = std::getenv("SSL_CERT_FILE");
  std::string saved = old ? old : "";
  // The system bundle: our CA still works, and it adds no trust.
  ::setenv("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt", 1);
  EXPECT_EQ(tls_client(server.url("https"), dind::TlsConfig::from_cert_dir(p.dir.string())).ping(), "OK");
  // Even pointing SSL_CERT_FILE (and SSL_CERT_DIR) at the server's real CA does not make a wrong CA pass.
  ::setenv("SSL_CERT_FILE", p.path("ca.pem").c_str(), 1);
  ::setenv("SSL_CERT_DIR", p.dir.string().c_str(), 1);
  auto wrong = tls_client(server.url("https"),
                          dind::TlsConfig::from_files(p.path("other-ca.pem"), p.path("cert.pem"), p.path("key.pem")));
  EXPECT_THROW(wrong.ping(), dind::TlsError);
  ::unsetenv("SSL_CERT_DIR");
  if (old)
    ::setenv("SSL_CERT_FILE", saved.c_str(), 1);
  else
    ::unsetenv("SSL_CERT_FILE");
}

// ---- Connection and Pool directly --------------------------------------------------------------------------

TEST(Connection, ConnectDeadlineAndCancel) {
  auto ep = dind::Endpoint::parse("unix:///var/run/docker.sock");
  auto conn = dind::Connection::open(ep, nullptr, dind::deadline_after(std::chrono::seconds(5)));
  // Nothing to read: a short deadline gives TimeoutError, and the connection is spent.
  char buf[16];
  EXPECT_THROW(conn->read_some(buf, sizeof buf, dind::deadline_after(std::chrono::milliseconds(50))),
               dind::TimeoutError);
  EXPECT_FALSE(conn->reusable());

  auto conn2 = dind::Connection::open(ep, nullptr, dind::deadline_after(std::chrono::seconds(5)));
  EXPECT_TRUE(conn2->idle_alive());
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    conn2->cancel();
  });
  EXPECT_THROW(conn2->read_some(buf, sizeof buf, dind::kNoDeadline), dind::ConnectionError);
  t.join();
}

TEST(Pool, ReusesAndBoundsIdleConnections) {
  dind::Pool::Options o;
  o.max_idle = 2;
  dind::Pool pool(dind::Endpoint::parse("unix:///var/run/docker.sock"), std::nullopt, o);
  auto dl = dind::deadline_after(std::chrono::seconds(5));
  auto a = pool.acquire(dl), b = pool.acquire(dl), c = pool.acquire(dl);
  EXPECT_FALSE(a.reused);
  pool.release(std::move(a.conn));
  pool.release(std::move(b.conn));
  pool.release(std::move(c.conn));
  EXPECT_EQ(pool.idle_count(), 2u);
  auto d = pool.acquire(dl);
  EXPECT_TRUE(d.reused);
  d.conn->mark_unreusable();
  pool.release(std::move(d.conn));  // refused
  EXPECT_EQ(pool.idle_count(), 1u);
}
