// The dind lifecycle against the real engine and the offline dind image (scripts/images.sh builds it).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "dind/cache.hpp"
#include "dind/containers.hpp"
#include "dind/daemon.hpp"
#include "dind/networks.hpp"
#include "dind/private_dir.hpp"
#include "dind/session.hpp"

namespace {

const char* kImage = "dind-offline:latest";

dind::Client outer() {
  return dind::Client(dind::ClientConfig::from_url("unix:///var/run/docker.sock"));
}

// A session id of its own, so these tests count only what they made.
std::string test_session() {
  static const std::string s = "test-daemon-" + std::to_string(::getpid());
  return s;
}

dind::DaemonOptions options() {
  dind::DaemonOptions o;
  o.image = kImage;
  o.outer = outer();
  o.labels["dind.test"] = test_session();
  return o;
}

// options() as `change` leaves them: with([](auto& o) { o.tls = false; }).
template <class Change>
dind::DaemonOptions with(Change change) {
  auto o = options();
  change(o);
  return o;
}

// Containers and volumes this test binary made that are still on the engine.
std::size_t leftovers() {
  dind::Containers c(outer());
  return c.list(true, {{"label", {"dind.test=" + test_session()}}}).size();
}

std::string inner_echo(dind::Daemon& d, const std::string& text) {
  dind::Containers inner(d.client());
  std::string id = inner.create({{"Image", "busybox:latest"}, {"Cmd", {"echo", text}}})["Id"];
  inner.start(id);
  inner.wait(id);
  std::string out = inner.logs_all(id).out;
  inner.remove(id, true);
  return out;
}

class DaemonTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(leftovers(), 0u) << "a test left a dind container behind"; }
};

TEST_F(DaemonTest, StartsAnswersOverMutualTlsAndLeavesNothing) {
  std::string cert_path, id;
  {
    auto d = dind::Daemon::start(options());
    id = d.id();
    cert_path = d.cert_path();
    EXPECT_EQ(d.client().ping(), "OK");
    EXPECT_EQ(d.host().rfind("tcp://127.0.0.1:", 0), 0u) << d.host();
    auto env = d.env();
    EXPECT_EQ(env["DOCKER_HOST"], d.host());
    EXPECT_EQ(env["DOCKER_TLS_VERIFY"], "1");
    EXPECT_EQ(env["DOCKER_CERT_PATH"], cert_path);
    struct stat st {};
    ASSERT_EQ(::stat(cert_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    ASSERT_EQ(::stat((cert_path + "/key.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // The entrypoint took the verify-only path: it made no CA key of its own.
    auto r = d.exec({"sh", "-c", "test -e /certs/ca/key.pem && echo made || echo verified"});
    EXPECT_EQ(r.out, "verified\n");
    // Everything carries the session labels.
    auto labels = dind::Containers(outer()).inspect(id)["Config"]["Labels"];
    EXPECT_TRUE(labels.contains(dind::kLabelSession));
    EXPECT_EQ(labels[dind::kLabelOwnerPid], std::to_string(::getpid()));
  }
  EXPECT_FALSE(std::filesystem::exists(cert_path));
  EXPECT_THROW(dind::Containers(outer()).inspect(id), dind::NotFound);
}

TEST_F(DaemonTest, LoadsImagesAndRunsContainersInside) {
  auto d = dind::Daemon::start(options());
  auto loaded = d.load_images({"busybox:latest"});
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0], "busybox:latest");
  EXPECT_EQ(inner_echo(d, "hello from inside"), "hello from inside\n");
  EXPECT_NE(d.logs(200).find("API listen on"), std::string::npos);
}

TEST_F(DaemonTest, RemoveIsIdempotentAndGracefulStopWorks) {
  auto d = dind::Daemon::start(options());
  d.remove(std::chrono::seconds(5));
  EXPECT_TRUE(d.removed());
  d.remove();
  EXPECT_THROW(dind::Containers(outer()).inspect(d.id()), dind::NotFound);
}

TEST_F(DaemonTest, WithoutTlsSpeaksPlainTcpWithoutTheDeliberateSleep) {
  auto d = dind::Daemon::start(with([](auto& o) { o.tls = false; }));
  EXPECT_EQ(d.client().ping(), "OK");
  EXPECT_TRUE(d.cert_path().empty());
  EXPECT_EQ(d.env().count("DOCKER_TLS_VERIFY"), 0u);
  // dockerd sleeps 15 s on plain TCP unless --tls=false: readiness would take that long.
  EXPECT_LT(d.timings().ready, std::chrono::seconds(15));
}

TEST_F(DaemonTest, KeptDaemonCanBeAttachedFromElsewhere) {
  std::string name;
  {
    auto d = dind::Daemon::start(options());
    name = d.name();
    d.keep();
  }
  auto again = dind::Daemon::attach(name, outer());
  EXPECT_EQ(again.client().ping(), "OK");
  EXPECT_EQ(again.name(), name);
  again.remove();
  EXPECT_FALSE(std::filesystem::exists(again.cert_path()));
}

TEST_F(DaemonTest, ReuseAttachesToTheDaemonOfTheKeyAndOptionsAndOutlivesTheHandle) {
  dind::PrivateDir state;
  ::setenv("DIND_STATE_DIR", state.path().c_str(), 1);
  const std::string key = "cpp-" + test_session();
  std::string name;
  {
    auto first = dind::Daemon::start(with([&](auto& o) { o.reuse = key; }));
    EXPECT_FALSE(first.reused());
    EXPECT_EQ(first.reuse_note(), "");
    name = first.name();
  }  // the handle goes, the daemon stays for the next run
  auto again = dind::Daemon::start(with([&](auto& o) { o.reuse = key; }));
  EXPECT_TRUE(again.reused());
  EXPECT_EQ(again.name(), name);
  EXPECT_EQ(again.client().ping(), "OK");
  auto other = dind::Daemon::start(with([&](auto& o) {
    o.reuse = key;
    o.dockerd_args = {"--debug"};
  }));
  EXPECT_FALSE(other.reused());
  EXPECT_NE(other.name(), name);
  // Only asked for: reap() of the reused daemons.
  dind::ReapOptions all_reused;
  all_reused.reused = true;
  const auto removed = dind::reap(outer(), all_reused);
  const auto gone = [&](const std::string& id) {
    return std::find(removed.containers.begin(), removed.containers.end(), id) != removed.containers.end();
  };
  EXPECT_TRUE(gone(again.id()) && gone(other.id()));
  EXPECT_FALSE(std::filesystem::exists(again.dir()));
  ::unsetenv("DIND_STATE_DIR");
}

TEST_F(DaemonTest, CacheOutlivesTheDaemonAndHasOneUserAtATime) {
  const std::string cache = "cpp-cache-" + test_session();
  {
    auto d = dind::Daemon::start(with([&](auto& o) { o.cache = cache; }));
    d.load_images({"busybox:latest"});
    try {
      dind::Daemon::start(with([&](auto& o) { o.cache = cache; }));
      ADD_FAILURE() << "a second daemon took a busy cache";
    } catch (const dind::DaemonStartError& e) {
      EXPECT_NE(std::string(e.what()).find("in use by container " + d.name()), std::string::npos) << e.what();
    }
  }
  const auto caches = dind::list_caches(outer());
  const auto it = std::find_if(caches.begin(), caches.end(), [&](const auto& c) { return c.name == cache; });
  ASSERT_NE(it, caches.end()) << "the cache went with its daemon";
  EXPECT_TRUE(it->users.empty());
  {  // busybox, loaded into the first daemon, is in the next one
    auto d = dind::Daemon::start(with([&](auto& o) { o.cache = cache; }));
    EXPECT_EQ(inner_echo(d, "y"), "y\n");
  }
  EXPECT_TRUE(dind::remove_cache(outer(), cache));
  EXPECT_FALSE(dind::remove_cache(outer(), cache));
}

TEST_F(DaemonTest, RemoveFromManyThreadsAtOnce) {
  auto d = dind::Daemon::start(options());
  const std::string dir = d.dir();
  std::atomic<int> ready{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      ++ready;
      while (ready.load() < 4) std::this_thread::yield();
      try {
        d.remove();
      } catch (const dind::Error&) {
        ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_TRUE(d.removed());
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST_F(DaemonTest, FourAtOnceFromThreads) {
  std::vector<std::future<std::string>> starts;
  for (int i = 0; i < 4; ++i) {
    starts.push_back(std::async(std::launch::async, [] {
      auto d = dind::Daemon::start(options());
      return d.client().ping();
    }));
  }
  for (auto& f : starts) EXPECT_EQ(f.get(), "OK");
}

TEST_F(DaemonTest, OnAUserNetworkItAnswersAsItsAlias) {
  dind::Networks nets(outer());
  const std::string net = "dind-test-net-" + std::to_string(::getpid());
  nets.create(net, dind::NetworkCreate{});
  {
    auto d = dind::Daemon::start(with([&](auto& o) {
      o.network = net;
      o.aliases = {"docker"};
    }));
    EXPECT_EQ(d.client().ping(), "OK");
    // On the engine's host the network changes nothing about the reach: the loopback port, which the cert names.
    EXPECT_EQ(d.reach().kind, dind::ReachKind::loopback) << d.reach().reason;
    EXPECT_EQ(d.env()["DOCKER_HOST"].rfind("tcp://127.0.0.1:", 0), 0u);
    auto aliases = dind::Containers(outer()).inspect(d.id())["NetworkSettings"]["Networks"][net]["Aliases"];
    EXPECT_NE(aliases.dump().find("\"docker\""), std::string::npos) << aliases.dump();
  }
  nets.remove(net);
}

// ---- bad input and faults: each a clear error, and nothing left behind -------------------------------------------

TEST_F(DaemonTest, MissingImageThatCannotBePulled) {
  try {
    dind::Daemon::start(with([](auto& o) { o.image = "dind-no-such-image:1"; }));
    FAIL() << "expected an error";
  } catch (const dind::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dind-no-such-image:1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pulling it failed"), std::string::npos) << e.what();
  }
  try {
    dind::Daemon::start(with([](auto& o) {
      o.image = "dind-no-such-image:1";
      o.pull = dind::PullPolicy::never;
    }));
    FAIL() << "expected an error";
  } catch (const dind::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'never'"), std::string::npos) << e.what();
  }
}

TEST_F(DaemonTest, DaemonThatExitsAtStartFailsFastWithItsLog) {
  try {
    dind::Daemon::start(with([](auto& o) { o.dockerd_args = {"--no-such-dockerd-flag"}; }));
    FAIL() << "expected DaemonStartError";
  } catch (const dind::DaemonStartError& e) {
    EXPECT_NE(std::string(e.what()).find("exited"), std::string::npos) << e.what();
    EXPECT_NE(e.log_tail().find("no-such-dockerd-flag"), std::string::npos) << e.log_tail();
  }
}

TEST_F(DaemonTest, TimeoutCarriesTheLogAndRemovesEverything) {
  try {
    dind::Daemon::start(with([](auto& o) { o.start_timeout = std::chrono::milliseconds(1); }));
    FAIL() << "expected DaemonStartError";
  } catch (const dind::DaemonStartError& e) {
    EXPECT_NE(std::string(e.what()).find("did not answer"), std::string::npos) << e.what();
  }
}

TEST_F(DaemonTest, CancelFromAnotherThreadAbandonsTheStartAndRemovesEverything) {
  // A container whose entrypoint never starts dockerd, cancelled while start() polls it.
  const auto never = std::filesystem::temp_directory_path() / ("dind-never-ready-" + test_session() + ".sh");
  std::ofstream(never) << "#!/bin/sh\nexec sleep 600\n";
  std::filesystem::permissions(never, std::filesystem::perms::owner_all | std::filesystem::perms::others_read |
                                          std::filesystem::perms::others_exec);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto o = options();
  o.start_timeout = std::chrono::minutes(10);
  o.cancel = cancel;
  o.mounts.push_back(never.string() + ":/usr/local/bin/dockerd-entrypoint.sh:ro");
  std::atomic<bool> returned{false};
  std::thread canceller([&] {
    dind::Containers c(outer());
    const std::string label = "dind.test=" + test_session();
    while (!returned && c.list(false, {{"label", {label}}}).empty())
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    cancel->store(true);
  });
  try {
    dind::Daemon::start(o);
    ADD_FAILURE() << "expected DaemonStartError";
  } catch (const dind::DaemonStartError& e) {
    EXPECT_NE(std::string(e.what()).find("was cancelled"), std::string::npos) << e.what();
  }
  returned = true;
  canceller.join();
  std::filesystem::remove(never);
}

TEST_F(DaemonTest, PortAlreadyTaken) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const auto port = ntohs(a.sin_port);
  try {
    dind::Daemon::start(with([&](auto& o) { o.host_port = port; }));
    FAIL() << "expected DaemonStartError";
  } catch (const dind::DaemonStartError& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(port)), std::string::npos) << e.what();
  }
  ::close(fd);
}

TEST_F(DaemonTest, ContradictoryOptionsAreRefusedBeforeAnythingIsMade) {
  EXPECT_THROW(dind::Daemon::start(with([](auto& o) {
                 o.tls = false;
                 o.tls_sans = {"DNS:x"};
               })),
               dind::Error);
  EXPECT_THROW(dind::Daemon::start(with([](auto& o) { o.dockerd_args = {"--tls=false"}; })), dind::Error);
  EXPECT_THROW(dind::Daemon::start(with([](auto& o) {
                 o.tls = false;
                 o.dockerd_args = {"--tlsverify"};
               })),
               dind::Error);
  EXPECT_THROW(dind::Daemon::start(with([](auto& o) { o.aliases = {"docker"}; })), dind::Error);
  EXPECT_THROW(dind::Daemon::start(with([](auto& o) { o.privileged = false; })), dind::Error);
  EXPECT_THROW(dind::Daemon::start(with([](auto& o) { o.dockerd_args = {"-H=tcp://0.0.0.0:1"}; })), dind::Error);
}

TEST_F(DaemonTest, OuterEngineAbsent) {
  try {
    dind::Daemon::start(
        with([](auto& o) { o.outer = dind::Client(dind::ClientConfig::from_url("unix:///nonexistent/docker.sock")); }));
    FAIL() << "expected ConnectionError";
  } catch (const dind::ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/docker.sock"), std::string::npos) << e.what();
  }
}

// Where the machine's capability bounding set lacks CAP_SYS_RESOURCE, plain runc cannot run a privileged container:
// the engine refuses it exactly like an engine that forbids privileged containers. Elsewhere runc succeeds.
TEST_F(DaemonTest, PrivilegedRefusedByTheEngineSaysWhatToCheck) {
  std::ifstream status("/proc/self/status");
  std::string line, capbnd;
  while (std::getline(status, line))
    if (line.rfind("CapBnd:", 0) == 0) capbnd = line.substr(7);
  const bool lacks_sys_resource = ((std::stoull(capbnd, nullptr, 16) >> 24) & 1) == 0;
  try {
    auto d = dind::Daemon::start(with([](auto& o) { o.runtime = "runc"; }));
    EXPECT_FALSE(lacks_sys_resource) << "the engine ran a privileged container with plain runc";
  } catch (const dind::DaemonStartError& e) {
    EXPECT_TRUE(lacks_sys_resource) << e.what();
    EXPECT_NE(std::string(e.what()).find("--privileged"), std::string::npos) << e.what();
  }
}

TEST_F(DaemonTest, ReapRemovesWhatADeadOwnerLeft) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  dind::Owner dead{child, "1", ""};  // that pid is gone (or reused: then the start time differs)
  std::string id;
  {
    auto d = dind::Daemon::start(with([&](auto& o) { o.owner = dead; }));
    id = d.id();
    d.keep();  // as if its process had been killed: nothing tears it down
  }
  auto live = dind::Daemon::start(options());
  auto result = dind::reap(outer());
  EXPECT_NE(std::find(result.containers.begin(), result.containers.end(), id), result.containers.end());
  EXPECT_THROW(dind::Containers(outer()).inspect(id), dind::NotFound);
  EXPECT_EQ(live.client().ping(), "OK") << "reap() must leave a live owner's daemon alone";
}

}  // namespace
