// dind::Archive against the real engine: put/get round trip of a tree with a long path and a 20 MB file, stat,
// missing paths, export. Every container carries dind.session and is removed at teardown.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "dind/archive.hpp"
#include "dind/client.hpp"
#include "dind/errors.hpp"
#include "dind/tar.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kSession = "test-archive-cpp-" + std::to_string(::getpid());

// A PullFn over a streamed response body.
dind::PullFn pull_from(dind::BodyReader& r) {
  auto buf = std::make_shared<std::vector<char>>(std::size_t{256} << 10);
  return [&r, buf]() -> std::string_view {
    std::size_t n = r.read_some(buf->data(), buf->size());
    return {buf->data(), n};
  };
}

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::mt19937 g(seed);
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = client.request(
        "POST", "/containers/create", {{"name", kSession + "-" + std::to_string(++counter_)}},
        dind::Body::json(
            {{"Image", "busybox:latest"}, {"Cmd", {"sleep", "600"}}, {"Labels", {{"dind.session", kSession}}}}));
    id = nlohmann::json::parse(r.body).at("Id").get<std::string>();
    client.request("POST", "/containers/" + id + "/start");
    dir = fs::temp_directory_path() / (kSession + "-" + std::to_string(counter_));
    fs::create_directories(dir);
  }
  void TearDown() override {
    if (!id.empty()) client.request("DELETE", "/containers/" + id, {{"force", "1"}, {"v", "1"}});
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  dind::Client client = dind::Client::from_env();
  dind::Archive archive{client};
  std::string id;
  fs::path dir;
  static inline int counter_ = 0;
};

TEST_F(ArchiveTest, PutThenGetRoundTripsLongPathsAndBigFiles) {
  const std::string long_dir = "tree/" + std::string(60, 'a') + "/" + std::string(60, 'b') + "/" + std::string(40, 'c');
  fs::create_directories(dir / long_dir);
  const std::string small = "hello from a long path\n";
  std::ofstream(dir / long_dir / "small.txt") << small;
  const std::string big = pattern(std::size_t{20} << 20, 7);
  std::ofstream(dir / "tree" / "big.bin", std::ios::binary).write(big.data(), static_cast<std::streamsize>(big.size()));

  dind::TarWriter tar;
  tar.add_path(dir / "tree", "tree");
  EXPECT_TRUE(archive.put(id, "/tmp", dind::body_from_tar(std::move(tar))));

  auto stat = archive.stat(id, "/tmp/tree/big.bin");
  EXPECT_EQ(stat.name, "big.bin");
  EXPECT_EQ(stat.size, static_cast<std::int64_t>(big.size()));
  EXPECT_FALSE(stat.is_dir());

  auto dl = archive.get(id, "/tmp/tree");
  EXPECT_EQ(dl.stat.name, "tree");
  EXPECT_TRUE(dl.stat.is_dir());
  dind::TarReader reader(pull_from(dl.body), "get_archive of /tmp/tree");
  dind::TarEntry e;
  bool saw_big = false, saw_small = false;
  while (reader.next(e)) {
    if (e.name == "tree/big.bin") {
      saw_big = true;
      std::string got = reader.read_all(std::size_t{64} << 20);
      EXPECT_EQ(got.size(), big.size());
      EXPECT_TRUE(got == big);
    } else if (e.name == long_dir + "/small.txt") {
      saw_small = true;
      EXPECT_EQ(reader.read_all(), small);
    }
  }
  EXPECT_TRUE(saw_big);
  EXPECT_TRUE(saw_small);
}

TEST_F(ArchiveTest, PutFromAFileDescriptorAndAFile) {
  dind::TarWriter tar;
  tar.add_bytes("from-fd.txt", "fd content");
  const fs::path tar_file = dir / "in.tar";
  {
    std::ofstream out(tar_file, std::ios::binary);
    tar.write_to([&](std::string_view c) { out.write(c.data(), static_cast<std::streamsize>(c.size())); });
  }
  EXPECT_TRUE(archive.put(id, "/tmp", dind::body_from_file(tar_file)));
  auto dl = archive.get(id, "/tmp/from-fd.txt");
  EXPECT_EQ(dind::tar_read_file(pull_from(dl.body), "from-fd.txt").value_or("<absent>"), "fd content");

  int fd = ::open(tar_file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(archive.put(id, "/root", dind::body_from_fd(fd, 0)));
  ::close(fd);
  EXPECT_EQ(archive.stat(id, "/root/from-fd.txt").size, 10);
}

TEST_F(ArchiveTest, MissingPathsAreNotFoundAndNamed) {
  try {
    archive.get(id, "/no/such/path");
    FAIL() << "expected NotFound";
  } catch (const dind::NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/path"), std::string::npos) << e.what();
    EXPECT_EQ(e.status(), 404);
  }
  EXPECT_THROW(archive.stat(id, "/no/such/path"), dind::NotFound);
  try {
    archive.put(id, "/no/such/dir", dind::body_from_memory(dind::TarWriter().add_bytes("x", "y").to_string()));
    FAIL() << "expected NotFound";
  } catch (const dind::NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/dir"), std::string::npos) << e.what();
  }
  EXPECT_THROW(archive.get("dind-no-such-container-" + kSession, "/"), dind::NotFound);
  // The pool is still usable after the failed upload.
  EXPECT_EQ(archive.stat(id, "/bin/busybox").name, "busybox");
}

TEST_F(ArchiveTest, ExportStreamsTheFileSystem) {
  auto body = archive.export_container(id);
  bool saw_busybox = false;
  dind::TarReader reader(pull_from(body), "export");
  dind::TarEntry e;
  while (reader.next(e)) {
    if (e.name == "bin/busybox") saw_busybox = true;
  }
  EXPECT_TRUE(saw_busybox);
}

}  // namespace
