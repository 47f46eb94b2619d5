// Security properties of the C++ core against the real engine and a real dind::Daemon of the offline image.
// tests/python/test_security.py checks the same through Python, plus curl, openssl s_client, an expired client cert,
// the CLI and the no-TLS warning; test_transport.cpp's Tls.* cover the client side against an in-process server.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dind/base64.hpp"
#include "dind/certs.hpp"
#include "dind/containers.hpp"
#include "dind/daemon.hpp"
#include "dind/images.hpp"

namespace fs = std::filesystem;

namespace {

const char* kImage = "dind-offline:latest";

dind::Client outer() {
  return dind::Client(dind::ClientConfig::from_url("unix:///var/run/docker.sock"));
}

std::string test_session() {
  static const std::string s = "test-security-" + std::to_string(::getpid());
  return s;
}

dind::DaemonOptions options() {
  dind::DaemonOptions o;
  o.image = kImage;
  o.outer = outer();
  o.labels["dind.test"] = test_session();
  return o;
}

std::size_t leftovers() {
  return dind::Containers(outer()).list(true, {{"label", {"dind.test=" + test_session()}}}).size();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The message of the dind::Error `f` throws, or "(no exception)".
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const dind::Error& e) {
    return e.what();
  }
  return "(no exception)";
}

dind::Client client_for(const std::string& url, dind::TlsConfig tls) {
  auto cfg = dind::ClientConfig::from_url(url, std::move(tls));
  cfg.timeout = cfg.connect_timeout = std::chrono::seconds(20);
  return dind::Client(cfg);
}

// Sets environment variables for one test and puts the old values back.
class EnvGuard {
 public:
  void set(const std::string& name, const std::string& value) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~EnvGuard() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second)
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      else
        ::unsetenv(it->first.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// A fresh directory under the system temp dir, removed at the end of the scope.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& what) {
    path = fs::temp_directory_path() / (test_session() + "-" + what);
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// dockerd (Go's net/http) logs every refused client: "http: TLS handshake error from ADDR: tls: REASON".
int refusals(dind::Daemon& d, const std::string& reason) {
  std::istringstream lines(d.logs(5000));
  int n = 0;
  for (std::string line; std::getline(lines, line);)
    if (contains(line, "TLS handshake error") && contains(line, reason)) ++n;
  return n;
}

int wait_for_refusals(dind::Daemon& d, const std::string& reason, int before) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int n = 0;
  while ((n = refusals(d, reason) - before) < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return n;
}

class Security : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    daemon_.emplace(dind::Daemon::start(options()));
    daemon_->load_images({"busybox:latest"});
  }
  static void TearDownTestSuite() {
    daemon_.reset();
    EXPECT_EQ(leftovers(), 0u) << "the security tests left a dind container behind";
  }
  static dind::Daemon& d() { return *daemon_; }
  static std::string cert(const char* name) { return (fs::path(d().cert_path()) / name).string(); }
  static dind::TlsConfig own_tls() { return dind::TlsConfig::from_cert_dir(d().cert_path()); }

  static inline std::optional<dind::Daemon> daemon_;
};

// 1. The daemon's TLS port refuses a client without a cert and one with a cert from another CA; dockerd itself logs
// why. (An expired cert of the right CA needs the CA key, which a Daemon destroys: the Python suite covers it.)
TEST_F(Security, TlsPortRefusesNoCertAndAnotherCa) {
  ASSERT_EQ(d().client().ping(), "OK");
  const std::string ca = read_file(cert("ca.pem"));

  const std::string no_cert = "client didn't provide a certificate";
  int before = refusals(d(), no_cert);
  std::string m = error_of([&] { client_for(d().host(), dind::TlsConfig::from_pem(ca, "", "")).ping(); });
  EXPECT_TRUE(contains(m, d().host().substr(6))) << m;  // names 127.0.0.1:PORT
  EXPECT_GE(wait_for_refusals(d(), no_cert, before), 1) << "dockerd did not log the refusal";

  // Another CA, with the very names of the daemon's own CA and client cert: only the signature differs.
  const auto other = dind::CertBundle::make();
  const std::string unknown = "certificate signed by unknown authority";
  before = refusals(d(), unknown);
  m = error_of(
      [&] { client_for(d().host(), dind::TlsConfig::from_pem(ca, other.client_cert(), other.client_key())).ping(); });
  EXPECT_NE(m, "(no exception)");
  EXPECT_GE(wait_for_refusals(d(), unknown, before), 1) << "dockerd did not log the refusal";
}

// 2. The client refuses a server of another CA, or one whose cert does not name the dialled address, even with
// SSL_CERT_FILE / SSL_CERT_DIR naming the server's real CA; through ClientConfig and Client::from_env().
TEST_F(Security, ClientRefusesAnotherCaAndAnAddressNotInTheCertDespiteEnvBundles) {
  TempDir tmp("bundles");
  const auto other = dind::CertBundle::make();
  {
    std::ofstream(tmp.path / "bundle.pem")
        << read_file("/etc/ssl/certs/ca-certificates.crt") << read_file(cert("ca.pem")) << other.ca_cert();
  }
  std::ofstream(tmp.path / "ca.pem") << read_file(cert("ca.pem"));
  EnvGuard env;
  for (const char* var : {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"})
    env.set(var, (tmp.path / "bundle.pem").string());
  env.set("SSL_CERT_DIR", tmp.path.string());

  // Trusting another CA: the daemon's (right) CA in the environment does not rescue it.
  auto wrong_ca = dind::TlsConfig::from_pem(other.ca_cert(), read_file(cert("cert.pem")), read_file(cert("key.pem")));
  std::string m = error_of([&] { client_for(d().host(), wrong_ca).ping(); });
  EXPECT_TRUE(contains(m, "certificate verify failed")) << m;

  // The container's bridge address reaches the same dockerd, but the cert names only 127.0.0.1, ::1, localhost,
  // docker and the container name.
  const std::string ip = dind::Containers(outer()).inspect(d().id())["NetworkSettings"].value("IPAddress", "");
  ASSERT_FALSE(ip.empty());
  const std::string url = "tcp://" + ip + ":2376";
  m = error_of([&] { client_for(url, own_tls()).ping(); });
  EXPECT_TRUE(contains(m, "mismatch") && contains(m, ip)) << m;

  env.set("DOCKER_HOST", url);
  env.set("DOCKER_TLS_VERIFY", "1");
  env.set("DOCKER_CERT_PATH", d().cert_path());
  m = error_of([&] { dind::Client::from_env().ping(); });
  EXPECT_TRUE(contains(m, "mismatch") && contains(m, ip)) << m;
  EXPECT_THROW(dind::Client::from_env().ping(), dind::TlsError);

  // The control: the same settings at the address the cert names work.
  env.set("DOCKER_HOST", d().host());
  EXPECT_EQ(dind::Client::from_env().ping(), "OK");
}

// 3. The daemon's port is published on 127.0.0.1 only.
TEST_F(Security, PublishedOnLoopbackOnly) {
  const auto info = dind::Containers(outer()).inspect(d().id());
  const nlohmann::json want = {{"2376/tcp", {{{"HostIp", "127.0.0.1"}, {"HostPort", ""}}}}};
  EXPECT_EQ(info["HostConfig"]["PortBindings"], want) << info["HostConfig"]["PortBindings"].dump();
  EXPECT_FALSE(info["HostConfig"].value("PublishAllPorts", false));
  int published = 0;
  for (const auto& [port, bindings] : info["NetworkSettings"]["Ports"].items()) {
    if (!bindings.is_array()) continue;
    for (const auto& b : bindings) {
      ++published;
      EXPECT_EQ(port, "2376/tcp");
      EXPECT_EQ(b.value("HostIp", ""), "127.0.0.1") << b.dump();
    }
  }
  EXPECT_EQ(published, 1) << info["NetworkSettings"]["Ports"].dump();
  EXPECT_EQ(d().host().rfind("tcp://127.0.0.1:", 0), 0u) << d().host();
}

// 4a. The client certs sit in a 0700 directory, the key 0600; in the container only the server key exists (0600 in
// a 0700 directory) and no CA key.
TEST_F(Security, KeysArePrivateWhileTheDaemonRuns) {
  struct stat st {};
  ASSERT_EQ(::stat(d().cert_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(st.st_uid, ::getuid());
  for (const auto& entry : fs::directory_iterator(d().cert_path())) {
    ASSERT_EQ(::lstat(entry.path().c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode)) << entry.path();
    EXPECT_EQ(st.st_mode & 022, 0u) << entry.path();
    if (contains(read_file(entry.path()), "PRIVATE KEY")) EXPECT_EQ(st.st_mode & 0777, 0600u) << entry.path();
  }
  auto r = d().exec({"sh", "-c",
                     "grep -rl 'PRIVATE KEY' /certs; stat -c '%a %n' /certs/server /certs/server/key.pem; "
                     "test ! -e /certs/ca/key.pem && echo no-ca-key"});
  EXPECT_EQ(r.out, "/certs/server/key.pem\n700 /certs/server\n600 /certs/server/key.pem\nno-ca-key\n");
}

// 4b. A failed start (an image whose entrypoint exits at once) leaves no cert directory and no container.
TEST_F(Security, KeysAreRemovedAfterAFailedStart) {
  TempDir tmp("tmpdir");
  EnvGuard env;
  env.set("TMPDIR", tmp.path.string());  // where the core makes its private cert dirs
  const std::size_t before = leftovers();
  std::string m;
  try {
    auto o = options();
    o.image = "busybox:latest";
    dind::Daemon::start(o);
    FAIL() << "busybox started as a daemon";
  } catch (const dind::DaemonStartError& e) {
    m = e.what();
  }
  EXPECT_TRUE(contains(m, "exited")) << m;
  EXPECT_FALSE(contains(m, "PRIVATE KEY")) << m;
  EXPECT_TRUE(fs::is_empty(tmp.path)) << "a failed start left its cert directory behind";
  EXPECT_EQ(leftovers(), before);
}

// 4c. Neither a key nor the X-Registry-Auth value appears in an error: TLS failures name files, not contents, and a
// pull or push to a registry that is not there fails without echoing the credentials.
TEST_F(Security, NoKeyOrRegistryAuthInErrors) {
  const std::string key = read_file(cert("key.pem"));
  std::vector<std::string> secrets;
  for (std::istringstream lines(key); secrets.size() < 8;) {
    std::string line;
    if (!std::getline(lines, line)) break;
    if (!line.empty() && line.rfind("-----", 0) != 0) secrets.push_back(line);
  }
  ASSERT_FALSE(secrets.empty());
  auto leaks = [&](const std::string& text) {
    if (contains(text, "PRIVATE KEY")) return std::string("a PEM key header");
    for (const auto& s : secrets)
      if (contains(text, s)) return s.substr(0, 8) + "...";
    return std::string();
  };
  const auto other = dind::CertBundle::make();
  // A key that does not match the cert, and a corrupt key.
  std::string m = error_of([&] {
    client_for(d().host(),
               dind::TlsConfig::from_pem(read_file(cert("ca.pem")), read_file(cert("cert.pem")), other.client_key()))
        .ping();
  });
  EXPECT_NE(m, "(no exception)");
  EXPECT_EQ(leaks(m), "") << m;
  std::string corrupt = key;
  corrupt[corrupt.size() / 2] = corrupt[corrupt.size() / 2] == 'A' ? 'B' : 'A';
  m = error_of([&] {
    client_for(d().host(), dind::TlsConfig::from_pem(read_file(cert("ca.pem")), read_file(cert("cert.pem")), corrupt))
        .ping();
  });
  EXPECT_NE(m, "(no exception)");
  EXPECT_EQ(leaks(m), "") << m;

  const std::string password = "dind-s3cret-" + std::to_string(::getpid());
  const nlohmann::json auth = {{"username", "dind-user"}, {"password", password}, {"serveraddress", "127.0.0.1:1"}};
  secrets.push_back(password);
  secrets.push_back(dind::encode_registry_auth(auth));
  const std::string repo = "127.0.0.1:1/dind-security/none";  // no registry there: pulls and pushes fail
  dind::Images images(d().client());
  m = error_of([&] { images.pull(repo, "v1", auth).read_all(); });
  EXPECT_TRUE(contains(m, "127.0.0.1:1")) << m;
  EXPECT_EQ(leaks(m), "") << m;
  ASSERT_TRUE(images.tag("busybox:latest", repo, "v1"));
  m = error_of([&] { images.push(repo, "v1", auth).read_all(); });
  EXPECT_NE(m, "(no exception)");
  EXPECT_EQ(leaks(m), "") << m;
  images.remove(repo + ":v1");
  EXPECT_EQ(leaks(d().logs(5000)), "");
}

}  // namespace
