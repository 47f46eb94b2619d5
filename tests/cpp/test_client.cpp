// dind::Client against the real engine on /var/run/docker.sock.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "dind/client.hpp"
#include "dind/errors.hpp"

namespace {

const std::string kSock = "unix:///var/run/docker.sock";

dind::Client engine() {
  return dind::Client(dind::ClientConfig::from_url(kSock));
}

std::string session() {
  return "h2-test-client-" + std::to_string(::getpid());
}

// A 127.0.0.1 port with nothing listening: bind, read the port, close.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST(Client, Ping) {
  auto c = engine();
  EXPECT_EQ(c.ping(), "OK");
  EXPECT_EQ(c.host(), kSock);
}

TEST(Client, VersionAndNegotiation) {
  auto c = engine();
  auto v = c.version();
  ASSERT_TRUE(v.contains("ApiVersion"));
  const std::string server = v["ApiVersion"];
  // min(ours, the server's): Debian's 20.10 engine speaks 1.41, below our 1.43.
  const std::string expected = dind::compare_api_versions(server, dind::kMaxApiVersion) < 0 ? server : "1.43";
  EXPECT_EQ(c.api_version(), expected);
  EXPECT_TRUE(c.info().contains("ID"));
}

TEST(Client, PinnedVersionIsUsed) {
  auto cfg = dind::ClientConfig::from_url(kSock);
  cfg.version = "1.40";
  dind::Client c(cfg);
  EXPECT_EQ(c.api_version(), "1.40");
  EXPECT_TRUE(c.version().contains("Version"));
}

TEST(Client, FromEnvDefaultsToTheLocalSocket) {
  auto cfg = dind::ClientConfig::from_env({});
  EXPECT_EQ(cfg.endpoint.url(), kSock);
  EXPECT_FALSE(cfg.tls.has_value());
  EXPECT_EQ(dind::Client(cfg).ping(), "OK");
}

TEST(Client, NotFoundNamesMethodPathAndHost) {
  auto c = engine();
  try {
    c.request("GET", "/containers/dind-h2-no-such-container/json");
    FAIL() << "no exception";
  } catch (const dind::NotFound& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_EQ(e.method(), "GET");
    EXPECT_EQ(e.path(), "/containers/dind-h2-no-such-container/json");
    EXPECT_EQ(e.host(), kSock);
    std::string m = e.what();
    EXPECT_NE(m.find("GET /containers/dind-h2-no-such-container/json on unix:///var/run/docker.sock"),
              std::string::npos)
        << m;
    EXPECT_NE(e.message().find("No such container"), std::string::npos) << e.message();
  }
  // The connection that carried the 404 is still good.
  EXPECT_EQ(c.ping(), "OK");
}

TEST(Client, AbsentSocketNamesThePath) {
  dind::Client c(dind::ClientConfig::from_url("unix:///tmp/dind-h2-absent.sock"));
  try {
    c.ping();
    FAIL() << "no exception";
  } catch (const dind::ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find("/tmp/dind-h2-absent.sock"), std::string::npos) << e.what();
  }
}

TEST(Client, RefusedTcpPortNamesHostAndPort) {
  const int port = free_port();
  dind::Client c(dind::ClientConfig::from_url("tcp://127.0.0.1:" + std::to_string(port)));
  try {
    c.ping();
    FAIL() << "no exception";
  } catch (const dind::ConnectionError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << m;
    EXPECT_NE(m.find("refused"), std::string::npos) << m;
  }
}

TEST(Client, SharedBetweenThreads) {
  auto c = engine();
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&] {
      for (int j = 0; j < 50; ++j)
        if (c.ping() == "OK") ++ok;
      c.request("GET", "/containers/json", {{"all", "1"}, {"limit", "1"}});
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 400);
  EXPECT_LE(c.idle_connections(), c.config().max_idle);
}

TEST(Client, EventsStreamEndsAtUntil) {
  auto c = engine();
  const auto now = std::to_string(std::time(nullptr));
  auto reader = c.stream("GET", "/events", {{"since", now}, {"until", now}});
  EXPECT_EQ(reader.status(), 200);
  EXPECT_NO_THROW(reader.read_all(1 << 20));
  EXPECT_TRUE(reader.done());
}

// Attach to `cat` with stdin, write, half-close: cat sees EOF and the output still comes back.
TEST(Client, AttachHalfCloseOnARealContainer) {
  auto c = engine();
  nlohmann::json spec = {{"Image", "busybox:latest"},
                         {"Cmd", {"cat"}},
                         {"OpenStdin", true},
                         {"StdinOnce", true},
                         {"AttachStdin", true},
                         {"AttachStdout", true},
                         {"Labels", {{"dind.session", session()}}}};
  auto created = nlohmann::json::parse(c.request("POST", "/containers/create", {}, dind::Body::json(spec)).body);
  const std::string id = created["Id"];
  struct Cleanup {
    dind::Client& c;
    std::string id;
    ~Cleanup() {
      try {
        c.request("DELETE", "/containers/" + id, {{"force", "1"}, {"v", "1"}});
      } catch (...) {
      }
    }
  } cleanup{c, id};
  auto s = c.upgrade("POST", "/containers/" + id + "/attach",
                     {{"stream", "1"}, {"stdin", "1"}, {"stdout", "1"}, {"stderr", "1"}});
  EXPECT_TRUE(s.status() == 101 || s.status() == 200);
  c.request("POST", "/containers/" + id + "/start");
  s.write("hello\n");
  s.close_write();
  std::string raw;
  char buf[256];
  while (std::size_t n = s.read_some(buf, sizeof buf)) raw.append(buf, n);
  // One multiplexed stdout frame: [1,0,0,0, BE32 len] "hello\n".
  ASSERT_GE(raw.size(), 8u + 6u) << raw;
  EXPECT_EQ(raw[0], 1);
  EXPECT_EQ(raw.substr(8), "hello\n");
  auto waited = c.stream("POST", "/containers/" + id + "/wait");
  EXPECT_EQ(nlohmann::json::parse(waited.read_all())["StatusCode"], 0);
}
