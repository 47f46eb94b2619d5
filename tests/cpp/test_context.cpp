// Layer 1: docker contexts. The store is written by the real docker CLI (`docker --config DIR context create/use`)
// in a temporary DOCKER_CONFIG and read back; hand-written files only where the CLI cannot make them (malformed
// ones). Where the CLI can answer without dialling anything (`context show`, a context it cannot load), its answer
// is checked against ours. PEM files come from the openssl CLI.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "dind/client.hpp"
#include "dind/context.hpp"
#include "dind/endpoint.hpp"
#include "dind/errors.hpp"

namespace fs = std::filesystem;
using Env = std::map<std::string, std::string>;

namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Ran {
  int status = -1;
  std::string output;  // stdout and stderr
};

Ran sh(const std::string& cmd) {
  Ran r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

// A CA and a client pair (EC P-256), made once per process with the openssl CLI.
struct Pki {
  fs::path dir;
  Pki() {
    char tmpl[] = "/tmp/dind-ctx-pki-XXXXXX";
    dir = ::mkdtemp(tmpl);
    const std::string d = quote(dir.string());
    const Ran r = sh("cd " + d +
                     " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem"
                     " -out ca.pem -days 2 -subj /CN=dind-ctx-test-ca"
                     " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out c.csr"
                     " -subj /CN=client && openssl x509 -req -in c.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial"
                     " -out cert.pem -days 2");
    if (r.status != 0) ADD_FAILURE() << "openssl failed: " << r.output;
  }
  ~Pki() { fs::remove_all(dir); }
  std::string path(const char* name) const { return (dir / name).string(); }
};

const Pki& pki() {
  static const Pki p;
  return p;
}

// A temporary DOCKER_CONFIG, with the real CLI pointed at it.
class Store : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dind-ctx-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string dir() const { return dir_.string(); }

  // `docker --config DIR ARGS` with none of the caller's DOCKER_* variables, plus `vars`.
  Ran cli(const std::string& args, const Env& vars = {}) const {
    std::string cmd = "env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_CONFIG -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH";
    for (const auto& [k, v] : vars) cmd += " " + k + "=" + quote(v);
    return sh(cmd + " docker --config " + quote(dir()) + " " + args);
  }
  void create(const std::string& name, const std::string& docker_opts) const {
    const Ran r = cli("context create " + quote(name) + " --docker " + quote(docker_opts));
    ASSERT_EQ(r.status, 0) << r.output;
  }
  void use(const std::string& name) const {
    const Ran r = cli("context use " + quote(name));
    ASSERT_EQ(r.status, 0) << r.output;
  }
  // The context the real CLI resolves under `vars` (it does not check that it exists).
  std::string cli_current(const Env& vars) const {
    Ran r = cli("context show", vars);
    EXPECT_EQ(r.status, 0) << r.output;
    while (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
    return r.output;
  }
  Env env(Env more = {}) const {
    more.emplace("DOCKER_CONFIG", dir());
    return more;
  }
  fs::path meta_file(const std::string& name) const {
    return fs::path(dind::context_meta_dir(dir(), name)) / "meta.json";
  }

  fs::path dir_;
};

template <class E>
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(another exception: ") + e.what() + ")";
  }
  return "(no exception)";
}

#define EXPECT_HAS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

}  // namespace

TEST_F(Store, AContextTheCliMadeReadsBackWithItsTlsMaterial) {
  const Pki& p = pki();
  create("ci", "host=tcp://127.0.0.1:23791,ca=" + p.path("ca.pem") + ",cert=" + p.path("cert.pem") +
                   ",key=" + p.path("key.pem"));
  use("ci");

  const dind::CurrentContext cur = dind::current_context(env());
  EXPECT_EQ(cur.name, "ci");
  EXPECT_EQ(cur.source, dind::CurrentContext::Source::ConfigFile);
  EXPECT_EQ(cur.name, cli_current(env()));
  EXPECT_HAS(cur.where(), dir() + "/config.json");

  // Our hash of the name finds the directory the CLI made.
  const dind::DockerContext ctx = dind::load_context(cur);
  EXPECT_TRUE(fs::exists(fs::path(ctx.store_path) / "meta.json")) << ctx.store_path;
  EXPECT_EQ(ctx.name, "ci");
  EXPECT_EQ(ctx.host, "tcp://127.0.0.1:23791");
  EXPECT_FALSE(ctx.skip_tls_verify);

  const dind::ClientConfig c = dind::ClientConfig::from_env(env({{"DOCKER_API_VERSION", "v1.41"}}));
  EXPECT_EQ(c.endpoint.url(), "https://127.0.0.1:23791");
  ASSERT_TRUE(c.tls);
  EXPECT_TRUE(c.tls->verify);
  EXPECT_EQ(c.tls->ca_pem, read(p.path("ca.pem")));
  EXPECT_EQ(c.tls->cert_pem, read(p.path("cert.pem")));
  EXPECT_EQ(c.tls->key_pem, read(p.path("key.pem")));
  // Read from the store, not from where the files were when the context was made.
  EXPECT_EQ(c.tls->ca_source, dind::context_tls_dir(dir(), "ci") + "/ca.pem");
  EXPECT_EQ(c.version, "1.41");
  (void)dind::detail::make_tls_context(*c.tls);  // the material is usable as it is
}

TEST_F(Store, AUnixSocketContextReachesTheRealEngine) {
  create("local", "host=unix:///var/run/docker.sock");
  const dind::ClientConfig c = dind::ClientConfig::from_env(env({{"DOCKER_CONTEXT", "local"}}));
  EXPECT_EQ(c.endpoint.url(), "unix:///var/run/docker.sock");
  EXPECT_FALSE(c.tls);
  dind::Client client(c);
  EXPECT_EQ(client.ping(), "OK");
  // The CLI, with the same DOCKER_CONFIG, reaches the same engine.
  const Ran r = cli("version --format '{{.Server.Version}}'", {{"DOCKER_CONTEXT", "local"}});
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(Store, DockerHostWinsOverEveryContext) {
  create("ci", "host=tcp://127.0.0.1:23791");
  use("ci");
  for (const Env& vars : {Env{{"DOCKER_HOST", "unix:///tmp/dind-elsewhere.sock"}},
                          Env{{"DOCKER_HOST", "unix:///tmp/dind-elsewhere.sock"}, {"DOCKER_CONTEXT", "nope"}}}) {
    const dind::CurrentContext cur = dind::current_context(env(vars));
    EXPECT_TRUE(cur.is_default());
    EXPECT_EQ(cur.source, dind::CurrentContext::Source::DockerHost);
    EXPECT_EQ(cli_current(vars), "default");
    EXPECT_EQ(dind::ClientConfig::from_env(env(vars)).endpoint.url(), "unix:///tmp/dind-elsewhere.sock");
  }
  // An empty DOCKER_HOST is no choice: the context stands.
  EXPECT_EQ(dind::current_context(env({{"DOCKER_HOST", ""}})).name, "ci");
  EXPECT_EQ(cli_current({{"DOCKER_HOST", ""}}), "ci");
  EXPECT_EQ(dind::ClientConfig::from_env(env({{"DOCKER_HOST", ""}})).endpoint.url(), "tcp://127.0.0.1:23791");
}

TEST_F(Store, DockerContextWinsOverConfigJson) {
  create("ctx-a", "host=tcp://127.0.0.1:23791");
  create("ctx-b", "host=tcp://127.0.0.1:23792");
  use("ctx-a");
  const Env vars{{"DOCKER_CONTEXT", "ctx-b"}};
  const dind::CurrentContext cur = dind::current_context(env(vars));
  EXPECT_EQ(cur.name, "ctx-b");
  EXPECT_EQ(cur.source, dind::CurrentContext::Source::DockerContext);
  EXPECT_EQ(cur.where(), "DOCKER_CONTEXT=ctx-b");
  EXPECT_EQ(cli_current(vars), "ctx-b");
  EXPECT_EQ(dind::ClientConfig::from_env(env(vars)).endpoint.url(), "tcp://127.0.0.1:23792");
  EXPECT_EQ(dind::ClientConfig::from_env(env()).endpoint.url(), "tcp://127.0.0.1:23791");
}

TEST_F(Store, DefaultMeansDockerHostRules) {
  const Pki& p = pki();
  create("ci", "host=tcp://127.0.0.1:23791");
  use("ci");
  // DOCKER_CONTEXT=default overrides config.json; then DOCKER_TLS_VERIFY and DOCKER_CERT_PATH apply again.
  const Env vars{{"DOCKER_CONTEXT", "default"}};
  EXPECT_EQ(cli_current(vars), "default");
  EXPECT_TRUE(dind::current_context(env(vars)).is_default());
  auto c = dind::ClientConfig::from_env(env(vars));
  EXPECT_EQ(c.endpoint.url(), "unix:///var/run/docker.sock");
  c = dind::ClientConfig::from_env(env({{"DOCKER_CONTEXT", "default"},
                                        {"DOCKER_HOST", ""},
                                        {"DOCKER_TLS_VERIFY", "1"},
                                        {"DOCKER_CERT_PATH", p.dir.string()}}));
  EXPECT_EQ(c.endpoint.url(), "unix:///var/run/docker.sock");
  // `docker context use default` writes an empty currentContext.
  use("default");
  EXPECT_EQ(cli_current({}), "default");
  EXPECT_TRUE(dind::current_context(env()).is_default());
  write(dir_ / "config.json", R"({"currentContext": "default"})");
  EXPECT_TRUE(dind::current_context(env()).is_default());
  // No config dir at all: the default, without looking anywhere.
  EXPECT_TRUE(dind::current_context({}).is_default());
  EXPECT_EQ(dind::ClientConfig::from_env(Env{}).endpoint.url(), "unix:///var/run/docker.sock");
}

TEST_F(Store, TheConfigDirIsDockerConfigElseHomeDotDocker) {
  EXPECT_EQ(dind::docker_config_dir({{"DOCKER_CONFIG", "/x"}, {"HOME", "/h"}}), "/x");
  EXPECT_EQ(dind::docker_config_dir({{"DOCKER_CONFIG", ""}, {"HOME", "/h"}}), "/h/.docker");
  EXPECT_EQ(dind::docker_config_dir({}), "");
  // HOME reaches the store when DOCKER_CONFIG is unset: a home whose .docker is our store.
  const fs::path home = dir_ / "home";
  fs::create_directories(home);
  fs::create_symlink(dir_, home / ".docker");
  create("home-ctx", "host=tcp://127.0.0.1:23793");
  const auto c = dind::ClientConfig::from_env({{"HOME", home.string()}, {"DOCKER_CONTEXT", "home-ctx"}});
  EXPECT_EQ(c.endpoint.url(), "tcp://127.0.0.1:23793");
}

TEST_F(Store, TheNoArgumentOverloadReadsTheProcessEnvironment) {
  create("proc", "host=tcp://127.0.0.1:23794");
  struct Saved {
    std::map<std::string, std::optional<std::string>> old;
    void set(const char* k, const char* v) {
      const char* o = std::getenv(k);
      old.emplace(k, o ? std::optional<std::string>(o) : std::nullopt);
      v ? ::setenv(k, v, 1) : ::unsetenv(k);
    }
    ~Saved() {
      for (const auto& [k, v] : old) v ? ::setenv(k.c_str(), v->c_str(), 1) : ::unsetenv(k.c_str());
    }
  } saved;
  saved.set("DOCKER_HOST", nullptr);
  saved.set("DOCKER_CONFIG", dir().c_str());
  saved.set("DOCKER_CONTEXT", "proc");
  EXPECT_EQ(dind::ClientConfig::from_env().endpoint.url(), "tcp://127.0.0.1:23794");
  saved.set("DOCKER_CONTEXT", nullptr);
  use("proc");
  EXPECT_EQ(dind::ClientConfig::from_env().endpoint.url(), "tcp://127.0.0.1:23794");
  EXPECT_EQ(dind::Client::from_env().config().endpoint.url(), "tcp://127.0.0.1:23794");
}

TEST_F(Store, AContextThatDoesNotExistIsNamedWithTheStoreItLookedIn) {
  create("ci", "host=tcp://127.0.0.1:23791");
  const Env vars{{"DOCKER_CONTEXT", "nope"}};
  std::string m = message_of<dind::Error>([&] { dind::ClientConfig::from_env(env(vars)); });
  EXPECT_HAS(m, "docker context \"nope\" not found in " + dir() + "/contexts/meta");
  EXPECT_HAS(m, "DOCKER_CONTEXT=nope");
  EXPECT_HAS(m, "docker context ls");
  // The CLI refuses it too, before dialling anything.
  const Ran r = cli("version", vars);
  EXPECT_NE(r.status, 0);
  EXPECT_HAS(r.output, "context \"nope\"");

  // Named by config.json: the message says so.
  write(dir_ / "config.json", R"({"currentContext": "gone"})");
  m = message_of<dind::Error>([&] { dind::ClientConfig::from_env(env()); });
  EXPECT_HAS(m, "\"gone\" not found in " + dir() + "/contexts/meta");
  EXPECT_HAS(m, "currentContext in " + dir() + "/config.json");

  // A runaway name is cut, and its control bytes are shown, not sent.
  const std::string huge = std::string(5000, 'x') + "\n";
  m = message_of<dind::Error>([&] { dind::ClientConfig::from_env(env({{"DOCKER_CONTEXT", huge}})); });
  EXPECT_HAS(m, "not found");
  EXPECT_HAS(m, "(5001 bytes)");
  EXPECT_LT(m.size(), 1000u) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);

  // Loading by name, from no store at all.
  m = message_of<dind::Error>([&] { dind::load_context("", "ci"); });
  EXPECT_HAS(m, "neither DOCKER_CONFIG nor HOME");
  m = message_of<dind::Error>([&] { dind::ClientConfig::from_env({{"DOCKER_CONTEXT", "ci"}}); });
  EXPECT_HAS(m, "DOCKER_CONTEXT=ci");
}

TEST_F(Store, AMalformedMetaJsonIsNamedWithWhatIsWrong) {
  create("bad", "host=tcp://127.0.0.1:23791");
  const std::string file = meta_file("bad").string();
  ASSERT_TRUE(fs::exists(file));
  const Env vars{{"DOCKER_CONTEXT", "bad"}};
  struct Case {
    const char* text;
    const char* says;
  };
  for (const Case& k :
       {Case{R"({"Name":"bad",)", "is not valid JSON"}, Case{R"({"Name":"bad"} trailing)", "is not valid JSON"},
        Case{R"([1,2])", "the document is array, expected an object"},
        Case{R"({"Endpoints":{"docker":{"Host":5}}})", "Endpoints.docker.Host is number"},
        Case{R"({"Endpoints":{"docker":{"SkipTLSVerify":"yes"}}})", "SkipTLSVerify is string"},
        Case{R"({"Endpoints":{"docker":[]}})", "Endpoints.docker is array"},
        Case{R"({"Endpoints":[]})", "Endpoints is array"},
        Case{R"({"Metadata":"x","Endpoints":{"docker":{}}})", "Metadata is string"}}) {
    write(file, k.text);
    const std::string m = message_of<dind::Error>([&] { dind::ClientConfig::from_env(env(vars)); });
    EXPECT_HAS(m, file);
    EXPECT_HAS(m, k.says);
    EXPECT_HAS(m, "docker context \"bad\" (DOCKER_CONTEXT=bad)");
    // The CLI cannot use it either (and says why before dialling).
    const Ran r = cli("version", vars);
    EXPECT_NE(r.status, 0) << k.text;
    EXPECT_HAS(r.output, "meta.json");
  }
  // A long bad value in the JSON error is cut.
  write(file, "{\"Name\": \"" + std::string(100000, 'y'));
  const std::string m = message_of<dind::Error>([&] { dind::ClientConfig::from_env(env(vars)); });
  EXPECT_HAS(m, file);
  EXPECT_LT(m.size(), 1000u) << m;
}

TEST_F(Store, AContextWithoutADockerEndpointSaysSo) {
  create("noep", "host=tcp://127.0.0.1:23791");
  const Env vars{{"DOCKER_CONTEXT", "noep"}};
  for (const char* text : {R"({"Name":"noep","Metadata":{},"Endpoints":{}})",
                           R"({"Name":"noep","Endpoints":{"kubernetes":{"Host":"x"},"docker":null}})", "null"}) {
    write(meta_file("noep"), text);
    const std::string m = message_of<dind::Error>([&] { dind::ClientConfig::from_env(env(vars)); });
    EXPECT_HAS(m, "docker context \"noep\" (DOCKER_CONTEXT=noep) has no docker endpoint");
    EXPECT_HAS(m, meta_file("noep").string());
    const Ran r = cli("version", vars);
    EXPECT_NE(r.status, 0);
    EXPECT_HAS(r.output, "docker endpoint");
  }
}

TEST_F(Store, AMalformedConfigJsonIsNamed) {
  create("ci", "host=tcp://127.0.0.1:23791");
  const std::string file = dir() + "/config.json";
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {R"({"currentContext": )", "is not valid JSON"},
           {R"({"currentContext": 5})", "currentContext is number, expected a string"},
           {R"("ci")", "the document is string, expected an object"}}) {
    write(file, text);
    const std::string m = message_of<dind::Error>([&] { dind::ClientConfig::from_env(env()); });
    EXPECT_HAS(m, file);
    EXPECT_HAS(m, says);
  }
  // What the CLI's decoder accepts: nothing at all, keys in any case, anything after the first value.
  write(file, " \n");
  EXPECT_TRUE(dind::current_context(env()).is_default());
  EXPECT_EQ(cli_current({}), "default");
  write(file, R"({"CURRENTCONTEXT": "ci"} and then anything)");
  EXPECT_EQ(dind::current_context(env()).name, "ci");
  EXPECT_EQ(cli_current({}), "ci");
  // A config.json that cannot be read is not taken for a missing one.
  fs::remove(file);
  fs::create_directory(file);
  const std::string m = message_of<dind::Error>([&] { dind::current_context(env()); });
  EXPECT_HAS(m, "cannot read " + file);
}

TEST_F(Store, SkipTlsVerifyIsTlsWithoutVerification) {
  const Pki& p = pki();
  create("skip", "host=tcp://127.0.0.1:23795,skip-tls-verify=true");
  create("skipca", "host=tcp://127.0.0.1:23795,skip-tls-verify=true,ca=" + p.path("ca.pem"));
  auto c = dind::ClientConfig::from_env(env({{"DOCKER_CONTEXT", "skip"}}));
  EXPECT_EQ(c.endpoint.url(), "https://127.0.0.1:23795");
  ASSERT_TRUE(c.tls);
  EXPECT_FALSE(c.tls->verify);
  EXPECT_TRUE(c.tls->ca_pem.empty());
  (void)dind::detail::make_tls_context(*c.tls);
  EXPECT_TRUE(dind::load_context(dir(), "skip").skip_tls_verify);
  c = dind::ClientConfig::from_env(env({{"DOCKER_CONTEXT", "skipca"}}));
  ASSERT_TRUE(c.tls);
  EXPECT_FALSE(c.tls->verify);
  EXPECT_EQ(c.tls->ca_pem, read(p.path("ca.pem")));
}

TEST_F(Store, TheEnvironmentsTlsSettingsDoNotApplyToAContext) {
  const Pki& p = pki();
  create("plain", "host=tcp://127.0.0.1:23796");
  const auto c = dind::ClientConfig::from_env(
      env({{"DOCKER_CONTEXT", "plain"}, {"DOCKER_TLS_VERIFY", "1"}, {"DOCKER_CERT_PATH", p.dir.string()}}));
  EXPECT_EQ(c.endpoint.url(), "tcp://127.0.0.1:23796");
  EXPECT_FALSE(c.tls);
}

TEST_F(Store, VerificationWithoutACaIsRefusedNotTrustedToTheSystem) {
  const Pki& p = pki();
  create("pair", "host=tcp://127.0.0.1:23797,cert=" + p.path("cert.pem") + ",key=" + p.path("key.pem"));
  const std::string m = message_of<dind::TlsError>([&] {
    dind::ClientConfig::from_env(env({{"DOCKER_CONTEXT", "pair"}}));
  });
  EXPECT_HAS(m, "docker context \"pair\"");
  EXPECT_HAS(m, "no CA certificate in " + dind::context_tls_dir(dir(), "pair"));
  // A client cert without its key is named, with where it lives.
  create("half", "host=tcp://127.0.0.1:23797,ca=" + p.path("ca.pem") + ",cert=" + p.path("cert.pem"));
  const std::string h = message_of<dind::TlsError>([&] {
    dind::ClientConfig::from_env(env({{"DOCKER_CONTEXT", "half"}}));
  });
  EXPECT_HAS(h, dind::context_tls_dir(dir(), "half") + "/cert.pem");
}

TEST_F(Store, AnSshContext) {
  create("remote", "host=ssh://me@127.0.0.1:2222");
  const auto ctx = dind::load_context(dir(), "remote");
  EXPECT_EQ(ctx.endpoint.kind, dind::Endpoint::Kind::Ssh);
  EXPECT_EQ(ctx.endpoint.user, "me");
  EXPECT_EQ(ctx.endpoint.host, "127.0.0.1");
  EXPECT_EQ(ctx.endpoint.port, 2222);
  const auto c = dind::ClientConfig::from_env(env({{"DOCKER_CONTEXT", "remote"}}));
  EXPECT_EQ(c.endpoint.url(), "ssh://me@127.0.0.1:2222");
  EXPECT_FALSE(c.tls);
}

TEST_F(Store, APortlessTcpHostIsDialledAsTheCliDialsIt) {
  // The CLI leaves a context's port-less tcp:// as it is, and its HTTP client dials 443 (TLS) or 80.
  const Pki& p = pki();
  create("tlsnoport", "host=tcp://127.0.0.1,ca=" + p.path("ca.pem"));
  create("noport", "host=tcp://127.0.0.1");
  EXPECT_EQ(dind::load_context(dir(), "tlsnoport").endpoint.url(), "https://127.0.0.1:443");
  EXPECT_EQ(dind::load_context(dir(), "noport").endpoint.url(), "tcp://127.0.0.1:80");
  EXPECT_EQ(dind::load_context(dir(), "noport").host, "tcp://127.0.0.1");
}

TEST_F(Store, KeysAsGoDecodesThemAndAnEmptyHost) {
  create("odd", "host=tcp://127.0.0.1:23798");
  write(meta_file("odd"), R"({"name":"odd","endpoints":{"docker":{"host":"tcp://127.0.0.1:1","HOST":null,)"
                          R"("Host":"tcp://127.0.0.1:23799","skiptlsverify":true}}})");
  auto ctx = dind::load_context(dir(), "odd");
  EXPECT_EQ(ctx.host, "tcp://127.0.0.1:23799");
  EXPECT_TRUE(ctx.skip_tls_verify);
  // No Host: the CLI's client falls back to the default socket.
  write(meta_file("odd"), R"({"Name":"odd","Endpoints":{"docker":{}}})");
  ctx = dind::load_context(dir(), "odd");
  EXPECT_EQ(ctx.endpoint.url(), "unix:///var/run/docker.sock");
  const Ran r = cli("version --format '{{.Server.Version}}'", {{"DOCKER_CONTEXT", "odd"}});
  EXPECT_EQ(r.status, 0) << r.output;
  // A Host that does not parse names the file.
  write(meta_file("odd"), R"({"Endpoints":{"docker":{"Host":"npipe:////./pipe/docker"}}})");
  const std::string m = message_of<dind::Error>([&] { dind::load_context(dir(), "odd"); });
  EXPECT_HAS(m, meta_file("odd").string());
  EXPECT_HAS(m, "npipe");
}

TEST_F(Store, WithoutDockerCertPathTheCertsAreInTheConfigDir) {
  // The CLI's default DOCKER_CERT_PATH is its config dir, DOCKER_CONFIG included.
  const Env vars{{"DOCKER_HOST", "tcp://127.0.0.1:1"}, {"DOCKER_TLS_VERIFY", "1"}};
  const Ran r =
      cli("version", {{"DOCKER_HOST", "tcp://127.0.0.1:1"}, {"DOCKER_TLS_VERIFY", "1"}, {"DOCKER_CONFIG", dir()}});
  EXPECT_HAS(r.output, dir() + "/ca.pem");
  const std::string m = message_of<dind::TlsError>([&] { dind::ClientConfig::from_env(env(vars)); });
  EXPECT_HAS(m, dir() + "/ca.pem");
  fs::copy_file(pki().path("ca.pem"), dir_ / "ca.pem");
  const auto c = dind::ClientConfig::from_env(env(vars));
  ASSERT_TRUE(c.tls);
  EXPECT_EQ(c.tls->ca_source, dir() + "/ca.pem");
}
