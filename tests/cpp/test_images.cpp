// dind::Images against the real engine (busybox:latest present, no registry). Everything created carries the label
// dind.session or a name with the session in it, and is removed at teardown.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "dind/archive.hpp"
#include "dind/client.hpp"
#include "dind/errors.hpp"
#include "dind/images.hpp"
#include "dind/tar.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kSession = "test-images-cpp-" + std::to_string(::getpid());
const std::string kRepo = "dind-test-images-cpp-" + std::to_string(::getpid());

// The engine runs one image prune at a time and answers 409 to another meanwhile: ctest -j2 runs two of these tests
// at once, so wait for the other one's prune to end.
nlohmann::json prune_images(dind::Images& images, const nlohmann::json& filters) {
  for (int attempt = 1;; ++attempt) {
    try {
      return images.prune(filters);
    } catch (const dind::Conflict& e) {
      if (attempt == 100 || std::string(e.what()).find("already running") == std::string::npos) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

class ImagesTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Names tagged by the tests, then anything labelled with the session (dangling intermediates of builds).
    for (const auto& img : images.list(false, {{"reference", kRepo}}))
      for (const auto& t : img.value("RepoTags", nlohmann::json::array())) images.remove(t.get<std::string>(), true);
    prune_images(images, {{"label", "dind.session=" + kSession}, {"dangling", false}});
    prune_images(images, {{"label", "dind.session=" + kSession}});
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
  fs::path make_dir() {
    dir =
        fs::temp_directory_path() / (kSession + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir);
    return dir;
  }

  dind::Client client = dind::Client::from_env();
  dind::Images images{client};
  fs::path dir;
};

TEST_F(ImagesTest, ListInspectHistory) {
  auto all = images.list();
  ASSERT_TRUE(all.is_array());
  bool found = false;
  for (const auto& i : all)
    for (const auto& t : i.value("RepoTags", nlohmann::json::array())) found |= t == "busybox:latest";
  EXPECT_TRUE(found);
  EXPECT_EQ(images.list(false, {{"reference", "busybox:latest"}}).size(), 1u);
  auto info = images.inspect("busybox:latest");
  EXPECT_EQ(info.at("Id").get<std::string>().rfind("sha256:", 0), 0u);
  auto h = images.history("busybox:latest");
  ASSERT_TRUE(h.is_array());
  EXPECT_GE(h.size(), 1u);
  try {
    images.inspect("dind-no-such-image:" + kSession);
    FAIL() << "expected NotFound";
  } catch (const dind::NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("dind-no-such-image:" + kSession), std::string::npos) << e.what();
  }
}

TEST_F(ImagesTest, TagAndRemove) {
  EXPECT_TRUE(images.tag("busybox:latest", kRepo, "copy"));
  EXPECT_EQ(images.inspect(kRepo + ":copy").at("Id"), images.inspect("busybox:latest").at("Id"));
  auto removed = images.remove(kRepo + ":copy");
  ASSERT_TRUE(removed.is_array());
  EXPECT_EQ(removed.at(0).at("Untagged"), kRepo + ":copy");
  EXPECT_THROW(images.inspect(kRepo + ":copy"), dind::NotFound);
  EXPECT_THROW(images.remove(kRepo + ":copy"), dind::NotFound);
}

TEST_F(ImagesTest, SaveThenLoadRoundTripStreamed) {
  images.tag("busybox:latest", kRepo, "saved");
  const fs::path tar = make_dir() / "saved.tar";
  {
    auto body = images.save({kRepo + ":saved"});
    std::ofstream out(tar, std::ios::binary);
    std::vector<char> buf(std::size_t{64} << 10);
    while (std::size_t n = body.read_some(buf.data(), buf.size()))
      out.write(buf.data(), static_cast<std::streamsize>(n));
  }
  images.remove(kRepo + ":saved");
  auto messages = images.load(tar).read_all();
  EXPECT_EQ(dind::Images::loaded_images(messages), std::vector<std::string>{kRepo + ":saved"});
  EXPECT_NO_THROW(images.inspect(kRepo + ":saved"));

  // Straight from one engine stream into the other, with no file in between.
  images.remove(kRepo + ":saved");
  images.tag("busybox:latest", kRepo, "piped");
  auto save = std::make_shared<dind::BodyReader>(images.save({kRepo + ":piped"}));
  images.remove(kRepo + ":piped");
  auto loaded = images.load([save](char* buf, std::size_t cap) { return save->read_some(buf, cap); }).read_all();
  EXPECT_EQ(dind::Images::loaded_images(loaded), std::vector<std::string>{kRepo + ":piped"});
}

TEST_F(ImagesTest, LoadOfGarbageIsAnError) {
  EXPECT_THROW(images.load(dind::body_from_memory(std::string(4096, 'x'))).read_all(), dind::Error);
}

TEST_F(ImagesTest, ImportWithChangesAndPruneByLabel) {
  dind::TarWriter tar;
  tar.add_bytes("hello.txt", "imported\n");
  auto messages = images
                      .import_image(dind::body_from_tar(std::move(tar)), "", "",
                                    {"LABEL dind.session=" + kSession, "CMD [\"/hello.txt\"]"})
                      .read_all();
  ASSERT_FALSE(messages.empty());
  const std::string id = messages.back().at("status").get<std::string>();
  auto info = images.inspect(id);
  EXPECT_EQ(info["Config"]["Labels"]["dind.session"], kSession);
  auto pruned = prune_images(images, {{"label", "dind.session=" + kSession}});
  bool deleted = false;
  for (const auto& d : pruned.value("ImagesDeleted", nlohmann::json::array())) deleted |= d.value("Deleted", "") == id;
  EXPECT_TRUE(deleted) << pruned.dump();
  EXPECT_THROW(images.inspect(id), dind::NotFound);
}

TEST_F(ImagesTest, BuildFromADirectoryHonoursDockerignore) {
  const fs::path ctx = make_dir() / "ctx";
  fs::create_directories(ctx / "sub");
  std::ofstream(ctx / "Dockerfile") << "FROM busybox:latest\n"
                                       "COPY . /ctx\n"
                                       "RUN test -e /ctx/keep.txt && test ! -e /ctx/secret.txt && test ! -e "
                                       "/ctx/sub/skip.log && echo context-ok\n"
                                       "LABEL dind.session="
                                    << kSession << "\n";
  std::ofstream(ctx / ".dockerignore") << "secret.txt\n**/*.log\n";
  std::ofstream(ctx / "keep.txt") << "keep";
  std::ofstream(ctx / "secret.txt") << "secret";
  std::ofstream(ctx / "sub" / "skip.log") << "log";
  dind::BuildOptions o;
  o.tag = kRepo + ":built";
  o.labels = {{"dind.session", kSession}};
  o.buildargs = {{"UNUSED", "1"}};
  o.forcerm = true;
  auto stream = images.build(ctx, o);
  std::string id, log;
  for (nlohmann::json m; stream.next(m);) {
    if (auto s = m.find("stream"); s != m.end() && s->is_string()) log += s->get<std::string>();
    if (auto got = dind::Images::built_image_id(m); !got.empty()) id = got;
  }
  EXPECT_NE(log.find("context-ok"), std::string::npos) << log;
  ASSERT_FALSE(id.empty()) << log;
  auto info = images.inspect(kRepo + ":built");
  EXPECT_NE(info["Id"].get<std::string>().find(id.substr(id.rfind(':') + 1)), std::string::npos) << id;
  EXPECT_EQ(info["Config"]["Labels"]["dind.session"], kSession);
}

TEST_F(ImagesTest, FailingBuildCarriesTheBuildError) {
  dind::TarWriter tar;
  tar.add_bytes("Dockerfile",
                "FROM busybox:latest\nLABEL dind.session=" + kSession + "\nRUN echo about-to-fail && false\n");
  dind::BuildOptions o;
  o.tag = kRepo + ":failed";
  o.forcerm = true;
  auto stream = images.build(dind::body_from_tar(std::move(tar)), o);
  try {
    stream.read_all();
    FAIL() << "expected StreamError";
  } catch (const dind::StreamError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("returned a non-zero code: 1"), std::string::npos) << what;
    EXPECT_NE(what.find("build of " + kRepo + ":failed"), std::string::npos) << what;
  }
  // The same failure kept as a log line when asked.
  dind::TarWriter again;
  again.add_bytes("Dockerfile", "FROM busybox:latest\nLABEL dind.session=" + kSession + "\nRUN false\n");
  auto s2 = images.build(dind::body_from_tar(std::move(again)), o);
  s2.raise_on_error(false);
  std::string error;
  for (nlohmann::json m; s2.next(m);) {
    if (auto msg = dind::json_stream_error(m); !msg.empty()) error = msg;
  }
  EXPECT_NE(error.find("non-zero code"), std::string::npos);
}

TEST_F(ImagesTest, PullWithoutARegistryNamesTheImage) {
  const std::string name = "127.0.0.1:9/dind-missing-" + kSession;
  try {
    images.pull(name, "v1", nlohmann::json{{"username", "u"}, {"password", "hunter2-secret"}}).read_all();
    FAIL() << "expected an error";
  } catch (const dind::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(name + ":v1"), std::string::npos) << what;
    EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
  }
}

TEST_F(ImagesTest, CommitMakesAnImage) {
  auto r = client.request(
      "POST", "/containers/create", {{"name", kSession + "-commit"}},
      dind::Body::json({{"Image", "busybox:latest"}, {"Cmd", {"true"}}, {"Labels", {{"dind.session", kSession}}}}));
  const std::string cid = nlohmann::json::parse(r.body).at("Id").get<std::string>();
  dind::CommitOptions o;
  o.repository = kRepo;
  o.tag = "committed";
  o.changes = {"ENV COMMITTED=1"};
  o.config = {{"Labels", {{"dind.session", kSession}}}};
  std::string id;
  EXPECT_NO_THROW(id = images.commit(cid, o));
  client.request("DELETE", "/containers/" + cid, {{"force", "1"}, {"v", "1"}});
  auto info = images.inspect(kRepo + ":committed");
  EXPECT_EQ(info["Id"], id);
  EXPECT_EQ(info["Config"]["Labels"]["dind.session"], kSession);
}

TEST(ImagesHelpers, ParseRepositoryTagAndFilters) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(dind::parse_repository_tag("busybox"), (P{"busybox", ""}));
  EXPECT_EQ(dind::parse_repository_tag("busybox:1.36"), (P{"busybox", "1.36"}));
  EXPECT_EQ(dind::parse_repository_tag("localhost:5000/x"), (P{"localhost:5000/x", ""}));
  EXPECT_EQ(dind::parse_repository_tag("localhost:5000/x:t"), (P{"localhost:5000/x", "t"}));
  EXPECT_EQ(dind::parse_repository_tag("x@sha256:abc"), (P{"x", "sha256:abc"}));
  EXPECT_EQ(dind::encode_filters({{"dangling", true}, {"label", "a=b"}, {"reference", {"x", "y"}}}),
            R"({"dangling":["true"],"label":["a=b"],"reference":["x","y"]})");
  EXPECT_EQ(dind::encode_filters(nullptr), "");
}

}  // namespace
