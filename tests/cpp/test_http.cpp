// Layer 3 and the pool against a tiny in-process fake server on a unix socket: only what a real engine can't be
// made to do (odd chunk splits, a 101 with leftover bytes, idle closes, drops mid-body, a slow answer).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dind/client.hpp"
#include "dind/errors.hpp"
#include "fake_server.hpp"

namespace {

// Blocks until the peer closes (or 10 s pass, so a broken test cannot hang).
void wait_closed(int fd) {
  char c[256];
  for (int i = 0; i < 500; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0 && ::recv(fd, c, sizeof c, 0) <= 0) return;
  }
}

std::string ok(const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nApi-Version: 1.41\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

dind::Client client_for(const FakeServer& s, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto cfg = dind::ClientConfig::from_url(s.url());
  cfg.version = "1.41";
  cfg.timeout = timeout;
  return dind::Client(cfg);
}

// The body the split test sends in odd pieces.
const std::string kChunkedBody = "hello, chunked world! {\"a\":1}\n{\"b\":2}\n";

}  // namespace

TEST(Http, ChunkedBodySplitInOddPlaces) {
  FakeServer server([](int fd) {
    if (read_request(fd).empty()) return;
    std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n";
    // Chunks of 7, 1, 13, rest bytes, with a chunk extension and upper-case hex.
    const std::string& b = kChunkedBody;
    std::size_t sizes[] = {7, 1, 13, b.size() - 21};
    std::size_t off = 0;
    for (std::size_t n : sizes) {
      char line[32];
      std::snprintf(line, sizeof line, "%zX%s\r\n", n, n == 1 ? ";ext=1" : "");
      wire += line + b.substr(off, n) + "\r\n";
      off += n;
    }
    wire += "0\r\n\r\n";
    // Dribble the wire out 1–3 bytes at a time so head, sizes, CRLFs and data all straddle reads.
    for (std::size_t i = 0; i < wire.size();) {
      std::size_t n = 1 + i % 3;
      send_all(fd, wire.substr(i, n));
      i += n;
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
    wait_closed(fd);
  });
  auto client = client_for(server);
  auto reader = client.stream("GET", "/events");
  EXPECT_EQ(reader.status(), 200);
  ASSERT_NE(reader.header("content-type"), nullptr);
  std::string got;
  char small[5];
  while (std::size_t n = reader.read_some(small, sizeof small)) got.append(small, n);
  EXPECT_EQ(got, kChunkedBody);
  EXPECT_TRUE(reader.done());
}

TEST(Http, UnaryChunkedAndKeepAliveReuse) {
  FakeServer server([](int fd) {
    for (;;) {
      if (read_request(fd).empty()) return;
      send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n");
    }
  });
  auto client = client_for(server);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.request("GET", "/x").body, "{\"a\":1}");
  EXPECT_EQ(server.accepted.load(), 1);  // one kept-alive connection served all five
  EXPECT_EQ(client.idle_connections(), 1u);
}

TEST(Http, UpgradeDeliversBytesBufferedWithTheHead) {
  std::atomic<bool> saw_upgrade{false};
  FakeServer server([&](int fd) {
    std::string head = read_request(fd);
    saw_upgrade =
        head.find("Connection: Upgrade\r\n") != std::string::npos && head.find("Upgrade: tcp\r\n") != std::string::npos;
    // Head and the first stream bytes in one write: they arrive in the same read as the head.
    send_all(fd,
             "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\n"
             "Upgrade: tcp\r\n\r\nHELLO");
    char c[64];
    ssize_t n = ::recv(fd, c, sizeof c, 0);
    if (n > 0) send_all(fd, "echo:" + std::string(c, static_cast<std::size_t>(n)));
    wait_closed(fd);  // the client's half-close
    send_all(fd, "bye");
  });
  auto client = client_for(server);
  auto s = client.upgrade("POST", "/containers/x/attach", {{"stream", "1"}});
  EXPECT_EQ(s.status(), 101);
  EXPECT_TRUE(saw_upgrade);
  char buf[64];
  std::size_t n = s.read_some(buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n), "HELLO");
  s.write("ping");
  std::string got;
  while (got.size() < 9) {
    n = s.read_some(buf, sizeof buf);
    ASSERT_GT(n, 0u);
    got.append(buf, n);
  }
  EXPECT_EQ(got, "echo:ping");
  s.close_write();
  got.clear();
  while ((n = s.read_some(buf, sizeof buf)) > 0) got.append(buf, n);
  EXPECT_EQ(got, "bye");
}

TEST(Http, UpgradeAccepts200Hijack) {
  FakeServer server([](int fd) {
    read_request(fd);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nraw");
  });
  auto client = client_for(server);
  auto s = client.upgrade("POST", "/exec/x/start", {}, dind::Body::json({{"Detach", false}}));
  EXPECT_EQ(s.status(), 200);
  std::string got;
  char buf[16];
  while (std::size_t n = s.read_some(buf, sizeof buf)) got.append(buf, n);
  EXPECT_EQ(got, "raw");
}

TEST(Http, UpgradeErrorStatusThrowsApiError) {
  FakeServer server([](int fd) {
    read_request(fd);
    std::string body = "{\"message\":\"No such container: x\"}";
    send_all(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
  });
  auto client = client_for(server);
  try {
    client.upgrade("POST", "/containers/x/attach");
    FAIL() << "no exception";
  } catch (const dind::NotFound& e) {
    EXPECT_EQ(e.message(), "No such container: x");
    EXPECT_NE(std::string(e.what()).find("POST /containers/x/attach on " + server.url()), std::string::npos);
  }
}

TEST(Http, PoolDetectsAServerClosedIdleConnection) {
  std::mutex mu;
  std::condition_variable cv;
  int closed = 0;
  FakeServer server([&](int fd) {
    if (read_request(fd).empty()) return;
    send_all(fd, ok("OK"));
    // Like a server's idle timeout: close the kept-alive connection after one answer.
    ::shutdown(fd, SHUT_RDWR);
    std::lock_guard<std::mutex> lock(mu);
    ++closed;
    cv.notify_all();
  });
  auto client = client_for(server);
  EXPECT_EQ(client.ping(), "OK");
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(5), [&] { return closed == 1; });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the FIN reach our socket
  EXPECT_EQ(client.ping(), "OK");                              // the stale connection is dropped, a new one dialled
  EXPECT_EQ(server.accepted.load(), 2);
}

TEST(Http, IdempotentRequestRetriedOnceWhenAReusedConnectionDies) {
  // The server reads the second request on the kept-alive connection and closes without answering: the race of
  // an idle timeout that fires as the request goes out. GET is retried on a fresh connection.
  std::atomic<int> conn_no{0};
  FakeServer server([&](int fd) {
    int me = conn_no++;
    for (int i = 0;; ++i) {
      if (read_request(fd).empty()) return;
      if (me == 0 && i == 1) return;  // drop it
      send_all(fd, ok("{\"n\":" + std::to_string(me) + "}"));
    }
  });
  auto client = client_for(server);
  EXPECT_EQ(client.request("GET", "/x").body, "{\"n\":0}");
  EXPECT_EQ(client.request("GET", "/x").body, "{\"n\":1}");
  EXPECT_EQ(server.accepted.load(), 2);
}

TEST(Http, PostIsNotRetried) {
  std::atomic<int> conn_no{0};
  FakeServer server([&](int fd) {
    int me = conn_no++;
    for (int i = 0;; ++i) {
      if (read_request(fd).empty()) return;
      if (me == 0 && i == 1) return;
      send_all(fd, ok("{}"));
    }
  });
  auto client = client_for(server);
  client.request("POST", "/containers/create", {}, dind::Body::json({{"Image", "busybox"}}));
  EXPECT_THROW(client.request("POST", "/containers/create", {}, dind::Body::json({{"Image", "busybox"}})),
               dind::ConnectionError);
}

TEST(Http, DropMidBodyIsAnErrorNotAHang) {
  FakeServer server([](int fd) {
    if (read_request(fd).empty()) return;
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
  });
  auto client = client_for(server);
  try {
    client.request("GET", "/containers/json");
    FAIL() << "no exception";
  } catch (const dind::StreamError& e) {
    EXPECT_NE(std::string(e.what()).find("GET /containers/json on " + server.url()), std::string::npos) << e.what();
  }
}

TEST(Http, DropMidChunkedStream) {
  FakeServer server([](int fd) {
    if (read_request(fd).empty()) return;
    send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\npart");
  });
  auto client = client_for(server);
  auto reader = client.stream("GET", "/events");
  char buf[64];
  std::string got;
  EXPECT_THROW(
      {
        while (std::size_t n = reader.read_some(buf, sizeof buf)) got.append(buf, n);
      },
      dind::StreamError);
  EXPECT_EQ(got.substr(0, 5), "hello");
}

TEST(Http, SlowServerUnaryTimeout) {
  FakeServer server([](int fd) {
    if (read_request(fd).empty()) return;
    wait_closed(fd);  // never answers
  });
  auto client = client_for(server, std::chrono::milliseconds(300));
  try {
    client.request("GET", "/info");
    FAIL() << "no exception";
  } catch (const dind::TimeoutError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("GET /info on " + server.url()), std::string::npos) << m;
    EXPECT_NE(m.find("timed out"), std::string::npos) << m;
  }
  // A per-call timeout overrides the client's.
  auto patient = client_for(server, std::chrono::seconds(60));
  EXPECT_THROW(patient.request("GET", "/info", {}, std::nullopt, {}, std::chrono::milliseconds(200)),
               dind::TimeoutError);
}

TEST(Http, StreamIdleTimeoutAndNoTotalTimeout) {
  FakeServer server([](int fd) {
    if (read_request(fd).empty()) return;
    send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    // Slow drips: each within the idle timeout, the whole longer than the client's unary timeout.
    for (int i = 0; i < 4; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      send_all(fd, "1\r\nx\r\n");
    }
    wait_closed(fd);  // then silence
  });
  auto client = client_for(server, std::chrono::milliseconds(250));
  auto reader = client.stream("GET", "/events", {}, std::nullopt, {}, std::chrono::milliseconds(1000));
  char buf[8];
  std::string got;
  EXPECT_THROW(
      {
        while (std::size_t n = reader.read_some(buf, sizeof buf)) got.append(buf, n);
      },
      dind::TimeoutError);
  EXPECT_EQ(got, "xxxx");
}

TEST(Http, CloseFromAnotherThreadEndsABlockedRead) {
  FakeServer server([](int fd) {
    if (read_request(fd).empty()) return;
    send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    wait_closed(fd);
  });
  auto client = client_for(server);
  auto reader = client.stream("GET", "/events");
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    reader.close();
  });
  char buf[8];
  EXPECT_EQ(reader.read_some(buf, sizeof buf), 0u);  // returns instead of blocking forever
  closer.join();
  EXPECT_EQ(client.idle_connections(), 0u);  // a closed stream never goes back to the pool
}

TEST(Http, HalfReadStreamNeverReturnsToThePool) {
  FakeServer server([](int fd) {
    while (!read_request(fd).empty())
      send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
  });
  auto client = client_for(server);
  {
    auto reader = client.stream("GET", "/events");
    char buf[3];
    EXPECT_EQ(reader.read_some(buf, 3), 3u);
  }  // dropped half-read
  EXPECT_EQ(client.idle_connections(), 0u);
  {
    auto reader = client.stream("GET", "/events");
    EXPECT_EQ(reader.read_all(), "abcdef");
  }
  EXPECT_EQ(client.idle_connections(), 1u);
}

TEST(Http, StreamedChunkedRequestBody) {
  std::string received;
  FakeServer server([&](int fd) {
    std::string body;
    std::string head = read_request(fd, &body);
    received = body;
    send_all(fd, ok("{\"len\":" + std::to_string(body.size()) + "}"));
  });
  auto client = client_for(server);
  int calls = 0;
  auto reader = client.upload(
      "PUT", "/containers/x/archive", {{"path", "/tmp"}},
      [&](char* buf, std::size_t cap) -> std::size_t {
        if (calls++ == 3) return 0;
        std::size_t n = std::min<std::size_t>(cap, 1000);
        std::memset(buf, 'a' + calls, n);
        return n;
      },
      "application/x-tar");
  std::string expected;
  for (char c : {'b', 'c', 'd'}) expected += "3e8\r\n" + std::string(1000, c) + "\r\n";
  expected += "0\r\n\r\n";
  EXPECT_EQ(reader.read_all(), "{\"len\":" + std::to_string(expected.size()) + "}");
  EXPECT_EQ(received, expected);  // three 1000-byte chunks, then the last chunk
}

TEST(Http, ErrorBodiesBecomeTypedErrors) {
  FakeServer server([](int fd) {
    std::string head;
    while (!(head = read_request(fd)).empty()) {
      if (head.find("/conflict") != std::string::npos)
        send_all(fd,
                 "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n"
                 "{\"message\":\"in use\"}");
      else if (head.find("/text") != std::string::npos)
        send_all(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops\n");
      else
        send_all(fd, "HTTP/1.1 304 Not Modified\r\n\r\n");
    }
  });
  auto client = client_for(server);
  EXPECT_THROW(client.request("DELETE", "/conflict"), dind::Conflict);
  try {
    client.request("GET", "/text");
    FAIL();
  } catch (const dind::ServerError& e) {
    EXPECT_EQ(e.message(), "oops");
    EXPECT_EQ(e.status(), 500);
  }
  EXPECT_EQ(client.request("POST", "/containers/x/start").status, 304);  // already started: success
}

TEST(Http, VersionNegotiation) {
  auto serve = [](std::string api_version) {
    return [api_version](int fd) {
      std::string head;
      while (!(head = read_request(fd)).empty()) {
        std::string target = head.substr(4, head.find(' ', 4) - 4);
        std::string extra = api_version.empty() ? "" : "Api-Version: " + api_version + "\r\n";
        send_all(fd, "HTTP/1.1 200 OK\r\n" + extra + "Content-Length: " + std::to_string(target.size()) + "\r\n\r\n" +
                         target);
      }
    };
  };
  auto negotiated = [](const FakeServer& s) { return dind::Client(dind::ClientConfig::from_url(s.url())); };
  {
    FakeServer newer(serve("1.50"));
    auto c = negotiated(newer);
    EXPECT_EQ(c.request("GET", "/info").body, "/v1.43/info");  // never above what we speak
  }
  {
    FakeServer older(serve("1.30"));
    auto c = negotiated(older);
    EXPECT_EQ(c.request("GET", "/info").body, "/v1.30/info");  // never above the server's
    EXPECT_EQ(c.request("GET", "/info", {{"a", "b c"}, {"f", "{\"x\":[1]}"}}).body,
              "/v1.30/info?a=b%20c&f=%7B%22x%22%3A%5B1%5D%7D");
  }
  {
    FakeServer ancient(serve("1.12"));
    auto c = negotiated(ancient);
    try {
      c.request("GET", "/info");
      FAIL();
    } catch (const dind::Error& e) {
      EXPECT_NE(std::string(e.what()).find("1.12"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(ancient.url()), std::string::npos) << e.what();
    }
  }
  {
    FakeServer silent(serve(""));
    auto c = negotiated(silent);
    EXPECT_EQ(c.api_version(), "1.24");
  }
  {
    FakeServer any(serve("1.41"));
    auto cfg = dind::ClientConfig::from_url(any.url());
    cfg.version = "1.35";  // pinned: no negotiation round trip
    dind::Client c(cfg);
    EXPECT_EQ(c.request("GET", "/info").body, "/v1.35/info");
    EXPECT_EQ(any.accepted.load(), 1);
  }
}

TEST(Http, ConcurrentNegotiationHappensOnce) {
  std::atomic<int> pings{0};
  FakeServer server([&](int fd) {
    std::string head;
    while (!(head = read_request(fd)).empty()) {
      if (head.rfind("GET /_ping", 0) == 0) ++pings;
      send_all(fd, ok("{}"));
    }
  });
  dind::Client c(dind::ClientConfig::from_url(server.url()));
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&] {
      for (int j = 0; j < 20; ++j) c.request("GET", "/info");
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(pings.load(), 1);
}
