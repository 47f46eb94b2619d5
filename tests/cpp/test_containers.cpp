// dind::Containers against the real engine (busybox:latest). Every container carries the label dind.session and is
// removed (force, with volumes) by the fixture's teardown, even when a test fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dind/client.hpp"
#include "dind/containers.hpp"
#include "dind/errors.hpp"

using nlohmann::json;

namespace {

class ContainersTest : public ::testing::Test {
 protected:
  ContainersTest() : client_(dind::Client::from_env()), c_(client_) {}

  void TearDown() override {
    for (const auto& id : created_) {
      try {
        c_.remove(id, /*force=*/true, /*v=*/true);
      } catch (const dind::NotFound&) {
      }
    }
  }

  // A busybox container labelled for this test run; registered for removal.
  std::string make(const std::vector<std::string>& cmd, const std::string& name = {}, json extra = json::object()) {
    json cfg = {{"Image", "busybox:latest"}, {"Cmd", cmd}, {"Labels", {{"dind.session", session_}}}};
    cfg.update(extra);
    const json r = c_.create(cfg, name);
    const std::string id = r.at("Id").get<std::string>();
    created_.push_back(id);
    return id;
  }

  std::string unique(const std::string& stem) const { return stem + "-" + std::to_string(::getpid()) + "-" + tag_; }

  dind::Client client_;
  dind::Containers c_;
  std::vector<std::string> created_;
  std::string tag_ = std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
  std::string session_ = "gtest-containers-" + std::to_string(::getpid());
};

TEST_F(ContainersTest, CreateStartWaitLogsRemove) {
  const std::string id = make({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(c_.inspect(id).at("State").at("Status"), "created");
  EXPECT_TRUE(c_.start(id));
  const json w = c_.wait(id);
  EXPECT_EQ(w.at("StatusCode"), 3);
  EXPECT_TRUE(w.contains("Error"));

  const auto split = c_.logs_all(id);
  EXPECT_EQ(split.out, "out\n");
  EXPECT_EQ(split.err, "err\n");

  dind::LogsOptions only_err;
  only_err.stdout_stream = false;
  EXPECT_EQ(c_.logs_all(id, only_err).out, "");
  EXPECT_EQ(c_.logs_all(id, only_err).err, "err\n");

  const auto both = c_.logs_all(id, {}, /*demux=*/false);
  EXPECT_EQ(both.out.size(), 8u);  // "out\nerr\n" in the order the engine stored them
  EXPECT_EQ(both.err, "");

  c_.remove(id);
  EXPECT_THROW(c_.inspect(id), dind::NotFound);
}

TEST_F(ContainersTest, TtyLogsAreRaw) {
  const std::string id = make({"sh", "-c", "printf 'a\\nb'"}, {}, {{"Tty", true}});
  c_.start(id);
  EXPECT_EQ(c_.wait(id).at("StatusCode"), 0);
  const auto out = c_.logs_all(id);  // Tty found by inspect
  EXPECT_NE(out.out.find('a'), std::string::npos);
  EXPECT_NE(out.out.find('b'), std::string::npos);
  EXPECT_EQ(out.err, "");
}

TEST_F(ContainersTest, BeginWaitBeforeStartSeesAQuickExit) {
  const std::string id = make({"sh", "-c", "exit 7"});
  auto pending = c_.begin_wait(id, "next-exit");
  c_.start(id);
  EXPECT_EQ(pending.result().at("StatusCode"), 7);
}

TEST_F(ContainersTest, WaitHasNoTotalTimeout) {
  auto cfg = dind::ClientConfig::from_env();
  cfg.timeout = std::chrono::milliseconds(1500);  // the version ping must fit, even under load
  dind::Containers short_client{dind::Client(cfg)};
  const std::string id = make({"sleep", "5"});
  c_.start(id);
  EXPECT_TRUE(short_client.stats(id).contains("precpu_stats"));  // two samples, ~1-2 s
  EXPECT_EQ(short_client.wait(id).at("StatusCode"), 0);
}

TEST_F(ContainersTest, InspectMissingIsNotFound) {
  try {
    c_.inspect("dind-no-such-container-" + tag_);
    FAIL() << "expected NotFound";
  } catch (const dind::NotFound& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_EQ(e.method(), "GET");
    EXPECT_NE(e.path().find("/containers/dind-no-such-container-"), std::string::npos);
    EXPECT_EQ(e.host(), client_.host());
    EXPECT_NE(std::string(e.what()).find(client_.host()), std::string::npos);
  }
}

TEST_F(ContainersTest, StopMissingNamesTheStopCall) {
  try {
    c_.stop("dind-no-such-container-" + tag_);
    FAIL() << "expected NotFound";
  } catch (const dind::NotFound& e) {
    EXPECT_EQ(e.method(), "POST");
    EXPECT_NE(e.path().find("/stop"), std::string::npos);
  }
}

TEST_F(ContainersTest, FollowedLogsEndWhenTheContainerStops) {
  const std::string id = make({"sh", "-c", "echo one; sleep 1; echo two"});
  c_.start(id);
  dind::LogsOptions follow;
  follow.follow = true;
  follow.tty = false;
  EXPECT_EQ(c_.logs_all(id, follow).out, "one\ntwo\n");
}

TEST_F(ContainersTest, NameConflict) {
  const std::string name = unique("dind-conflict");
  make({"true"}, name);
  EXPECT_THROW(make({"true"}, name), dind::Conflict);
}

TEST_F(ContainersTest, StartAndStopTwiceAre304Successes) {
  const std::string id = make({"sleep", "60"});
  EXPECT_TRUE(c_.start(id));
  EXPECT_FALSE(c_.start(id));  // already running: 304
  EXPECT_TRUE(c_.stop(id, 0));
  EXPECT_FALSE(c_.stop(id, 0));  // already stopped: 304
  EXPECT_EQ(c_.inspect(id).at("State").at("Status"), "exited");
}

TEST_F(ContainersTest, StopOutlastsTheClientTimeout) {
  // PID 1 ignores SIGTERM, so the engine waits the full t before SIGKILL; the client timeout is shorter than t.
  auto cfg = dind::ClientConfig::from_env();
  cfg.timeout = std::chrono::milliseconds(1000);
  dind::Containers short_client{dind::Client(cfg)};
  const std::string id = make({"sleep", "60"});
  c_.start(id);
  EXPECT_TRUE(short_client.stop(id, 2));
  EXPECT_FALSE(c_.inspect(id).at("State").at("Running").get<bool>());
}

TEST_F(ContainersTest, ListFiltersAndLifecycle) {
  const std::string name = unique("dind-life");
  const std::string id = make({"sleep", "60"}, name);
  const json mine = {{"label", "dind.session=" + session_}, {"name", name}};
  EXPECT_EQ(c_.list(false, mine).size(), 0u);
  ASSERT_EQ(c_.list(true, mine).size(), 1u);
  c_.start(id);
  ASSERT_EQ(c_.list(false, mine).size(), 1u);
  EXPECT_EQ(c_.list(false, mine)[0].at("Id"), id);

  c_.pause(id);
  EXPECT_EQ(c_.inspect(id).at("State").at("Status"), "paused");
  c_.unpause(id);
  EXPECT_EQ(c_.inspect(id).at("State").at("Status"), "running");

  const json top = c_.top(id);
  EXPECT_TRUE(top.at("Titles").is_array());
  EXPECT_FALSE(top.at("Processes").empty());

  const json stats = c_.stats(id, /*one_shot=*/true);
  EXPECT_TRUE(stats.contains("memory_stats"));

  const std::string renamed = unique("dind-renamed");
  c_.rename(id, renamed);
  EXPECT_EQ(c_.inspect(id).at("Name"), "/" + renamed);

  c_.update(id, {{"RestartPolicy", {{"Name", "on-failure"}, {"MaximumRetryCount", 2}}}});
  EXPECT_EQ(c_.inspect(id).at("HostConfig").at("RestartPolicy").at("Name"), "on-failure");

  c_.restart(id, 0);
  EXPECT_TRUE(c_.inspect(id).at("State").at("Running").get<bool>());
  c_.kill(id, "SIGKILL");
  EXPECT_EQ(c_.wait(id).at("StatusCode"), 137);
}

TEST_F(ContainersTest, PruneRemovesOnlyStoppedLabelled) {
  const std::string stopped = make({"true"});
  const std::string running = make({"sleep", "60"});
  c_.start(stopped);
  c_.wait(stopped);
  c_.start(running);
  const json r = c_.prune({{"label", "dind.session=" + session_}});
  const auto& deleted = r.at("ContainersDeleted");
  ASSERT_TRUE(deleted.is_array());
  EXPECT_NE(std::find(deleted.begin(), deleted.end(), stopped), deleted.end());
  EXPECT_EQ(std::find(deleted.begin(), deleted.end(), running), deleted.end());
  EXPECT_THROW(c_.inspect(stopped), dind::NotFound);
}

TEST_F(ContainersTest, CreateWithMissingImageIsNotFound) {
  json cfg = {{"Image", "dind-no-such-image:" + tag_}, {"Labels", {{"dind.session", session_}}}};
  EXPECT_THROW(c_.create(cfg), dind::NotFound);
}

}  // namespace
