// Streams: logs, attach, exec, events, stats. Against the real engine (busybox:latest), plus a tiny fake server
// for what the engine can't be made to do: a daemon error frame, a drop mid-stream, the API >= 1.42 Content-Type,
// a 101 whose first frame rides with the head.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dind/client.hpp"
#include "dind/errors.hpp"
#include "dind/events.hpp"
#include "dind/exec.hpp"
#include "dind/frames.hpp"
#include "dind/streams.hpp"
#include "fake_server.hpp"

using namespace std::chrono_literals;

namespace {

// ---- fake server ----------------------------------------------------------------------------------------------

// The fake server of fake_server.hpp, recording each request line; `handler(fd, request head)` per connection.
class Fake {
 public:
  explicit Fake(std::function<void(int, const std::string&)> handler)
      : server_([this, handler = std::move(handler)](int fd) {
          std::string head = read_request(fd);
          {
            std::lock_guard<std::mutex> lock(mu_);
            requests_.push_back(head.substr(0, head.find("\r\n")));
          }
          if (!head.empty()) handler(fd, head);
        }) {}
  dind::Client client(const char* version) const {
    auto cfg = dind::ClientConfig::from_url(server_.url());
    cfg.version = version;
    cfg.timeout = std::chrono::milliseconds(10000);
    return dind::Client(cfg);
  }
  std::vector<std::string> request_lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> requests_;
  FakeServer server_;  // last: destroyed first, so its threads are joined before what they use goes
};

std::string frame(int stream, const std::string& payload) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(stream);
  const auto n = static_cast<std::uint32_t>(payload.size());
  h[4] = static_cast<char>(n >> 24);
  h[5] = static_cast<char>(n >> 16);
  h[6] = static_cast<char>(n >> 8);
  h[7] = static_cast<char>(n);
  return h + payload;
}

std::string chunk(const std::string& s) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", s.size());
  return size + s + "\r\n";
}

std::string chunked_head(const std::string& content_type) {
  return "HTTP/1.1 200 OK\r\nContent-Type: " + content_type + "\r\nTransfer-Encoding: chunked\r\n\r\n";
}

// Holds a connection open until the client goes away (bounded, so a broken test cannot hang).
void hold(int fd, std::chrono::milliseconds at_most = 10000ms) {
  char c[256];
  const auto end = std::chrono::steady_clock::now() + at_most;
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0 && ::recv(fd, c, sizeof c, 0) <= 0) return;
  }
}

}  // namespace

TEST(FakeStreams, DaemonErrorFrameIsStreamError) {
  Fake server([](int fd, const std::string&) {
    send_all(fd, chunked_head(dind::kRawStreamType) + chunk(frame(1, "partial output\n")) +
                     chunk(frame(3, "error from daemon: something broke\n")) + "0\r\n\r\n");
  });
  dind::LogsOptions o;
  o.tty = false;
  auto logs = dind::ContainerStreams(server.client("1.41")).logs("abc", o);
  dind::OutputChunk c;
  ASSERT_TRUE(logs.next(c));
  EXPECT_EQ(c.data, "partial output\n");
  try {
    while (logs.next(c)) {
    }
    FAIL() << "a stream 3 frame must raise";
  } catch (const dind::StreamError& e) {
    EXPECT_NE(std::string(e.what()).find("something broke"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("logs of container abc"), std::string::npos) << e.what();
  }
}

// The engine writes one frame (and for logs one HTTP chunk) per line. What has arrived is handed over in batches
// (adjacent frames of one stream joined), stdout and stderr in arrival order, and a follower gets what has arrived
// without waiting for a batch to fill: the server sends "late" only after the client has the chunk before it.
TEST(FakeStreams, ArrivedFramesAreBatchedInOrderAndAFollowerIsNotKeptWaiting) {
  std::promise<void> go;
  std::shared_future<void> go_seen = go.get_future().share();
  std::string out1, out2;
  for (int i = 0; i < 300; ++i) out1 += "out" + std::to_string(i) + "\n";
  for (int i = 0; i < 50; ++i) out2 += "again" + std::to_string(i) + "\n";
  Fake server([&, go_seen](int fd, const std::string&) {
    std::string body;
    for (int i = 0; i < 300; ++i) body += chunk(frame(1, "out" + std::to_string(i) + "\n"));
    body += chunk(frame(2, "err\n"));
    for (int i = 0; i < 50; ++i) body += chunk(frame(1, "again" + std::to_string(i) + "\n"));
    send_all(fd, chunked_head(dind::kRawStreamType) + body);
    if (go_seen.wait_for(10s) != std::future_status::ready) return;  // a client that waits for more fails below
    send_all(fd, chunk(frame(1, "late\n")) + "0\r\n\r\n");
    hold(fd);
  });
  dind::LogsOptions o;
  o.tty = false;
  o.follow = true;
  auto logs = dind::ContainerStreams(server.client("1.41")).logs("abc", o);
  std::vector<dind::OutputChunk> got;
  std::string seen;
  dind::OutputChunk c;
  while (seen.size() < out1.size() + 4 + out2.size() && logs.next(c)) {
    seen += c.data;
    got.push_back(c);
  }
  go.set_value();
  ASSERT_TRUE(logs.next(c));
  EXPECT_EQ(c.data, "late\n");
  EXPECT_FALSE(logs.next(c));
  // Sent in one write, so all of it had arrived: one chunk per run of a stream, not one per frame.
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].stream, dind::StdStream::out);
  EXPECT_EQ(got[0].data, out1);
  EXPECT_EQ(got[1].stream, dind::StdStream::err);
  EXPECT_EQ(got[1].data, "err\n");
  EXPECT_EQ(got[2].stream, dind::StdStream::out);
  EXPECT_EQ(got[2].data, out2);
}

TEST(FakeStreams, DropInsideFrameIsAnError) {
  Fake server([](int fd, const std::string&) {
    const std::string f = frame(1, std::string(1000, 'x'));
    send_all(fd, chunked_head(dind::kRawStreamType) + chunk(f.substr(0, 300)));  // then the daemon dies
  });
  dind::LogsOptions o;
  o.tty = false;
  auto logs = dind::ContainerStreams(server.client("1.41")).logs("abc", o);
  EXPECT_THROW(logs.read_all(), dind::StreamError);
}

TEST(FakeStreams, HijackedDropInsideFrameIsStreamError) {
  Fake server([](int fd, const std::string&) {
    const std::string f = frame(2, std::string(1000, 'x'));
    send_all(fd, "HTTP/1.1 101 UPGRADED\r\nContent-Type: " + std::string(dind::kRawStreamType) +
                     "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + f.substr(0, 500));
  });
  auto out = dind::Exec(server.client("1.41")).start("e1", false);
  EXPECT_THROW(out.read_all_split(), dind::StreamError);
}

TEST(FakeStreams, EventsDropMidStreamIsAnErrorNotAHang) {
  Fake server([](int fd, const std::string&) {
    send_all(fd, chunked_head("application/json") + chunk("{\"Type\":\"container\",\"Action\":\"start\"}\n") +
                     chunk("{\"Type\":\"cont"));
  });
  auto events = dind::Events(server.client("1.41")).stream();
  nlohmann::json ev;
  ASSERT_TRUE(events.next(ev));
  EXPECT_EQ(ev["Action"], "start");
  EXPECT_THROW(events.next(ev), dind::StreamError);
}

TEST(FakeStreams, ContentTypeDecidesOnNewerApis) {
  // API 1.43: the head says raw (TTY) or multiplexed; no inspect is needed. A TTY body whose bytes look like a
  // frame header must come through untouched.
  const std::string tty_bytes = std::string("\x01\x00\x00\x00\x00\x00\x00\x03", 8) + "abc\r\n";
  Fake server([&](int fd, const std::string& head) {
    if (head.find("/containers/tty/logs") != std::string::npos)
      send_all(fd, chunked_head(dind::kRawStreamType) + chunk(tty_bytes) + "0\r\n\r\n");
    else if (head.find("/containers/mux/logs") != std::string::npos)
      send_all(fd, chunked_head(std::string(dind::kMultiplexedStreamType)) + chunk(frame(1, "out")) +
                       chunk(frame(2, "err")) + "0\r\n\r\n");
    else
      send_all(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  });
  dind::ContainerStreams streams(server.client("1.43"));
  auto raw = streams.logs("tty");
  EXPECT_TRUE(raw.tty());
  EXPECT_EQ(raw.read_all(), tty_bytes);
  auto mux = streams.logs("mux");
  EXPECT_FALSE(mux.tty());
  auto [out, err] = mux.read_all_split();
  EXPECT_EQ(out, "out");
  EXPECT_EQ(err, "err");
  for (const auto& line : server.request_lines()) EXPECT_EQ(line.find("/json"), std::string::npos) << line;
}

TEST(FakeStreams, OlderApiAsksTheContainersTtyFlag) {
  Fake server([&](int fd, const std::string& head) {
    if (head.find("/containers/t1/json") != std::string::npos) {
      const std::string body = R"({"Id":"t1","Config":{"Tty":true}})";
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body);
    } else {
      send_all(fd, chunked_head(dind::kRawStreamType) + chunk(std::string("\x02\x00\x00\x00hi", 6)) + "0\r\n\r\n");
    }
  });
  auto logs = dind::ContainerStreams(server.client("1.41")).logs("t1");
  EXPECT_TRUE(logs.tty());
  EXPECT_EQ(logs.read_all(), std::string("\x02\x00\x00\x00hi", 6));
}

TEST(FakeStreams, BytesThatCameWithThe101HeadAreNotLost) {
  Fake server([](int fd, const std::string&) {
    // The head and the first frames in one write, as a fast daemon does.
    send_all(fd, "HTTP/1.1 101 UPGRADED\r\nContent-Type: " + std::string(dind::kRawStreamType) +
                     "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + frame(1, "first") + frame(2, "second"));
    std::this_thread::sleep_for(50ms);
    send_all(fd, frame(1, "third"));
    ::shutdown(fd, SHUT_WR);
    hold(fd);
  });
  auto out = dind::Exec(server.client("1.41")).start("e1", false);
  auto [o, e] = out.read_all_split();
  EXPECT_EQ(o, "firstthird");
  EXPECT_EQ(e, "second");
}

TEST(FakeStreams, CloseFromAnotherThreadEndsABlockedRead) {
  Fake server([](int fd, const std::string&) {
    send_all(fd, chunked_head("application/json"));
    hold(fd);  // no events, ever
  });
  auto events = dind::Events(server.client("1.41")).stream();
  std::thread closer([&] {
    std::this_thread::sleep_for(200ms);
    events.close();
  });
  nlohmann::json ev;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(events.next(ev));
  closer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);  // a hang detector, not a timing assertion
}

// ---- the real engine -------------------------------------------------------------------------------------------

namespace {

const std::string kSession = "p2-streams-cpp-" + std::to_string(::getpid());

// A busybox container carrying the session label, removed (with volumes) at the end of the test.
class Box {
 public:
  Box(dind::Client client, std::vector<std::string> cmd, bool tty = false, bool open_stdin = false, bool start = true)
      : client_(std::move(client)) {
    nlohmann::json body = {{"Image", "busybox:latest"},
                           {"Cmd", cmd},
                           {"Tty", tty},
                           {"OpenStdin", open_stdin},
                           {"StdinOnce", open_stdin},
                           {"AttachStdin", open_stdin},
                           {"Labels", {{"dind.session", kSession}}}};
    auto r = client_.request("POST", "/containers/create", {}, dind::Body::json(body));
    id = nlohmann::json::parse(r.body)["Id"].get<std::string>();
    if (start) this->start();
  }
  ~Box() {
    try {
      client_.request("DELETE", "/containers/" + id, {{"force", "1"}, {"v", "1"}});
    } catch (...) {
    }
  }
  void start() { client_.request("POST", "/containers/" + id + "/start"); }
  void wait() { client_.request("POST", "/containers/" + id + "/wait", {}, std::nullopt, {}, 60s); }
  std::string id;

 private:
  dind::Client client_;
};

dind::Client engine() {
  return dind::Client(dind::ClientConfig::from_url("unix:///var/run/docker.sock"));
}

}  // namespace

TEST(EngineStreams, ExecExitCodeAndSplitOutput) {
  auto client = engine();
  Box box(client, {"sleep", "60"});
  dind::ExecConfig c;
  c.cmd = {"sh", "-c", "echo out; echo err >&2; exit 3"};
  auto r = dind::Exec(client).run(box.id, c);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(EngineStreams, ExecTtyIsRawAndStdinIsHalfClosed) {
  auto client = engine();
  Box box(client, {"sleep", "60"});
  dind::ExecConfig c;
  c.cmd = {"sh", "-c", "echo tty; exit 0"};
  c.tty = true;
  auto r = dind::Exec(client).run(box.id, c);
  EXPECT_EQ(r.out, "tty\r\n");  // the pty's line discipline, not a mangled frame
  EXPECT_EQ(r.err, "");
  dind::ExecConfig cat;
  cat.cmd = {"cat"};
  auto echoed = dind::Exec(client).run(box.id, cat, std::string("through stdin\n"));
  EXPECT_EQ(echoed.out, "through stdin\n");
  EXPECT_EQ(echoed.exit_code, 0);
}

TEST(EngineStreams, LogsOfTtyAndNonTtyContainers) {
  auto client = engine();
  // Bytes that look like a frame header must survive a TTY container's logs.
  Box tty(client, {"sh", "-c", "printf '\\001\\000\\000\\000\\000\\000\\000\\003abc'"}, true);
  Box plain(client, {"sh", "-c", "echo out; echo err >&2"});
  tty.wait();
  plain.wait();
  dind::ContainerStreams streams(client);
  auto t = streams.logs(tty.id);
  EXPECT_TRUE(t.tty());
  EXPECT_EQ(t.read_all(), std::string("\x01\x00\x00\x00\x00\x00\x00\x03"
                                      "abc",
                                      11));
  auto p = streams.logs(plain.id);
  EXPECT_FALSE(p.tty());
  auto [o, e] = p.read_all_split();
  EXPECT_EQ(o, "out\n");
  EXPECT_EQ(e, "err\n");
}

TEST(EngineStreams, FollowedLogsEndWhenTheContainerIsKilled) {
  auto client = engine();
  Box box(client, {"sh", "-c", "echo started; sleep 60"});
  dind::LogsOptions o;
  o.follow = true;
  auto logs = dind::ContainerStreams(client).logs(box.id, o);
  dind::OutputChunk c;
  ASSERT_TRUE(logs.next(c));
  EXPECT_EQ(c.data, "started\n");
  client.request("POST", "/containers/" + box.id + "/kill");
  const auto t0 = std::chrono::steady_clock::now();
  while (logs.next(c)) {
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
}

TEST(EngineStreams, AttachWithStdinAndHalfClose) {
  auto client = engine();
  Box box(client, {"cat"}, false, true, false);
  dind::AttachOptions o;
  o.stdin_stream = true;
  auto io = dind::ContainerStreams(client).attach(box.id, o);
  box.start();
  io.write("hello\n");
  io.close_write();
  auto [out, err] = io.read_all_split();
  EXPECT_EQ(out, "hello\n");
  EXPECT_EQ(err, "");
  auto st = nlohmann::json::parse(client.request("GET", "/containers/" + box.id + "/json").body);
  EXPECT_FALSE(st["State"]["Running"].get<bool>());  // cat saw EOF and exited: the stream ended with it
}

TEST(EngineStreams, EventsSeeCreateStartDie) {
  auto client = engine();
  const std::string label = "dind.p2.events=" + std::to_string(::getpid());
  dind::EventsOptions eo;
  eo.filters = {{"type", {"container"}}, {"label", {label}}};
  auto events = dind::Events(client).stream(eo);
  nlohmann::json body = {{"Image", "busybox:latest"},
                         {"Cmd", {"true"}},
                         {"Labels", {{"dind.session", kSession}, {"dind.p2.events", std::to_string(::getpid())}}}};
  auto id = nlohmann::json::parse(client.request("POST", "/containers/create", {}, dind::Body::json(body)).body)["Id"]
                .get<std::string>();
  client.request("POST", "/containers/" + id + "/start");
  std::vector<std::string> actions;
  nlohmann::json ev;
  while (events.next(ev)) {
    EXPECT_EQ(ev["id"], id);
    actions.push_back(ev["Action"].get<std::string>());
    if (actions.back() == "die") break;
  }
  events.close();
  client.request("DELETE", "/containers/" + id, {{"force", "1"}, {"v", "1"}});
  ASSERT_GE(actions.size(), 3u);
  EXPECT_EQ(actions[0], "create");
  EXPECT_NE(std::find(actions.begin(), actions.end(), "start"), actions.end());
  EXPECT_EQ(actions.back(), "die");
}

TEST(EngineStreams, StatsOneShotAndStream) {
  auto client = engine();
  Box box(client, {"sleep", "60"});
  dind::ContainerStreams streams(client);
  auto once = streams.stats_once(box.id, true);
  EXPECT_TRUE(once.contains("memory_stats"));
  auto s = streams.stats(box.id);
  nlohmann::json a, b;
  ASSERT_TRUE(s.next(a));
  ASSERT_TRUE(s.next(b));
  EXPECT_TRUE(b.contains("cpu_stats"));
  s.close();
}
