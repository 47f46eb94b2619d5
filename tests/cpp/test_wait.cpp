// dind::wait_for against the real engine (busybox:latest, on the engine's own host): a late log line, a late port,
// a published port nobody listens on yet (not open, though docker-proxy accepts), a container that exits first
// (fails at once, with its exit code and log tail), a timeout's message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dind/containers.hpp"
#include "dind/wait.hpp"

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

class WaitTest : public ::testing::Test {
 protected:
  WaitTest() : client_(dind::Client::from_env()), c_(client_) {}

  void TearDown() override {
    for (const auto& id : started_) {
      try {
        c_.remove(id, /*force=*/true, /*v=*/true);
      } catch (const dind::NotFound&) {
      }
    }
  }

  // A started busybox container labelled for this run; removed by the teardown.
  std::string run(const std::vector<std::string>& cmd, json extra = json::object()) {
    json cfg = {{"Image", "busybox:latest"}, {"Cmd", cmd}, {"Labels", {{"dind.session", session_}}}};
    cfg.update(extra);
    const std::string id = c_.create(cfg, "").at("Id").get<std::string>();
    started_.push_back(id);
    c_.start(id);
    return id;
  }

  dind::Client client_;
  dind::Containers c_;
  std::vector<std::string> started_;
  std::string session_ = "gtest-wait-" + std::to_string(::getpid());
};

TEST_F(WaitTest, ALateLogLineAndALatePort) {
  const json ports = {
      {"ExposedPorts", {{"8080/tcp", json::object()}}},
      {"HostConfig", {{"PortBindings", {{"8080/tcp", {{{"HostIp", "127.0.0.1"}, {"HostPort", ""}}}}}}}}};
  const auto id = run({"sh", "-c", "sleep 1; echo listening now; exec nc -l -p 8080 -e cat"}, ports);
  dind::WaitOptions w;
  w.log = "listening n[o]w";
  w.port = 8080;
  w.timeout = 30s;
  dind::wait_for(client_, id, w);
}

TEST_F(WaitTest, APublishedPortNobodyListensOnIsNotOpen) {
  // The engine's docker-proxy accepts on 127.0.0.1:HOSTPORT at once; only a listener in the container makes it open.
  const json ports = {
      {"ExposedPorts", {{"8080/tcp", json::object()}}},
      {"HostConfig", {{"PortBindings", {{"8080/tcp", {{{"HostIp", "127.0.0.1"}, {"HostPort", ""}}}}}}}}};
  const auto id = run({"sleep", "60"}, ports);
  dind::WaitOptions w;
  w.port = 8080;
  w.timeout = 1500ms;
  EXPECT_THROW(dind::wait_for(client_, id, w), dind::TimeoutError);
}

TEST_F(WaitTest, AContainerThatExitsFirstFailsAtOnce) {
  const auto id = run({"sh", "-c", "echo famous last words; exit 7"});
  dind::WaitOptions w;
  w.log = "never printed";
  w.timeout = 60s;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    dind::wait_for(client_, id, w);
    FAIL() << "the wait succeeded";
  } catch (const dind::ContainerExitedError& e) {
    EXPECT_LT(std::chrono::steady_clock::now() - t0, w.timeout / 4);
    EXPECT_EQ(e.exit_code(), 7);
    EXPECT_NE(e.log_tail().find("famous last words"), std::string::npos) << e.what();
  }
}

TEST_F(WaitTest, ATimeoutSaysWhatWasAwaited) {
  const auto id = run({"sleep", "60"});
  dind::WaitOptions w;
  w.log = "never printed";
  w.timeout = 1000ms;
  try {
    dind::wait_for(client_, id, w);
    FAIL() << "the wait succeeded";
  } catch (const dind::TimeoutError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("log /never printed/"), std::string::npos) << m;
    EXPECT_NE(m.find(id.substr(0, 12)), std::string::npos) << m;
    EXPECT_NE(m.find(client_.host()), std::string::npos) << m;
  }
}

}  // namespace
