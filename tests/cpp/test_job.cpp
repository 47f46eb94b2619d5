// dind::Job against the real engine: a job container beside a dind sidecar it starts, the host-socket wiring, and
// the inputs it refuses. Images: dind-offline:latest (also the job image: it has a docker CLI) and busybox:latest.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "dind/containers.hpp"
#include "dind/job.hpp"
#include "dind/networks.hpp"

namespace {

const char* kImage = "dind-offline:latest";

dind::Client outer() {
  return dind::Client(dind::ClientConfig::from_url("unix:///var/run/docker.sock"));
}

std::string test_session() {
  static const std::string s = "test-job-" + std::to_string(::getpid());
  return s;
}

dind::JobOptions options() {
  dind::JobOptions o;
  o.image = kImage;
  o.outer = outer();
  o.labels["dind.test"] = test_session();
  o.daemon_options.image = kImage;
  o.on_warning = [](const std::string&) {};
  return o;
}

// options() as `change` leaves them.
template <class Change>
dind::JobOptions with(Change change) {
  auto o = options();
  change(o);
  return o;
}

// Containers (any state) and networks this binary made that are still on the engine.
std::size_t leftovers() {
  const nlohmann::json f = {{"label", {"dind.test=" + test_session()}}};
  return dind::Containers(outer()).list(true, f).size() + dind::Networks(outer()).list(f).size();
}

struct Captured {
  std::string out, err;
  dind::Job::OutputCallback callback() {
    return [this](dind::StdStream s, std::string_view d) { (s == dind::StdStream::err ? err : out).append(d); };
  }
};

class JobTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(leftovers(), 0u) << "a job left a container or network behind"; }
};

TEST_F(JobTest, SidecarRunsDockerVersionAndPropagatesTheExitCode) {
  Captured c;
  dind::Job job(with([](auto& o) {
    o.command = {"sh", "-c", "docker version --format 'server {{.Server.Version}}' && echo to-stderr >&2 && exit 3"};
  }));
  EXPECT_EQ(job.run(c.callback()), 3);
  EXPECT_NE(c.out.find("server "), std::string::npos) << c.out << c.err;
  EXPECT_NE(c.err.find("to-stderr"), std::string::npos) << c.err;
}

TEST_F(JobTest, SocketModeIsRefusedWithoutTheOptIn) {
  try {
    dind::Job job(with([](auto& o) {
      o.mode = dind::JobMode::socket;
      o.command = {"docker", "ps"};
    }));
    FAIL() << "socket mode was accepted without allow_host_socket";
  } catch (const dind::Error& e) {
    EXPECT_NE(std::string(e.what()).find("allow_host_socket"), std::string::npos) << e.what();
  }
}

TEST_F(JobTest, SocketModeSeesTheOuterEngineAndWarns) {
  const std::string name = "dind-job-sock-" + std::to_string(::getpid());
  std::string warned;
  Captured c;
  dind::Job job(with([&](auto& o) {
    o.mode = dind::JobMode::socket;
    o.allow_host_socket = true;
    o.name = name;
    o.on_warning = [&](const std::string& w) { warned = w; };
    o.command = {"sh", "-c", "docker ps --format '{{.Names}}'; printf last-bytes; exit 7"};
  }));
  EXPECT_EQ(job.run(c.callback()), 7);
  EXPECT_NE(c.out.find(name), std::string::npos) << c.out << c.err;
  // Written right before the exit, without a newline: still delivered.
  EXPECT_EQ(c.out.substr(c.out.size() - std::min<std::size_t>(c.out.size(), 10)), "last-bytes") << c.out;
  EXPECT_NE(warned.find("controls the host's daemon"), std::string::npos) << warned;
}

TEST_F(JobTest, AJobImageWithoutADockerCliIsNamedInTheError) {
  dind::Job job(with([](auto& o) {
    o.image = "busybox:latest";
    o.mode = dind::JobMode::socket;
    o.allow_host_socket = true;
    o.command = {"true"};
  }));
  try {
    job.run();
    FAIL() << "a job image without docker ran";
  } catch (const dind::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("busybox:latest has no docker CLI"), std::string::npos) << m;
  }
}

TEST_F(JobTest, AMissingWorkspaceIsNamed) {
  const std::string path = "/tmp/dind-job-no-such-dir-" + std::to_string(::getpid());
  try {
    dind::Job job(with([&](auto& o) { o.workspace = path; }));
    FAIL() << "a missing workspace was accepted";
  } catch (const dind::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
}

}  // namespace
