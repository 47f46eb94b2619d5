// The Kubernetes backend against the real one-node cluster of scripts/cluster.sh (KUBECONFIG from
// `scripts/cluster.sh env`; scripts/test.sh starts it): a dind pod starts, runs a container, serves the docker CLI
// through env(), and leaves nothing; pods that cannot start fail fast with their events; refusals say what to ask for.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "dind/containers.hpp"
#include "dind/daemon.hpp"
#include "dind/errors.hpp"
#include "dind/images.hpp"
#include "dind/kube.hpp"
#include "dind/session.hpp"

namespace {

const char* kImage = "dind-offline:latest";
const char* kNode = "localhost";  // the cluster has no scheduler: pods name their node

std::string kubeconfig() {
  const char* k = std::getenv("KUBECONFIG");
  EXPECT_TRUE(k && *k) << "KUBECONFIG is not set: start the test cluster (scripts/cluster.sh start) and export "
                          "what `scripts/cluster.sh env` prints";
  return k ? k : "";
}

dind::DaemonOptions options(const std::string& context = "") {
  dind::DaemonOptions o;
  o.backend = dind::Backend::kubernetes;
  o.image = kImage;
  o.pull = dind::PullPolicy::never;  // no registry here: the cluster's containerd has the image imported
  o.outer = dind::Client(dind::ClientConfig::from_url("unix:///var/run/docker.sock"));
  o.kube.kubeconfig = kubeconfig();
  o.kube.context = context;
  o.kube.node = kNode;
  o.labels["dind.test"] = "test-kube-" + std::to_string(::getpid());
  return o;
}

dind::KubeClient admin() {
  return dind::KubeClient(dind::load_kube_target({kubeconfig(), ""}));
}

// Pods and Secrets this test binary made that the API server still lists.
std::size_t leftovers() {
  auto k = admin();
  const std::string sel = "?labelSelector=dind.test%3Dtest-kube-" + std::to_string(::getpid());
  std::size_t n = 0;
  for (const char* kind : {"pods", "secrets"})
    n += k.call("GET", "/api/v1/namespaces/" + k.target().namespace_ + "/" + kind + sel)["items"].size();
  return n;
}

class KubeTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(leftovers(), 0u) << "a test left a pod or Secret behind"; }
};

std::string run_cli(const std::map<std::string, std::string>& env, const std::string& args) {
  std::string cmd = "env";
  for (const auto& [k, v] : env) cmd += " " + k + "='" + v + "'";
  cmd += " docker " + args + " 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

}  // namespace

TEST_F(KubeTest, APodStartsLoadsAnImageRunsAContainerServesTheCliAndLeavesNothing) {
  std::string dir, pod, ns;
  {
    auto d = dind::Daemon::start(options());
    pod = d.name();
    ns = admin().target().namespace_;
    dir = d.dir();
    EXPECT_EQ(d.client().ping(), "OK");
    EXPECT_EQ(d.reach().kind, dind::ReachKind::tunnel);
    EXPECT_NE(d.reach().reason.find("API server"), std::string::npos) << d.reach().reason;

    const auto loaded = d.load_images({"busybox:latest"});
    ASSERT_EQ(loaded.size(), 1u);
    dind::Containers inner(d.client());
    const std::string id = inner.create({{"Image", "busybox:latest"}, {"Cmd", {"echo", "hello from the pod"}}})["Id"];
    inner.start(id);
    inner.wait(id);
    EXPECT_EQ(inner.logs_all(id).out, "hello from the pod\n");

    const std::string cli = run_cli(d.env(), "run --rm busybox:latest echo via-cli");
    EXPECT_NE(cli.find("via-cli"), std::string::npos) << cli;

    const auto r = d.exec({"sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
    EXPECT_NE(d.logs(50).find("API listen on"), std::string::npos);

    auto k = admin();
    EXPECT_EQ(k.call("GET", "/api/v1/namespaces/" + ns + "/secrets/" + pod + "-certs")["type"], "Opaque");
  }
  auto k = admin();
  EXPECT_THROW(k.call("GET", "/api/v1/namespaces/" + ns + "/pods/" + pod), dind::NotFound);
  EXPECT_THROW(k.call("GET", "/api/v1/namespaces/" + ns + "/secrets/" + pod + "-certs"), dind::NotFound);
  EXPECT_FALSE(std::filesystem::exists(dir)) << "the private directory (client certs) is gone";
}

TEST_F(KubeTest, TwoDaemonsAtOnceAreSeparate) {
  auto a = dind::Daemon::start(options());
  auto b = dind::Daemon::start(options());
  EXPECT_NE(a.name(), b.name());
  a.load_images({"busybox:latest"});
  EXPECT_EQ(dind::Containers(a.client()).list(true).size(), 0u);
  EXPECT_NO_THROW(dind::Daemon::start(options()).client().ping());
  EXPECT_EQ(dind::Images(a.client()).list().size(), 1u);
  EXPECT_EQ(dind::Images(b.client()).list().size(), 0u) << "b's daemon got a's image";
}

TEST_F(KubeTest, AnImageThePodCannotGetFailsFastWithItsEvents) {
  auto o = options();
  o.image = "dind-no-such-image:never";
  const auto t0 = std::chrono::steady_clock::now();
  try {
    dind::Daemon::start(o);
    FAIL() << "started a pod of an image nobody has";
  } catch (const dind::DaemonStartError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("ErrImageNeverPull"), std::string::npos) << m;
    EXPECT_NE(m.find("the pod's events"), std::string::npos) << m;
    EXPECT_NE(m.find("dind pod "), std::string::npos) << m;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30)) << "not the 60 s start timeout";
}

TEST_F(KubeTest, AnApiServerThatForbidsPrivilegedPodsIsNamedWithWhatToAskFor) {
  try {
    dind::Daemon::start(options("dind-noprivileged"));
    FAIL() << "a privileged pod was admitted by an API server started with --allow-privileged=false";
  } catch (const dind::DaemonStartError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("privileged"), std::string::npos) << m;
    EXPECT_NE(m.find("ask its admin"), std::string::npos) << m;
    EXPECT_NE(m.find("sysbox"), std::string::npos) << m;
  }
}

TEST_F(KubeTest, ANamespaceWithoutPermissionSaysWhatRoleToAskFor) {
  const auto target = dind::load_kube_target({kubeconfig(), "dind-limited"});
  try {
    dind::Daemon::start(options("dind-limited"));
    FAIL() << "user 'limited' could create a Secret and a pod";
  } catch (const dind::DaemonStartError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("forbidden"), std::string::npos) << m;
    EXPECT_NE(m.find("ask the cluster's admin for a Role in namespace " + target.namespace_), std::string::npos) << m;
    EXPECT_EQ(m.find(target.token), std::string::npos) << "the token is in the message";
  }
}

TEST_F(KubeTest, RefusedCredentialsGiveTheApiServersMessageNeverTheToken) {
  auto target = dind::load_kube_target({kubeconfig(), ""});
  target.token = "not-a-token-the-server-knows";
  dind::KubeClient k(target);
  try {
    k.call("GET", "/api/v1/namespaces/default/pods");
    FAIL() << "a made-up token was accepted";
  } catch (const dind::Unauthorized& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(target.server), std::string::npos) << m;
    EXPECT_NE(m.find("were refused"), std::string::npos) << m;
    EXPECT_EQ(m.find("not-a-token"), std::string::npos) << m;
  }
}

TEST_F(KubeTest, AContextThatDoesNotExistIsRefusedBeforeAnythingIsMade) {
  auto o = options("no-such-context");
  try {
    dind::Daemon::start(o);
    FAIL() << "started with a context that does not exist";
  } catch (const dind::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-context"), std::string::npos) << e.what();
  }
}

TEST_F(KubeTest, AKilledOwnersPodAndSecretAreReapedALiveOnesAreNot) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  dind::Owner dead{child, "1", ""};  // that pid is gone (or reused: then the start time differs)
  std::string orphan;
  {
    auto o = options();
    o.owner = dead;
    auto d = dind::Daemon::start(o);
    orphan = d.name();
    d.keep();  // as if its process had been killed: nothing tears it down
  }
  auto live = dind::Daemon::start(options());
  auto k = admin();
  const auto r = dind::reap_kubernetes(k, k.target().namespace_);
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  EXPECT_TRUE(has(r.pods, orphan));
  EXPECT_TRUE(has(r.secrets, orphan + "-certs"));
  EXPECT_FALSE(has(r.pods, live.name()));
  EXPECT_THROW(k.call("GET", "/api/v1/namespaces/" + k.target().namespace_ + "/pods/" + orphan), dind::NotFound);
  EXPECT_EQ(live.client().ping(), "OK") << "reap must leave a live owner's daemon alone";
}
