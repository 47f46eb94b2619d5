// Reach against the real engine: the plan for each kind of engine endpoint, a daemon reached only through the tunnel
// (its streams, archives, exec and the docker CLI through the forwarder), and the forwarder on its own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "dind/archive.hpp"
#include "dind/containers.hpp"
#include "dind/daemon.hpp"
#include "dind/exec.hpp"
#include "dind/forwarder.hpp"
#include "dind/private_dir.hpp"
#include "dind/reach.hpp"
#include "dind/streams.hpp"
#include "dind/tar.hpp"
#include "dind/tunnel.hpp"

namespace {

const char* kImage = "dind-offline:latest";
const char* kSock = "unix:///var/run/docker.sock";

dind::Client outer() {
  return dind::Client(dind::ClientConfig::from_url(kSock));
}

std::string test_session() {
  static const std::string s = "test-reach-" + std::to_string(::getpid());
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

// What a command printed (stdout and stderr), and its exit status.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

dind::ReachPlan plan(const std::string& url, dind::ReachRequest r = {}) {
  dind::Client engine(dind::ClientConfig::from_url(url));
  return dind::plan_reach(engine, r);
}

template <class E, class F>
std::string message_of(F f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no exception)";
}

// ---- the plan ------------------------------------------------------------------------------------------------

TEST(ReachPlan, OnTheEnginesHostItIsTheLoopbackPort) {
  ASSERT_FALSE(dind::own_container_id()) << "these tests run on the engine's host, not in one of its containers";
  auto p = plan(kSock);
  EXPECT_EQ(p.kind, dind::ReachKind::loopback);
  EXPECT_EQ(p.publish_ip, "127.0.0.1");
  EXPECT_EQ(p.dial_host, "127.0.0.1");
  EXPECT_TRUE(p.fallback_to_tunnel);
  EXPECT_NE(p.reason.find("engine's host"), std::string::npos) << p.reason;
}

TEST(ReachPlan, FollowsTheEnginesEndpoint) {
  EXPECT_EQ(plan("tcp://127.0.0.1:2375").kind, dind::ReachKind::loopback);
  auto remote = plan("tcp://build-host:2376");
  EXPECT_EQ(remote.kind, dind::ReachKind::published);
  EXPECT_EQ(remote.publish_ip, "0.0.0.0");
  EXPECT_EQ(remote.dial_host, "build-host");
  dind::ReachRequest plain;
  plain.tls = false;  // never published beyond loopback unless asked: through the engine's API instead
  EXPECT_EQ(plan("tcp://build-host:2375", plain).kind, dind::ReachKind::tunnel);
  auto ssh = plan("ssh://root@127.0.0.1:2222");  // an sshd on this host fronts this very engine: still no loopback
  EXPECT_EQ(ssh.kind, dind::ReachKind::tunnel);
  EXPECT_FALSE(ssh.fallback_to_tunnel);
  EXPECT_NE(ssh.reason.find("ssh"), std::string::npos) << ssh.reason;
}

TEST(ReachPlan, AnOverrideWinsAndBadCombinationsAreRefused) {
  dind::ReachRequest r;
  r.host = "ci-host.example";
  auto p = plan(kSock, r);
  EXPECT_EQ(p.kind, dind::ReachKind::published);
  EXPECT_EQ(p.publish_ip, "0.0.0.0");
  EXPECT_EQ(p.dial_host, "ci-host.example");
  EXPECT_FALSE(p.fallback_to_tunnel);
  EXPECT_NE(p.reason.find("host=ci-host.example"), std::string::npos) << p.reason;
  r.host = "localhost";
  EXPECT_EQ(plan(kSock, r).publish_ip, "127.0.0.1");

  r.host = "ci-host.example";
  r.tls = false;
  auto m = message_of<dind::Error>([&] { plan(kSock, r); });
  EXPECT_NE(m.find("plain TCP"), std::string::npos) << m;
  EXPECT_NE(m.find("insecure_publish"), std::string::npos) << m;
  r.insecure_publish = true;
  EXPECT_EQ(plan(kSock, r).publish_ip, "0.0.0.0");

  dind::ReachRequest tunnel;
  tunnel.kind = dind::ReachKind::tunnel;
  tunnel.host = "ci-host.example";
  m = message_of<dind::Error>([&] { plan(kSock, tunnel); });
  EXPECT_NE(m.find("cannot go with reach='tunnel'"), std::string::npos) << m;

  ::setenv("DIND_HOST", "from-env.example", 1);
  auto env = plan(kSock);
  ::unsetenv("DIND_HOST");
  EXPECT_EQ(env.dial_host, "from-env.example");
  EXPECT_NE(env.reason.find("DIND_HOST=from-env.example"), std::string::npos) << env.reason;

  EXPECT_EQ(dind::parse_reach_kind("tunnel"), dind::ReachKind::tunnel);
  m = message_of<dind::Error>([] { dind::parse_reach_kind("teleport"); });
  EXPECT_NE(m.find("teleport"), std::string::npos) << m;
}

// ---- a daemon reached only through the tunnel ------------------------------------------------------------------

class TunnelTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(leftovers(), 0u) << "a test left a dind container behind"; }
};

TEST_F(TunnelTest, StreamsArchivesExecAndTheDockerCliGoThroughIt) {
  auto o = options();
  o.reach = dind::ReachKind::tunnel;
  std::string socket;
  {
    auto d = dind::Daemon::start(o);
    EXPECT_EQ(d.reach().kind, dind::ReachKind::tunnel);
    EXPECT_EQ(d.host().rfind("tunnel://", 0), 0u) << d.host();
    // No port published: only the engine's API leads to it.
    const auto info = dind::Containers(outer()).inspect(d.id());
    EXPECT_TRUE(info["HostConfig"]["PortBindings"].is_null() || info["HostConfig"]["PortBindings"].empty())
        << info["HostConfig"]["PortBindings"].dump();
    EXPECT_EQ(d.client().ping(), "OK");
    EXPECT_EQ(d.load_images({"busybox:latest"}), std::vector<std::string>{"busybox:latest"});

    dind::Containers inner(d.client());
    const std::string id =
        inner
            .create({{"Image", "busybox:latest"},
                     {"Cmd", {"sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.1; done; sleep 60"}}})
            .value("Id", "");
    inner.start(id);
    // A followed log stream (a connection of its own through the tunnel).
    dind::LogsOptions lo;
    lo.follow = true;
    lo.tty = false;
    auto logs = dind::ContainerStreams(d.client()).logs(id, lo);
    std::string seen;
    dind::OutputChunk chunk;
    while (seen.find("line3") == std::string::npos && logs.next(chunk)) seen += chunk.data;
    logs.close();
    EXPECT_NE(seen.find("line1\nline2\nline3"), std::string::npos) << seen;
    // Exec with stdin (a hijack inside the tunnel's hijack), and its exit code.
    dind::ExecConfig ec;
    ec.cmd = {"sh", "-c", "cat; exit 4"};
    auto r = dind::Exec(d.client()).run(id, ec, std::string("through stdin\n"));
    EXPECT_EQ(r.out, "through stdin\n");
    EXPECT_EQ(r.exit_code, 4);
    // An archive in and out.
    dind::TarWriter tar;
    tar.add_bytes("hello.txt", std::string(300000, 'x'));
    dind::Archive(d.client()).put(id, "/tmp", dind::body_from_tar(std::move(tar)));
    auto got = dind::Archive(d.client()).get(id, "/tmp/hello.txt");
    EXPECT_EQ(got.stat.size, 300000);
    EXPECT_GT(got.body.read_all().size(), 300000u);

    // The docker CLI, through the forwarder on the socket env() names.
    const auto env = d.env();
    EXPECT_EQ(env.count("DOCKER_TLS_VERIFY"), 0u);
    socket = env.at("DOCKER_HOST");
    ASSERT_EQ(socket.rfind("unix://", 0), 0u) << socket;
    auto [code, out] = run("DOCKER_HOST=" + socket + " DOCKER_TLS_VERIFY= DOCKER_CONTEXT= docker run --rm -i " +
                           "busybox:latest sh -c 'cat; echo cli-ok' </etc/hostname");
    EXPECT_EQ(code, 0) << out;
    EXPECT_NE(out.find("cli-ok"), std::string::npos) << out;
    inner.remove(id, true);
  }
  // Removing the daemon ended the forwarder and its socket.
  EXPECT_FALSE(std::filesystem::exists(socket.substr(7)));
}

TEST_F(TunnelTest, AttachedFromAnotherHandleItIsStillTheTunnel) {
  auto o = options();
  o.reach = dind::ReachKind::tunnel;
  auto d = dind::Daemon::start(o);
  auto again = dind::Daemon::attach(d.name(), outer());
  EXPECT_EQ(again.reach().kind, dind::ReachKind::tunnel);
  EXPECT_EQ(again.client().ping(), "OK");
  EXPECT_EQ(again.env(), d.env());
  bool listed = false;
  for (const auto& s : dind::Daemon::list(outer()))
    if (s.id == d.id()) listed = s.reach.kind == dind::ReachKind::tunnel && s.reach.address == d.host();
  EXPECT_TRUE(listed);
}

TEST_F(TunnelTest, AContainerWithoutADockerCliSaysWhatTheTunnelNeeds) {
  // busybox has no docker CLI: the exec of dial-stdio fails at once, and says so.
  const std::string id =
      dind::Containers(outer())
          .create({{"Image", "busybox:latest"}, {"Cmd", {"sleep", "60"}}, {"Labels", {{"dind.test", test_session()}}}})
          .value("Id", "");
  dind::Containers(outer()).start(id);
  dind::Client c(dind::tunnel_config(outer(), id, "no-cli"));
  const auto t0 = std::chrono::steady_clock::now();
  auto m = message_of<dind::ConnectionError>([&] { c.ping(); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_NE(m.find(dind::kTunnelNeedsCli), std::string::npos) << m;
  EXPECT_NE(m.find("executable file not found"), std::string::npos) << m;
  EXPECT_NE(m.find("tunnel://no-cli"), std::string::npos) << m;
  dind::Containers(outer()).remove(id, true);
}

// ---- the forwarder on its own ----------------------------------------------------------------------------------

TEST(Forwarder, ServesTheDialersConnectionsBothWaysWithHalfCloses) {
  dind::PrivateDir dir("dind-fwd-test-");
  const auto ep = dind::Endpoint::parse(kSock);
  dind::Forwarder f(
      dir.file("docker.sock"), [ep](dind::Clock::time_point dl) { return dind::Connection::open(ep, nullptr, dl); },
      "the machine's engine");
  EXPECT_EQ(f.url(), "unix://" + dir.file("docker.sock"));
  // Many clients at once, each with keep-alive connections of its own.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      dind::Client c(dind::ClientConfig::from_url(f.url()));
      for (int i = 0; i < 50; ++i)
        if (c.ping() == "OK") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
  // A hijacked stream with stdin, half-closed: the CLI's `docker run -i` through the forwarder.
  auto [code, out] = run("printf 'over the forwarder' | DOCKER_HOST=" + f.url() +
                         " DOCKER_TLS_VERIFY= DOCKER_CONTEXT= docker run --rm -i busybox:latest cat");
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "over the forwarder");
  // stop() ends a stream in progress and removes the socket.
  dind::Client c(dind::ClientConfig::from_url(f.url()));
  auto events = c.stream("GET", "/events");
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    f.stop();
  });
  char buf[256];
  std::string why;
  try {
    while (events.read_some(buf, sizeof buf) > 0) {
    }
  } catch (const dind::Error& e) {
    why = e.what();
  }
  stopper.join();
  EXPECT_FALSE(std::filesystem::exists(dir.file("docker.sock")));
  EXPECT_THROW(dind::Client(dind::ClientConfig::from_url(f.url())).ping(), dind::ConnectionError);
}

TEST(Forwarder, ASocketPathItCannotTakeIsNamed) {
  const std::string path = "/nonexistent-dir-" + std::to_string(::getpid()) + "/docker.sock";
  auto m = message_of<dind::Error>([&] { dind::Forwarder f(path, nullptr, "x"); });
  EXPECT_NE(m.find(path), std::string::npos) << m;
  auto longer = message_of<dind::Error>([] { dind::Forwarder f("/tmp/" + std::string(200, 'a'), nullptr, "x"); });
  EXPECT_NE(longer.find("longer than"), std::string::npos) << longer;
}

}  // namespace
