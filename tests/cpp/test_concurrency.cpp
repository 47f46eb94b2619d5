// One Client (and one Pool) used from several threads at once, against the real engine and a real dind daemon over
// mutual TLS. Written for the ThreadSanitizer preset (CMakePresets.json "tsan"), and a plain test in every build:
// each test checks results, not timings.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dind/client.hpp"
#include "dind/daemon.hpp"
#include "dind/demux.hpp"
#include "dind/errors.hpp"
#include "dind/events.hpp"
#include "dind/forwarder.hpp"
#include "dind/pool.hpp"
#include "dind/private_dir.hpp"

using namespace std::chrono_literals;

namespace {

const std::string kSock = "unix:///var/run/docker.sock";
const std::string kSession = "test-concurrency-" + std::to_string(::getpid());

dind::Client engine(std::size_t max_idle = 8) {
  auto cfg = dind::ClientConfig::from_url(kSock);
  cfg.max_idle = max_idle;
  return dind::Client(cfg);
}

// Runs `body(i)` on `n` threads started together; rethrows nothing (failures are gtest expectations).
template <class F>
void on_threads(int n, F body) {
  std::atomic<int> ready{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < n; ++i)
    ts.emplace_back([&, i] {
      ++ready;
      while (ready.load() < n) std::this_thread::yield();
      body(i);
    });
  for (auto& t : ts) t.join();
}

// A busybox container with the session label, removed with its volumes at the end of the test.
class Box {
 public:
  Box(dind::Client client, std::vector<std::string> cmd) : client_(std::move(client)) {
    nlohmann::json body = {{"Image", "busybox:latest"},
                           {"Cmd", cmd},
                           {"OpenStdin", true},
                           {"AttachStdin", true},
                           {"Labels", {{"dind.session", kSession}}}};
    auto r = client_.request("POST", "/containers/create", {}, dind::Body::json(body));
    id = nlohmann::json::parse(r.body)["Id"].get<std::string>();
    client_.request("POST", "/containers/" + id + "/start");
  }
  ~Box() {
    try {
      client_.request("DELETE", "/containers/" + id, {{"force", "1"}, {"v", "1"}});
    } catch (...) {
    }
  }
  std::string id;

 private:
  dind::Client client_;
};

}  // namespace

// The first calls on a fresh client race to negotiate the API version: all succeed and agree on one version.
TEST(Concurrency, FirstCallsNegotiateTheVersionOnce) {
  auto c = engine();
  std::vector<std::string> seen(4);
  std::atomic<int> ok{0};
  on_threads(4, [&](int i) {
    auto v = nlohmann::json::parse(c.request("GET", "/version").body);
    if (v.contains("ApiVersion")) ++ok;
    seen[static_cast<std::size_t>(i)] = c.api_version();
  });
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 1u);
  EXPECT_FALSE(seen[0].empty());
}

// Copies made and dropped on other threads share one pool; unary calls, bounded streams and pings interleave, with
// fewer idle slots than threads so connections are both reused and closed.
TEST(Concurrency, CopiesOfOneClientOnManyThreads) {
  auto c = engine(2);
  std::atomic<int> ok{0};
  on_threads(4, [&](int i) {
    for (int j = 0; j < 25; ++j) {
      dind::Client mine = c;  // a copy per iteration: shared Impl, shared pool
      switch ((i + j) % 3) {
        case 0:
          if (mine.ping() == "OK") ++ok;
          break;
        case 1:
          mine.request("GET", "/containers/json", {{"all", "1"}, {"limit", "1"}});
          ++ok;
          break;
        default: {
          const auto now = std::to_string(std::time(nullptr));
          auto r = mine.stream("GET", "/events", {{"since", now}, {"until", now}});
          r.read_all(1 << 20);
          ++ok;
        }
      }
      EXPECT_LE(mine.idle_connections(), 2u);
    }
  });
  EXPECT_EQ(ok.load(), 100);
  EXPECT_LE(c.idle_connections(), 2u);
}

// A stream keeps its connection after every Client copy is gone (destroyed on another thread); when it ends, the
// connection's way back to the pool is gone too, and nothing dangles.
TEST(Concurrency, StreamOutlivesItsClientDestroyedOnAnotherThread) {
  dind::BodyReader reader;
  {
    auto c = engine();
    const auto now = std::to_string(std::time(nullptr));
    reader = c.stream("GET", "/events", {{"since", now}, {"until", std::to_string(std::time(nullptr) + 1)}});
    std::thread([c = std::move(c)]() mutable { dind::Client gone = std::move(c); }).join();
  }
  std::string rest = reader.read_all(1 << 20);  // ends at `until`
  EXPECT_TRUE(reader.done());
}

// Blocked streams (events, attach) closed from another thread while other threads keep using the same client:
// each blocked read ends, and the client goes on working.
TEST(Concurrency, StreamsClosedFromOtherThreadsWhileTheClientIsBusy) {
  auto c = engine();
  Box box(c, {"sh", "-c", "read line; echo $line"});  // silent until stdin says something
  dind::EventsOptions quiet;                          // a label nothing carries: the stream stays silent until closed
  quiet.filters = {{"label", nlohmann::json::array({"dind.session=" + kSession + "-none"})}};
  auto events = dind::Events(c).stream(quiet);
  auto attach = c.upgrade("POST", "/containers/" + box.id + "/attach",
                          {{"stream", "1"}, {"stdout", "1"}, {"stderr", "1"}, {"stdin", "1"}});
  std::atomic<bool> events_ended{false}, attach_ended{false}, stop{false};
  std::atomic<int> pings{0};
  std::thread ev_reader([&] {
    nlohmann::json ev;
    try {
      while (events.next(ev)) {
      }
    } catch (const dind::Error&) {
    }
    events_ended = true;
  });
  std::thread at_reader([&] {
    char buf[256];
    try {
      while (attach.read_some(buf, sizeof buf) > 0) {
      }
    } catch (const dind::Error&) {
    }
    attach_ended = true;
  });
  std::thread pinger([&] {
    while (!stop)
      if (c.ping() == "OK") ++pings;
  });
  while (pings.load() < 20) std::this_thread::sleep_for(10ms);
  events.close();
  attach.close();
  ev_reader.join();
  at_reader.join();
  stop = true;
  pinger.join();
  EXPECT_TRUE(events_ended.load());
  EXPECT_TRUE(attach_ended.load());
  EXPECT_EQ(c.ping(), "OK");
}

// The pool on its own: acquire, release, count and clear from several threads; it never holds more than max_idle.
TEST(Concurrency, PoolAcquireReleaseClearFromManyThreads) {
  dind::Pool::Options o;
  o.max_idle = 2;
  dind::Pool pool(dind::Endpoint::parse(kSock), std::nullopt, o);
  std::atomic<int> reused{0};
  on_threads(4, [&](int i) {
    for (int j = 0; j < 30; ++j) {
      auto lease = pool.acquire(dind::deadline_after(10s));
      if (lease.reused) ++reused;
      EXPECT_TRUE(lease.conn->idle_alive());
      if (i == 0 && j % 10 == 9) pool.clear();
      pool.release(std::move(lease.conn));
      EXPECT_LE(pool.idle_count(), 2u);
    }
  });
  EXPECT_GT(reused.load(), 0);
  EXPECT_LE(pool.idle_count(), 2u);
}

// Mutual TLS to a real dind daemon: one client's connections share one SSL_CTX (CA store, client cert) across
// threads. Each round is a fresh client whose first handshakes all happen at once, the moment OpenSSL fills its
// per-certificate caches.
TEST(Concurrency, TlsClientOfADaemonOnManyThreads) {
  auto outer = engine();
  dind::DaemonOptions o;
  o.image = "dind-offline:latest";
  o.outer = outer;
  o.labels["dind.session"] = kSession;
  o.start_timeout = std::chrono::milliseconds(180000);
  auto d = dind::Daemon::start(o);
  std::atomic<int> ok{0};
  for (int round = 0; round < 5; ++round) {
    auto cfg = d.client().config();
    cfg.max_idle = 2;
    dind::Client c(cfg);  // unpinned: the threads race to negotiate over TLS too
    on_threads(4, [&](int i) {
      for (int j = 0; j < 4; ++j)
        if (((i + j) % 2 ? c.ping() : c.request("GET", "/version").body).size() > 0) ++ok;
    });
    EXPECT_LE(c.idle_connections(), 2u);
  }
  EXPECT_EQ(ok.load(), 80);
  d.remove();
}

// One reader and one writer on one connection at once (what the forwarder does): 4 MiB into `cat` over a hijacked
// attach on one thread while another reads its echo. The lead of the connection's io_context passes between them.
TEST(Concurrency, OneReaderAndOneWriterOnOneConnection) {
  auto c = engine();
  Box box(c, {"cat"});
  auto up = c.upgrade("POST", "/containers/" + box.id + "/attach",
                      {{"stream", "1"}, {"stdin", "1"}, {"stdout", "1"}, {"stderr", "1"}});
  const std::string chunk(64 * 1024, 'z');
  // Not half-closed until all came back: the engine may drop output still in flight when `cat` exits at its EOF.
  std::thread writer([&] {
    for (int i = 0; i < 64; ++i) up.write(chunk.data(), chunk.size(), dind::kNoDeadline);
  });
  std::size_t got = 0;
  char buf[65536];
  // Output is multiplexed (stdout frames): count payload bytes past the 8-byte headers as they come.
  dind::Demuxer demux;
  while (got < 64 * chunk.size()) {
    const std::size_t n = up.read_some(buf, sizeof buf, dind::deadline_after(60s));
    if (n == 0) break;
    demux.feed(buf, n, [&](dind::StdStream, std::string_view payload) { got += payload.size(); });
  }
  writer.join();
  up.close_write();
  EXPECT_EQ(got, 64 * chunk.size());
}

// The forwarder's accept loop and pumps, with clients on several threads and a stop() while streams are open.
TEST(Concurrency, ForwarderWithClientsOnManyThreads) {
  dind::PrivateDir dir("dind-fwd-concurrency-");
  const auto ep = dind::Endpoint::parse(kSock);
  auto f = std::make_unique<dind::Forwarder>(
      dir.file("docker.sock"), [ep](dind::Clock::time_point dl) { return dind::Connection::open(ep, nullptr, dl); },
      "the machine's engine");
  std::atomic<int> ok{0};
  on_threads(4, [&](int) {
    dind::Client c(dind::ClientConfig::from_url(f->url()));
    for (int j = 0; j < 20; ++j)
      if (c.ping() == "OK") ++ok;
  });
  EXPECT_EQ(ok.load(), 80);
  dind::Client c(dind::ClientConfig::from_url(f->url()));
  auto events = c.stream("GET", "/events");
  std::thread reader([&] {
    char buf[256];
    try {
      while (events.read_some(buf, sizeof buf) > 0) {
      }
    } catch (const dind::Error&) {
    }
  });
  std::this_thread::sleep_for(50ms);
  f.reset();  // stops while the stream is open
  reader.join();
}
