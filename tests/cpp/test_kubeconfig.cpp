// Layer 1: kubeconfig loading, on real files in a temporary directory (HOME points there, so the machine's own
// ~/.kube/config never takes part). PEM material comes from CertBundle (dind/certs.hpp), and every loaded TlsConfig
// that has some is handed to the TLS layer, which must accept it as it is.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dind/base64.hpp"
#include "dind/certs.hpp"
#include "dind/errors.hpp"
#include "dind/kubeconfig.hpp"
#include "dind/tls.hpp"

namespace fs = std::filesystem;

namespace {

constexpr const char* kToken = "s3cr3t-t0ken-never-shown";
constexpr const char* kPassword = "pa55w0rd-never-shown";

const dind::CertBundle& certs() {
  static const dind::CertBundle b = dind::CertBundle::make();
  return b;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

// A cluster, a user and a context in kubeconfig YAML.
std::string cluster(const std::string& name, const std::string& body) {
  return "- name: " + name + "\n  cluster:\n" + body;
}
std::string user(const std::string& name, const std::string& body) {
  return "- name: " + name + "\n  user:\n" + body;
}
std::string context(const std::string& name, const std::string& cluster, const std::string& user,
                    const std::string& ns = "") {
  return "- name: " + name + "\n  context:\n    cluster: " + cluster + "\n    user: " + user + "\n" +
         (ns.empty() ? "" : "    namespace: " + ns + "\n");
}
std::string config(const std::string& clusters, const std::string& users, const std::string& contexts,
                   const std::string& current = "") {
  return "apiVersion: v1\nkind: Config\nclusters:\n" + clusters + "users:\n" + users + "contexts:\n" + contexts +
         (current.empty() ? "" : "current-context: " + current + "\n") + "preferences: {}\n";
}
// A cluster body that verifies against the bundle's CA, given inline.
std::string ca_data_cluster(const std::string& server) {
  return "    server: " + server + "\n    certificate-authority-data: " + dind::base64_encode(certs().ca_cert()) + "\n";
}
std::string token_user() {
  return std::string("    token: ") + kToken + "\n";
}

// The environment the loader reads, set for one test and put back after it.
class Kubeconfig : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dind-kcfg-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* v : kVars) {
      const char* old = std::getenv(v);
      saved_.emplace(v, old ? std::optional<std::string>(old) : std::nullopt);
      ::unsetenv(v);
    }
    ::setenv("HOME", (dir_ / "home").c_str(), 1);
  }
  void TearDown() override {
    for (const auto& [k, v] : saved_) v ? (void)::setenv(k.c_str(), v->c_str(), 1) : (void)::unsetenv(k.c_str());
    fs::remove_all(dir_);
  }
  std::string path(const std::string& rel) const { return (dir_ / rel).string(); }
  std::string put(const std::string& rel, const std::string& text) const {
    write(dir_ / rel, text);
    return path(rel);
  }
  // A service account directory and the variables of a pod.
  void pod(const std::string& host, bool with_namespace = true) const {
    put("sa/token", std::string(kToken) + "\n");
    put("sa/ca.crt", certs().ca_cert());
    if (with_namespace) put("sa/namespace", "ci-jobs\n");
    ::setenv("KUBERNETES_SERVICE_HOST", host.c_str(), 1);
    ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    ::setenv("DIND_KUBE_SA_DIR", path("sa").c_str(), 1);
  }

  static constexpr const char* kVars[] = {"HOME", "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
                                          "DIND_KUBE_SA_DIR"};
  fs::path dir_;
  std::map<std::string, std::optional<std::string>> saved_;
};

// The message of the dind::Error `f` throws; it must never hold a secret.
std::string error_of(const std::function<void()>& f) {
  std::string m;
  try {
    f();
    m = "(no exception)";
  } catch (const dind::Error& e) {
    m = e.what();
  } catch (const std::exception& e) {
    m = std::string("(not a dind::Error: ") + e.what() + ")";
  }
  EXPECT_EQ(m.find(kToken), std::string::npos) << m;
  EXPECT_EQ(m.find(kPassword), std::string::npos) << m;
  EXPECT_EQ(m.find("PRIVATE KEY"), std::string::npos) << m;
  return m;
}

#define EXPECT_HAS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

}  // namespace

TEST_F(Kubeconfig, HomeKubeConfigWithRelativeFilesResolvesTheCurrentContext) {
  put("home/.kube/pki/ca.crt", certs().ca_cert());
  put("home/.kube/pki/client.crt", certs().client_cert());
  put("home/.kube/pki/client.key", certs().client_key());
  const std::string file =
      put("home/.kube/config",
          config(cluster("kind",
                         "    server: https://127.0.0.1:6443/\n    certificate-authority: pki/ca.crt\n"
                         "    tls-server-name: kubernetes.default\n"),
                 user("admin", "    client-certificate: pki/client.crt\n    client-key: ./pki/client.key\n"),
                 context("kind-ci", "kind", "admin", "jobs") + context("other", "kind", "admin"), "kind-ci"));
  const dind::KubeTarget t = dind::load_kube_target();
  EXPECT_EQ(t.server, "https://127.0.0.1:6443");  // the trailing slash dropped
  EXPECT_EQ(t.context, "kind-ci");
  EXPECT_EQ(t.cluster, "kind");
  EXPECT_EQ(t.user, "admin");
  EXPECT_EQ(t.namespace_, "jobs");
  EXPECT_EQ(t.source, file);
  EXPECT_TRUE(t.tls.verify);
  EXPECT_EQ(t.tls.server_name, "kubernetes.default");
  EXPECT_EQ(t.tls.ca_pem, certs().ca_cert());
  EXPECT_EQ(t.tls.ca_source, path("home/.kube/pki/ca.crt"));
  EXPECT_EQ(t.tls.cert_pem, certs().client_cert());
  EXPECT_EQ(t.tls.key_pem, certs().client_key());
  EXPECT_EQ(t.tls.key_source, path("home/.kube/./pki/client.key"));
  EXPECT_TRUE(t.token.empty());
  (void)dind::detail::make_tls_context(t.tls);

  // Another context of the same file, asked for by name; no namespace means "default".
  const dind::KubeTarget o = dind::load_kube_target({"", "other"});
  EXPECT_EQ(o.context, "other");
  EXPECT_EQ(o.namespace_, "default");
}

TEST_F(Kubeconfig, DataFieldsAreBase64OfThePem) {
  // The key wrapped at 76 columns in a block scalar, as some tools write it: the line breaks are not data.
  const std::string key = dind::base64_encode(certs().client_key());
  std::string wrapped;
  for (std::size_t i = 0; i < key.size(); i += 76) wrapped += "      " + key.substr(i, 76) + "\n";
  const std::string file =
      put("k.yaml", config(cluster("c", ca_data_cluster("https://[fd00::1]:6443")),
                           user("u", "    client-certificate-data: " + dind::base64_encode(certs().client_cert()) +
                                         "\n    client-key-data: |\n" + wrapped),
                           context("x", "c", "u"), "x"));
  const dind::KubeTarget t = dind::load_kube_target({file, ""});
  EXPECT_EQ(t.server, "https://[fd00::1]:6443");  // IPv6, as written
  EXPECT_EQ(t.tls.ca_pem, certs().ca_cert());
  EXPECT_EQ(t.tls.cert_pem, certs().client_cert());
  EXPECT_EQ(t.tls.key_pem, certs().client_key());
  EXPECT_HAS(t.tls.ca_source, "certificate-authority-data of cluster 'c' in " + file);
  EXPECT_HAS(t.tls.key_source, "client-key-data of user 'u' in " + file);
  (void)dind::detail::make_tls_context(t.tls);
}

TEST_F(Kubeconfig, KubeconfigListsMergeTheFirstDefinitionWins) {
  // a: no current-context, its own "shared" cluster and context; b: the current-context, a second "shared" cluster
  // (ignored), and the cluster and user the current context needs, with paths relative to b's directory.
  const std::string a = put("a/config", config(cluster("shared", ca_data_cluster("https://a.example:6443")),
                                               user("ua", token_user()), context("ctx-a", "shared", "ua", "from-a")));
  put("b/files/ca.crt", certs().ca_cert());
  put("b/files/token", std::string(kToken) + "-b\n");
  const std::string b =
      put("b/config",
          config(cluster("shared", ca_data_cluster("https://b.example:6443")) +
                     cluster("only-b", "    server: https://b.example:7443\n    certificate-authority: files/ca.crt\n"),
                 user("ub", "    tokenFile: files/token\n"),
                 context("ctx-b", "only-b", "ub") + context("ctx-a", "only-b", "ub", "from-b"), "ctx-b"));
  const std::string c = put("c/config", "current-context: ctx-a\n");  // too late to choose
  ::setenv("KUBECONFIG", (path("missing/config") + ":" + a + "::" + b + ":" + c).c_str(), 1);

  const dind::KubeTarget t = dind::load_kube_target();
  EXPECT_EQ(t.context, "ctx-b");  // the first current-context set, from b
  EXPECT_EQ(t.server, "https://b.example:7443");
  EXPECT_EQ(t.tls.ca_source, path("b/files/ca.crt"));
  EXPECT_EQ(t.token, std::string(kToken) + "-b");  // the tokenFile, trimmed
  EXPECT_EQ(t.source, b);

  // ctx-a and the cluster "shared" come from a, the first file that defines them.
  const dind::KubeTarget ta = dind::load_kube_target({"", "ctx-a"});
  EXPECT_EQ(ta.namespace_, "from-a");
  EXPECT_EQ(ta.server, "https://a.example:6443");
  EXPECT_EQ(ta.token, kToken);
  EXPECT_EQ(ta.source, a);
}

TEST_F(Kubeconfig, SourceNamesEveryFileTheContextTookFrom) {
  const std::string a = put("a", config("", user("u", token_user()), context("x", "c", "u"), "x"));
  const std::string b = put("b", config(cluster("c", ca_data_cluster("https://k:6443")), "", ""));
  ::setenv("KUBECONFIG", (a + ":" + b).c_str(), 1);
  EXPECT_EQ(dind::load_kube_target().source, a + ", " + b);
}

TEST_F(Kubeconfig, AnExplicitPathWinsAndMustExist) {
  const std::string mine = put("mine", config(cluster("c", ca_data_cluster("https://mine:6443")),
                                              user("u", token_user()), context("x", "c", "u"), "x"));
  const std::string env = put("env", config(cluster("c", ca_data_cluster("https://env:6443")), user("u", token_user()),
                                            context("x", "c", "u"), "x"));
  ::setenv("KUBECONFIG", env.c_str(), 1);
  EXPECT_EQ(dind::load_kube_target({mine, ""}).server, "https://mine:6443");
  EXPECT_EQ(dind::load_kube_target().server, "https://env:6443");

  const std::string m = error_of([&] { dind::load_kube_target({path("nope/config"), ""}); });
  EXPECT_HAS(m, "cannot read kubeconfig " + path("nope/config") + " (given as the kubeconfig path)");
  EXPECT_HAS(m, "No such file or directory");
}

TEST_F(Kubeconfig, KubeconfigSetMeansHomeConfigIsNotRead) {
  put("home/.kube/config",
      config(cluster("c", ca_data_cluster("https://home:6443")), user("u", token_user()), context("x", "c", "u"), "x"));
  EXPECT_EQ(dind::load_kube_target().server, "https://home:6443");
  ::setenv("KUBECONFIG", path("missing").c_str(), 1);
  const std::string m = error_of([] { dind::load_kube_target(); });
  EXPECT_HAS(m, "no kubeconfig found");
  EXPECT_HAS(m, "KUBECONFIG=" + path("missing"));
}

TEST_F(Kubeconfig, TokenWinsOverTokenFileAndBasicAuthIsTaken) {
  put("t", "file-token\n");
  const std::string f =
      put("k", config(cluster("c", ca_data_cluster("https://k:6443")),
                      user("both", std::string("    token: ") + kToken + "\n    tokenFile: t\n") +
                          user("basic", std::string("    username: ci\n    password: ") + kPassword + "\n"),
                      context("tok", "c", "both") + context("basic", "c", "basic"), "tok"));
  EXPECT_EQ(dind::load_kube_target({f, ""}).token, kToken);
  const dind::KubeTarget b = dind::load_kube_target({f, "basic"});
  EXPECT_EQ(b.username, "ci");
  EXPECT_EQ(b.password, kPassword);
  EXPECT_TRUE(b.token.empty());
}

TEST_F(Kubeconfig, InsecureSkipTlsVerifyReadsNoCa) {
  const std::string f = put("k", config(cluster("c",
                                                "    server: https://k:6443\n    insecure-skip-tls-verify: true\n"
                                                "    certificate-authority: does-not-exist.crt\n"),
                                        user("u", token_user()), context("x", "c", "u"), "x"));
  const dind::KubeTarget t = dind::load_kube_target({f, ""});
  EXPECT_FALSE(t.tls.verify);
  EXPECT_TRUE(t.tls.ca_pem.empty());
  (void)dind::detail::make_tls_context(t.tls);
}

TEST_F(Kubeconfig, InClusterServiceAccountWhenNoFileExists) {
  pod("fd00:10:96::1");
  const dind::KubeTarget t = dind::load_kube_target();
  EXPECT_EQ(t.server, "https://[fd00:10:96::1]:443");
  EXPECT_EQ(t.token, kToken);  // trimmed
  EXPECT_EQ(t.namespace_, "ci-jobs");
  EXPECT_EQ(t.tls.ca_pem, certs().ca_cert());
  EXPECT_EQ(t.tls.ca_source, path("sa/ca.crt"));
  EXPECT_TRUE(t.tls.verify);
  EXPECT_EQ(t.source, "in-cluster service account");
  (void)dind::detail::make_tls_context(t.tls);

  ::unsetenv("DIND_KUBE_SA_DIR");
  fs::remove(path("sa/namespace"));
  ::setenv("DIND_KUBE_SA_DIR", path("sa").c_str(), 1);
  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  const dind::KubeTarget v4 = dind::load_kube_target();
  EXPECT_EQ(v4.server, "https://10.96.0.1:443");
  EXPECT_EQ(v4.namespace_, "default");

  // A kubeconfig, when there is one, wins.
  put("home/.kube/config",
      config(cluster("c", ca_data_cluster("https://home:6443")), user("u", token_user()), context("x", "c", "u"), "x"));
  EXPECT_EQ(dind::load_kube_target().server, "https://home:6443");
}

TEST_F(Kubeconfig, NoKubeconfigSaysWhereItLooked) {
  std::string m = error_of([] { dind::load_kube_target(); });
  EXPECT_HAS(m, "no kubeconfig found");
  EXPECT_HAS(m, path("home/.kube/config"));
  EXPECT_HAS(m, "KUBERNETES_SERVICE_HOST");

  ::setenv("KUBECONFIG", (path("x") + ":" + path("y")).c_str(), 1);
  m = error_of([] { dind::load_kube_target(); });
  EXPECT_HAS(m, "KUBECONFIG=" + path("x") + ":" + path("y"));

  // In a pod whose service account has no token.
  pod("10.96.0.1");
  fs::remove(path("sa/token"));
  m = error_of([] { dind::load_kube_target(); });
  EXPECT_HAS(m, path("sa") + "/token does not exist");

  // A context asked for, with only the in-cluster config there.
  put("sa/token", kToken);
  m = error_of([] { dind::load_kube_target({"", "prod"}); });
  EXPECT_HAS(m, "context 'prod' asked for, but no kubeconfig was found");
}

TEST_F(Kubeconfig, ContextErrorsNameTheContextsAndTheFile) {
  const std::string f = put("k", config(cluster("c", ca_data_cluster("https://k:6443")), user("u", token_user()),
                                        context("a", "c", "u") + context("no-cluster", "gone", "u") +
                                            context("no-user", "c", "ghost") + "- name: empty\n  context: {}\n"));
  std::string m = error_of([&] { dind::load_kube_target({f, ""}); });
  EXPECT_HAS(m, "no kubeconfig context chosen");
  EXPECT_HAS(m, f);
  EXPECT_HAS(m, "contexts there: 'a', 'empty', 'no-cluster', 'no-user'");

  m = error_of([&] { dind::load_kube_target({f, "prod"}); });
  EXPECT_HAS(m, "kubeconfig context 'prod' not found in " + f);
  EXPECT_HAS(m, "'no-user'");

  m = error_of([&] { dind::load_kube_target({f, "no-cluster"}); });
  EXPECT_HAS(m, "kubeconfig context 'no-cluster' in " + f + " names cluster 'gone'");
  EXPECT_HAS(m, "clusters there: 'c'");

  m = error_of([&] { dind::load_kube_target({f, "no-user"}); });
  EXPECT_HAS(m, "names user 'ghost'");
  EXPECT_HAS(m, "users there: 'u'");

  m = error_of([&] { dind::load_kube_target({f, "empty"}); });
  EXPECT_HAS(m, "kubeconfig context 'empty' in " + f + " names no cluster");

  // The current-context of a file, missing: the message says which file set it.
  const std::string g = put("g", config("", "", context("a", "c", "u"), "gone"));
  m = error_of([&] { dind::load_kube_target({g, ""}); });
  EXPECT_HAS(m, "kubeconfig context 'gone' (the current-context of " + g + ") not found");
}

TEST_F(Kubeconfig, MalformedYamlNamesTheFileLineAndColumn) {
  const std::string f = put(
      "bad", std::string("apiVersion: v1\nusers:\n- name: u\n  user:\n    token: ") + kToken + "\n   bad: [unclosed\n");
  std::string m = error_of([&] { dind::load_kube_target({f, ""}); });
  EXPECT_HAS(m, "kubeconfig " + f + " is not valid YAML: ");
  EXPECT_HAS(m, " at line ");
  EXPECT_HAS(m, ", column ");

  // Valid YAML of the wrong shape.
  put("bad", "- just\n- a list\n");
  m = error_of([&] { dind::load_kube_target({f, ""}); });
  EXPECT_HAS(m, "kubeconfig " + f + " is not a map");
  put("bad", "clusters: {c: 1}\n");
  m = error_of([&] { dind::load_kube_target({f, ""}); });
  EXPECT_HAS(m, "clusters is not a list");
  // Fields are read when a context uses their entry.
  put("bad", std::string("users:\n- name: u\n  user:\n    token: [") + kToken + "]\n" +
                 "clusters:\n- name: c\n  cluster: {server: 'https://k', insecure-skip-tls-verify: true}\n" +
                 "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n");
  m = error_of([&] { dind::load_kube_target({f, ""}); });
  EXPECT_HAS(m, "user 'u' in " + f + ": token is not a string");
  put("bad", config(cluster("c", "    server: https://k\n    insecure-skip-tls-verify: maybe\n"),
                    user("u", token_user()), context("x", "c", "u"), "x"));
  m = error_of([&] { dind::load_kube_target({f, ""}); });
  EXPECT_HAS(m, "cluster 'c' in " + f + ": insecure-skip-tls-verify is not a boolean");
  put("bad", config(cluster("c", ca_data_cluster("https://k")) + cluster("c", ca_data_cluster("https://k")), "", ""));
  m = error_of([&] { dind::load_kube_target({f, ""}); });
  EXPECT_HAS(m, "clusters has 'c' twice");

  // An empty file is an empty config.
  put("bad", "");
  m = error_of([&] { dind::load_kube_target({f, ""}); });
  EXPECT_HAS(m, "no kubeconfig context chosen");
}

TEST_F(Kubeconfig, UnreadableTlsFilesAndBadDataNameTheFile) {
  const std::string f = put(
      "k",
      config(cluster("c", "    server: https://k:6443\n    certificate-authority: missing/ca.crt\n") +
                 cluster("ok", ca_data_cluster("https://k:6443")) + cluster("noca", "    server: https://k:6443\n") +
                 cluster("plain", "    server: http://127.0.0.1:8001\n") +
                 cluster("badb64", "    server: https://k:6443\n    certificate-authority-data: not*base64\n"),
             user("u", token_user()) + user("nokey", "    client-certificate: cert.pem\n" + token_user()) +
                 user("halfkey", "    client-key-data: " + dind::base64_encode(certs().client_key()) + "\n"),
             context("ca", "c", "u") + context("nokey", "ok", "nokey") + context("halfkey", "ok", "halfkey") +
                 context("noca", "noca", "u") + context("plain", "plain", "u") + context("b64", "badb64", "u")));
  std::string m = error_of([&] { dind::load_kube_target({f, "ca"}); });
  EXPECT_HAS(m, "cannot read the certificate-authority file " + path("missing/ca.crt") + " of cluster 'c' in " + f);
  EXPECT_HAS(m, "No such file or directory");

  m = error_of([&] { dind::load_kube_target({f, "nokey"}); });
  EXPECT_HAS(m, "cannot read the client-certificate file " + path("cert.pem") + " of user 'nokey' in " + f);
  put("cert.pem", certs().client_cert());
  m = error_of([&] { dind::load_kube_target({f, "nokey"}); });
  EXPECT_HAS(m, "user 'nokey' in " + f + " has a client certificate but no client-key(-data)");
  m = error_of([&] { dind::load_kube_target({f, "halfkey"}); });
  EXPECT_HAS(m, "has a client key but no client-certificate(-data)");

  m = error_of([&] { dind::load_kube_target({f, "noca"}); });
  EXPECT_HAS(m, "cluster 'noca' in " + f + ": the server https://k:6443 would be verified");
  EXPECT_EQ(dind::load_kube_target({f, "plain"}).server, "http://127.0.0.1:8001");  // no TLS, no CA needed

  m = error_of([&] { dind::load_kube_target({f, "b64"}); });
  EXPECT_HAS(m, "certificate-authority-data of cluster 'badb64' in " + f + " is not base64");

  // A file that exists but is no file to read.
  fs::create_directories(path("missing/ca.crt"));
  m = error_of([&] { dind::load_kube_target({f, "ca"}); });
  EXPECT_HAS(m, "Is a directory");
}

TEST_F(Kubeconfig, UnsupportedAndConflictingAuthNameTheUserAndFile) {
  const std::string f =
      put("k", config(cluster("c", ca_data_cluster("https://k:6443")),
                      user("eks", std::string("    token: ") + kToken +
                                      "\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                                      "      command: aws\n") +
                          user("gke", "    auth-provider:\n      name: gcp\n") +
                          user("both", std::string("    token: ") + kToken +
                                           "\n    username: ci\n    password: " + kPassword + "\n") +
                          user("tf", "    tokenFile: no-such-token\n"),
                      context("eks", "c", "eks") + context("gke", "c", "gke") + context("both", "c", "both") +
                          context("tf", "c", "tf")));
  std::string m = error_of([&] { dind::load_kube_target({f, "eks"}); });
  EXPECT_HAS(m, "user 'eks' in " + f + " authenticates with exec");
  EXPECT_HAS(m, "not support");
  m = error_of([&] { dind::load_kube_target({f, "gke"}); });
  EXPECT_HAS(m, "user 'gke' in " + f + " authenticates with auth-provider");
  m = error_of([&] { dind::load_kube_target({f, "both"}); });
  EXPECT_HAS(m, "user 'both' in " + f + " has both a token and basic auth");
  m = error_of([&] { dind::load_kube_target({f, "tf"}); });
  EXPECT_HAS(m, "cannot read the tokenFile " + path("no-such-token") + " of user 'tf' in " + f);
}

TEST_F(Kubeconfig, AnUnreadableFileInTheListIsAnError) {
  const std::string d = path("adir");
  fs::create_directories(d);
  ::setenv("KUBECONFIG", d.c_str(), 1);
  const std::string m = error_of([] { dind::load_kube_target(); });
  EXPECT_HAS(m, "cannot read kubeconfig " + d + ": Is a directory");
}
