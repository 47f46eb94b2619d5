// Tar via libarchive: streaming writer and reader, safe extraction, .dockerignore, the path-stat header.
// Archives are also checked with the real tar CLI, an independent implementation.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>

#include "dind/base64.hpp"
#include "dind/build_context.hpp"
#include "dind/dockerignore.hpp"
#include "dind/extract.hpp"
#include "dind/path_stat.hpp"
#include "dind/tar.hpp"

namespace fs = std::filesystem;

namespace {

// A fresh directory removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dind-tar-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_file(const fs::path& p, const std::string& data, fs::perms mode = fs::perms(0644)) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
  fs::permissions(p, mode);
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Runs a shell command, returning its stdout and exit status.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return {-1, ""};
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  const int status = ::pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

const std::string kLongDir = "deeply/nested/directory/with/a/rather/long/name/that/goes/on/and/on/";
const std::string kLongPath =
    kLongDir + "and-finally-a-file-whose-name-alone-is-quite-long-too-so-ustar-cannot-split-it.txt";

// The tree of the round-trip tests.
void make_tree(const fs::path& src, const std::string& big) {
  ASSERT_GT(kLongPath.size(), 100u);
  write_file(src / kLongPath, "long path content\n");
  write_file(src / "target.txt", "target\n");
  fs::create_symlink("target.txt", src / "link");
  fs::create_directories(src / "empty");
  write_file(src / "zero", "");
  write_file(src / "big.bin", big);
  write_file(src / "bin/run.sh", "#!/bin/sh\necho hi\n", fs::perms(0750));
}

std::map<std::string, dind::TarEntry> by_name(const std::vector<dind::TarEntry>& v) {
  std::map<std::string, dind::TarEntry> m;
  for (const auto& e : v) {
    std::string n = e.name;
    while (!n.empty() && n.back() == '/') n.pop_back();
    m[n] = e;
  }
  return m;
}

// A minimal ustar header and data, written by hand so the reader also meets archives libdind did not make,
// including the hostile names the writer refuses to produce.
std::string ustar_entry(const std::string& name, const std::string& data, char type = '0',
                        const std::string& link = "") {
  std::string h(512, '\0');
  name.copy(&h[0], std::min<std::size_t>(name.size(), 100));
  std::snprintf(&h[100], 8, "%07o", 0644);
  std::snprintf(&h[108], 8, "%07o", 0);
  std::snprintf(&h[116], 8, "%07o", 0);
  std::snprintf(&h[124], 12, "%011o", static_cast<unsigned>(data.size()));
  std::snprintf(&h[136], 12, "%011o", 1700000000u);
  h[156] = type;
  link.copy(&h[157], std::min<std::size_t>(link.size(), 100));
  std::memcpy(&h[257],
              "ustar\0"
              "00",
              8);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  std::string padded = data;
  padded.resize((data.size() + 511) / 512 * 512, '\0');
  return h + padded;
}
std::string ustar_end() {
  return std::string(1024, '\0');
}

}  // namespace

TEST(tarCodec, RoundTripThroughTheWriterTheReaderAndTheTarCli) {
  TempDir tmp;
  const fs::path src = tmp.path / "src";
  const std::string big = random_bytes(5 << 20, 11);
  make_tree(src, big);

  // Stream the archive to a file chunk by chunk, as an HTTP body writer would.
  dind::TarWriter w;
  w.add_path(src, "root").add_bytes("generated/hello.txt", "hello from memory\n", 0600, 1700000000);
  const fs::path archive = tmp.path / "out.tar";
  std::size_t chunks = 0, largest = 0;
  {
    std::ofstream out(archive, std::ios::binary);
    for (auto c = w.next_chunk(); !c.empty(); c = w.next_chunk()) {
      out.write(c.data(), static_cast<std::streamsize>(c.size()));
      ++chunks;
      largest = std::max(largest, c.size());
    }
  }
  EXPECT_TRUE(w.next_chunk().empty());
  EXPECT_EQ(w.bytes_written(), fs::file_size(archive));
  EXPECT_GT(chunks, 40u);                      // 5 MB did not come out in one piece...
  EXPECT_LE(largest, std::size_t{256} << 10);  // ...and no piece held more than a few steps

  // The real tar CLI reads it: long path, symlink, empty dir, modes.
  auto [status, listing] = run("tar -tvf " + archive.string());
  ASSERT_EQ(status, 0) << listing;
  EXPECT_NE(listing.find("root/" + kLongPath), std::string::npos) << listing;
  EXPECT_NE(listing.find("root/link -> target.txt"), std::string::npos) << listing;
  EXPECT_NE(listing.find("root/empty/"), std::string::npos) << listing;
  EXPECT_NE(listing.find("-rwxr-x---"), std::string::npos) << listing;
  EXPECT_NE(listing.find("-rw------- 0/0              18 2023-11-14"), std::string::npos) << listing;
  const fs::path cli_out = tmp.path / "cli";
  fs::create_directories(cli_out);
  ASSERT_EQ(run("tar -xf " + archive.string() + " -C " + cli_out.string()).first, 0);
  EXPECT_EQ(read_file(cli_out / "root/big.bin"), big);
  EXPECT_EQ(read_file(cli_out / "root" / kLongPath), "long path content\n");

  // Our reader, fed in odd-sized pieces.
  const std::string bytes = read_file(archive);
  const auto entries = by_name(dind::tar_list(dind::pull_from_memory(bytes, 777)));
  ASSERT_TRUE(entries.count("root/" + kLongPath));
  EXPECT_EQ(entries.at("root/link").type, dind::TarEntryType::symlink);
  EXPECT_EQ(entries.at("root/link").link_target, "target.txt");
  EXPECT_EQ(entries.at("root/empty").type, dind::TarEntryType::directory);
  EXPECT_EQ(entries.at("root/zero").size, 0);
  EXPECT_EQ(entries.at("root/big.bin").size, 5 << 20);
  EXPECT_EQ(entries.at("root/bin/run.sh").mode, 0750u);
  EXPECT_EQ(entries.at("generated/hello.txt").mode, 0600u);
  EXPECT_EQ(entries.at("generated/hello.txt").mtime, 1700000000);
  EXPECT_EQ(dind::tar_read_file(dind::pull_from_memory(bytes, 4096), "root/big.bin"), big);
  EXPECT_EQ(dind::tar_read_file(dind::pull_from_memory(bytes), "./generated/hello.txt"), "hello from memory\n");
  EXPECT_EQ(dind::tar_read_file(dind::pull_from_memory(bytes), "nope"), std::nullopt);

  // Extraction restores contents, modes and the symlink.
  const fs::path dest = tmp.path / "dest";
  dind::tar_extract(dind::pull_from_memory(bytes, 1000), dest);
  EXPECT_EQ(read_file(dest / "root/big.bin"), big);
  EXPECT_EQ(read_file(dest / "root" / kLongPath), "long path content\n");
  EXPECT_EQ(fs::read_symlink(dest / "root/link"), "target.txt");
  EXPECT_TRUE(fs::is_directory(dest / "root/empty"));
  EXPECT_EQ(fs::file_size(dest / "root/zero"), 0u);
  EXPECT_EQ(fs::status(dest / "root/bin/run.sh").permissions() & fs::perms::mask, fs::perms(0750));
}

TEST(tarCodec, ByteByByteReaderAndInMemoryEntries) {
  dind::TarWriter w;
  w.add_directory("etc/app", 0700).add_bytes("etc/app/config.json", "{\"a\":1}").add_bytes("empty", "");
  const std::string bytes = w.to_string();
  EXPECT_EQ(bytes.size() % 512, 0u);
  const auto list = dind::tar_list(dind::pull_from_memory(bytes, 1));
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].type, dind::TarEntryType::directory);
  EXPECT_EQ(list[0].mode, 0700u);
  EXPECT_EQ(dind::tar_read_file(dind::pull_from_memory(bytes, 1), "etc/app/config.json"), "{\"a\":1}");
  EXPECT_THROW(w.add_bytes("late", "x"), dind::Error);  // the archive is already made
}

TEST(tarCodec, AbandonedWriterIsFreedCleanly) {
  // libarchive flushes an unfinished archive when freed; under ASan this caught writes into a destroyed buffer.
  dind::TarWriter w;
  w.add_bytes("a", std::string(std::size_t{1} << 20, 'x'));
  EXPECT_FALSE(w.next_chunk().empty());
}

TEST(tarCodec, SocketsAreSkipped) {
  TempDir tmp;
  write_file(tmp.path / "d/file", "x");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock = (tmp.path / "d/sock").string();
  ASSERT_LT(sock.size(), sizeof addr.sun_path);
  sock.copy(addr.sun_path, sock.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  const std::string bytes = dind::TarWriter().add_path(tmp.path / "d").to_string();
  const auto names = by_name(dind::tar_list(dind::pull_from_memory(bytes)));
  EXPECT_TRUE(names.count("d/file"));
  EXPECT_FALSE(names.count("d/sock"));
}

TEST(tarCodec, WriterErrorsNameTheFile) {
  TempDir tmp;
  EXPECT_THROW(dind::TarWriter().add_path(tmp.path / "missing"), dind::Error);
  write_file(tmp.path / "vanishing", "x");
  dind::TarWriter w;
  w.add_path(tmp.path / "vanishing");
  fs::remove(tmp.path / "vanishing");
  try {
    w.next_chunk();
    FAIL();
  } catch (const dind::Error& e) {
    EXPECT_NE(std::string(e.what()).find((tmp.path / "vanishing").string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(w.next_chunk(), dind::Error);  // stays failed rather than pretending the archive ended
}

TEST(tarCodec, ExtractionRefusesEscapes) {
  TempDir tmp;
  const fs::path dest = tmp.path / "dest";
  const std::pair<std::string, std::string> hostile[] = {
      {"../escaped.txt", ustar_entry("ok.txt", "fine") + ustar_entry("../escaped.txt", "evil") + ustar_end()},
      {"sub/../../escaped.txt", ustar_entry("sub/../../escaped.txt", "evil") + ustar_end()},
      {"/tmp/", ustar_entry((tmp.path / "escaped.txt").string(), "evil") + ustar_end()},
      {"hardlink", ustar_entry("hl", "", '1', "../../etc/passwd") + ustar_end()},
  };
  for (const auto& [needle, archive] : hostile) {
    try {
      dind::tar_extract(dind::pull_from_memory(archive), dest, "hostile archive");
      FAIL() << "extracted " << needle;
    } catch (const dind::Error& e) {
      EXPECT_NE(std::string(e.what()).find("refusing to extract"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(tmp.path / "escaped.txt"));
  }
  EXPECT_EQ(read_file(dest / "ok.txt"), "fine");  // entries before the bad one were written

  // Writing through a symlink the archive itself planted is refused by libarchive's SECURE_SYMLINKS.
  const fs::path outside = tmp.path / "outside";
  fs::create_directories(outside);
  const std::string via_link =
      ustar_entry("sub", "", '2', outside.string()) + ustar_entry("sub/evil.txt", "evil") + ustar_end();
  EXPECT_THROW(dind::tar_extract(dind::pull_from_memory(via_link), tmp.path / "dest2"), dind::Error);
  EXPECT_FALSE(fs::exists(outside / "evil.txt"));

  // The reader itself lists such names faithfully: refusing is extraction's job.
  EXPECT_EQ(dind::tar_list(dind::pull_from_memory(hostile[0].second))[1].name, "../escaped.txt");
}

TEST(tarCodec, TruncatedOrFailingSourceIsAnError) {
  const std::string bytes = dind::TarWriter().add_bytes("a", random_bytes(100000, 3)).to_string();
  const std::string cut = bytes.substr(0, 50000);
  try {
    dind::tar_read_file(dind::pull_from_memory(cut), "a");
    FAIL();
  } catch (const dind::Error& e) {
    EXPECT_NE(std::string(e.what()).find("a in tar stream"), std::string::npos) << e.what();
  }
  // An exception from the source comes out as itself, not as a libarchive message.
  int calls = 0;
  dind::PullFn failing = [&]() -> std::string_view {
    if (++calls == 2) throw dind::ConnectionError("connection reset while reading GET /containers/x/archive");
    return std::string_view(bytes).substr(0, 1024);
  };
  EXPECT_THROW(dind::tar_list(failing), dind::ConnectionError);
  EXPECT_THROW(dind::tar_list(dind::pull_from_memory("this is not a tar archive at all")), dind::Error);
}

// ---- .dockerignore
// ----------------------------------------------------------------------------------------------------

TEST(tarDockerIgnore, ParsesLikeTheGoReader) {
  const auto p = dind::DockerIgnore::parse(
      "\xEF\xBB\xBF# comment\n"
      "\n"
      "  *.log  \r\n"
      "/abs/path\n"
      "!  keep.log\n"
      "a//b/../c/\n"
      " #not-a-comment\n");
  const std::vector<std::string> expected = {"*.log", "abs/path", "!keep.log", "a/c", "#not-a-comment"};
  EXPECT_EQ(p, expected);
}

TEST(tarDockerIgnore, MatchesLikeDocker) {
  const dind::DockerIgnore ig({"*.md", "!README.md", "**/*.go", "build", "temp?", "dist/**", "[a-c].txt", "vendor",
                               "!vendor/keep.txt", "**/cache", "docs/*/draft"});
  EXPECT_TRUE(ig.excluded("notes.md"));
  EXPECT_FALSE(ig.excluded("README.md"));
  EXPECT_FALSE(ig.excluded("sub/notes.md"));  // '*' stays within one segment
  EXPECT_TRUE(ig.excluded("main.go"));
  EXPECT_TRUE(ig.excluded("a/b/c/main.go"));
  EXPECT_TRUE(ig.excluded("build"));
  EXPECT_TRUE(ig.excluded("build/out/x.o"));  // a parent directory matches
  EXPECT_FALSE(ig.excluded("src/build"));
  EXPECT_TRUE(ig.excluded("temp1"));
  EXPECT_FALSE(ig.excluded("temp12"));
  EXPECT_TRUE(ig.excluded("dist/a/b"));
  EXPECT_TRUE(ig.excluded("b.txt"));
  EXPECT_FALSE(ig.excluded("d.txt"));
  EXPECT_TRUE(ig.excluded("vendor/lib.c"));
  EXPECT_FALSE(ig.excluded("vendor/keep.txt"));
  EXPECT_TRUE(ig.may_include_below("vendor"));
  EXPECT_FALSE(ig.may_include_below("build"));
  EXPECT_TRUE(ig.excluded("cache"));
  EXPECT_TRUE(ig.excluded("x/y/cache/z"));
  EXPECT_TRUE(ig.excluded("docs/v1/draft"));
  EXPECT_FALSE(ig.excluded("docs/v1/v2/draft"));
  EXPECT_FALSE(ig.excluded("."));

  // The last matching rule wins.
  const dind::DockerIgnore all({"*", "!src", "src/secret"});
  EXPECT_TRUE(all.excluded("Makefile"));
  EXPECT_FALSE(all.excluded("src/main.c"));
  EXPECT_TRUE(all.excluded("src/secret"));
  EXPECT_THROW(dind::DockerIgnore({"!"}), dind::Error);
  EXPECT_THROW(dind::DockerIgnore({"[a-"}), dind::Error);
}

TEST(tarDockerIgnore, BuildContextSendsWhatDockerWould) {
  TempDir tmp;
  const fs::path ctx = tmp.path;
  write_file(ctx / "Dockerfile", "FROM busybox\n");
  write_file(ctx / ".dockerignore", "# keep it small\n*\n!src\n!docs/keep.md\nsrc/**/*.tmp\n");
  write_file(ctx / "src/main.c", "int main(){}\n");
  write_file(ctx / "src/a/b/x.tmp", "tmp");
  write_file(ctx / "secret.env", "TOKEN=1");
  write_file(ctx / "node_modules/big/index.js", "x");
  write_file(ctx / "docs/keep.md", "kept");
  write_file(ctx / "docs/drop.md", "dropped");
  const std::string bytes = dind::build_context(ctx).to_string();
  std::set<std::string> names;
  for (const auto& e : dind::tar_list(dind::pull_from_memory(bytes))) names.insert(e.name);
  // Directories keep the trailing '/' the tar format gives them; docs/ itself is excluded, its kept file is not.
  const std::set<std::string> expected = {".dockerignore", "Dockerfile", "docs/keep.md", "src/",
                                          "src/a/",        "src/a/b/",   "src/main.c"};
  EXPECT_EQ(names, expected);
  // The CLI agrees it is a valid archive.
  const fs::path file = tmp.path / "ctx.tar";
  std::ofstream(file, std::ios::binary) << bytes;
  EXPECT_EQ(run("tar -tf " + file.string()).first, 0);
  // A Dockerfile elsewhere is kept even when the rules exclude it.
  write_file(ctx / "ci/Dockerfile.ci", "FROM busybox\n");
  std::set<std::string> names2;
  for (const auto& e : dind::tar_list(dind::pull_from_memory(dind::build_context(ctx, "ci/Dockerfile.ci").to_string())))
    names2.insert(e.name);
  EXPECT_TRUE(names2.count("ci/Dockerfile.ci"));
  EXPECT_FALSE(names2.count("Dockerfile"));
}

// ---- X-Docker-Container-Path-Stat
// ---------------------------------------------------------------------------------------

TEST(tarPathStatHeader, DecodesWhatTheEngineSends) {
  // Captured from Docker Engine 20.10.24: HEAD /containers/{id}/archive?path=/etc and ?path=/bin/sh of busybox.
  const auto dir = dind::decode_path_stat(
      "eyJuYW1lIjoiZXRjIiwic2l6ZSI6NDA5NiwibW9kZSI6MjE0NzQ4NDE0MSwibXRpbWUiOiIyMDI2LTExLTI3VDE5OjE5OjU3Ljk2NjYzOTc5OFoi"
      "LC"
      "JsaW5rVGFyZ2V0IjoiIn0=");
  EXPECT_EQ(dir.name, "etc");
  EXPECT_EQ(dir.size, 4096);
  EXPECT_TRUE(dir.is_dir());
  EXPECT_FALSE(dir.is_symlink());
  EXPECT_EQ(dir.permissions(), 0755u);
  EXPECT_EQ(dir.mtime, "2026-11-27T19:19:57.966639798Z");
  const auto link = dind::decode_path_stat(
      "eyJuYW1lIjoic2giLCJzaXplIjo3LCJtb2RlIjoxMzQyMTgyMzksIm10aW1lIjoiMjAyNi0xMS0yN1QxOToxNTowMloiLCJsaW5rVGFyZ2V0Ijoi"
      "L2Jpbi9idXN5Ym94In0=");
  EXPECT_TRUE(link.is_symlink());
  EXPECT_EQ(link.link_target, "/bin/busybox");
  EXPECT_EQ(link.to_json()["linkTarget"], "/bin/busybox");
  EXPECT_EQ(link.to_json()["mode"], 134218239u);

  EXPECT_THROW(dind::decode_path_stat("not base64!"), dind::Error);
  EXPECT_THROW(dind::decode_path_stat(dind::base64_encode("[1,2]")), dind::Error);
  EXPECT_THROW(dind::decode_path_stat(dind::base64_encode("{\"size\":\"big\"}")), dind::Error);
}
