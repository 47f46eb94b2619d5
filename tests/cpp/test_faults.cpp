// Faults: the pool when every idle connection is dead, a TLS port whose daemon is gone, and descriptors
// over many calls on one client against the real engine. The engine restart, streams whose daemon dies and the
// dind-level faults are in tests/python/test_faults.py (they need a private dockerd and dind containers).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <dind/dind.hpp>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fake_server.hpp"

namespace {

std::size_t fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return {};
  }
  ADD_FAILURE() << "no exception";
  return {};
}

// Runs fn(i) on n threads released together.
template <class F>
void concurrently(int n, F&& fn) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < n) std::this_thread::yield();
      fn(i);
    });
  for (auto& t : threads) t.join();
}

const char* kOk = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK";

}  // namespace

// Each connection answers one request, then closes when the next one arrives: a pool full of connections that look
// alive while idle (nothing readable) but die as soon as they are reused — the keep-alive race, everywhere at once.
TEST(Faults, RetryTakesAFreshConnectionWhenEveryIdleOneIsDead) {
  constexpr int kPooled = 4;
  std::atomic<int> answered{0};
  FakeServer server([&](int fd) {
    if (read_request(fd).empty()) return;
    if (answered++ < kPooled) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // overlap: N conns
    send_all(fd, kOk);
    read_request(fd);  // the reuse: closed without an answer
  });
  dind::ClientConfig cfg = dind::ClientConfig::from_url(server.url());
  cfg.version = "1.41";
  cfg.timeout = std::chrono::seconds(20);
  dind::Client client(cfg);

  concurrently(kPooled, [&](int) { EXPECT_EQ(client.ping(), "OK"); });
  ASSERT_EQ(client.idle_connections(), static_cast<std::size_t>(kPooled));
  ASSERT_EQ(server.accepted.load(), kPooled);

  // GET: the reused connection dies before any answer, and the one retry goes out on a new connection (another
  // idle one would be just as dead). Every call succeeds and costs exactly one new connection.
  for (int i = 0; i < 2 * kPooled; ++i) EXPECT_EQ(client.ping(), "OK") << "call " << i;
  EXPECT_EQ(server.accepted.load(), 3 * kPooled);

  // A POST is never retried (it may have had an effect): the failure is a ConnectionError naming the socket.
  std::string m = message_of<dind::ConnectionError>([&] { client.request("POST", "/containers/x/start"); });
  EXPECT_NE(m.find(server.path()), std::string::npos) << m;
}

// A published port whose daemon is gone: docker-proxy accepts, then drops the connection without a byte. That is a
// connection failure naming the address, not a verdict on our certificate.
TEST(Faults, TlsPortThatDropsEveryConnectionIsAConnectionError) {
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd, 16), 0);
  socklen_t len = sizeof a;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  std::atomic<bool> stop{false};
  std::atomic<int> dropped{0};
  std::thread acceptor([&] {
    while (!stop) {
      pollfd p{lfd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept(lfd, nullptr, nullptr);
      if (fd < 0) continue;
      if (dropped++ % 2) {  // every other one with a reset, like a proxy whose backend refused
        linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      }
      ::close(fd);
    }
  });

  const dind::CertBundle pki = dind::CertBundle::make();
  auto tls = dind::TlsConfig::from_pem(pki.ca_cert(), pki.client_cert(), pki.client_key());
  dind::ClientConfig cfg = dind::ClientConfig::from_url("https://127.0.0.1:" + std::to_string(port), tls);
  cfg.version = "1.41";
  cfg.timeout = std::chrono::seconds(10);
  dind::Client client(cfg);
  for (int i = 0; i < 4; ++i) {
    std::string m = message_of<dind::ConnectionError>([&] { client.ping(); });
    EXPECT_NE(m.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << m;
    // A reset may already surface at connect; a plain close always reaches the handshake.
    if (i % 2 == 0) EXPECT_NE(m.find("before any TLS answer"), std::string::npos) << m;
  }
  stop = true;
  acceptor.join();
  ::close(lfd);
}

// 1,000 sequential and 4x250 concurrent calls on one client against the real engine: no error, no descriptor
// growth beyond the pool's bound, and every descriptor released with the client.
TEST(Faults, ManyCallsLeakNoDescriptors) {
  constexpr std::size_t kMaxIdle = 8;
  constexpr std::size_t kFdsPerConnection = 4;  // socket + its io_context's epoll, eventfd and timerfd
  auto make = [] {
    dind::ClientConfig cfg = dind::ClientConfig::from_url("unix:///var/run/docker.sock");
    cfg.max_idle = kMaxIdle;
    return dind::Client(cfg);
  };
  make().ping();
  const std::size_t baseline = fd_count();
  std::size_t before = 0, after_sequential = 0, after_concurrent = 0, idle = 0;
  std::atomic<int> errors{0};
  double seq_s = 0, conc_s = 0;
  {
    dind::Client client = make();
    auto call = [&](int i) {
      try {
        switch (i % 3) {
          case 0: client.ping(); break;
          case 1: client.version(); break;
          default: client.request("GET", "/containers/json", {{"filters", R"({"label":["dind.none"]})"}});
        }
      } catch (const dind::Error& e) {
        if (errors++ == 0) ADD_FAILURE() << e.what();
      }
    };
    call(0);
    before = fd_count();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 1000; ++i) call(i);
    seq_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    after_sequential = fd_count();
    t0 = std::chrono::steady_clock::now();
    concurrently(4, [&](int k) {
      for (int i = 0; i < 250; ++i) call(i + k);
    });
    conc_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    after_concurrent = fd_count();
    idle = client.idle_connections();
  }
  const std::size_t after_close = fd_count();
  std::printf(
      "fds: %zu without the client, %zu after its first call, %zu after 1000 sequential calls (%.2f s), "
      "%zu after 4x250 concurrent (%.2f s, %zu idle connections), %zu once the client is gone\n",
      baseline, before, after_sequential, seq_s, after_concurrent, conc_s, idle, after_close);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_LE(after_sequential, before);
  EXPECT_LE(idle, kMaxIdle);
  EXPECT_LE(after_concurrent, before + kFdsPerConnection * kMaxIdle);
  EXPECT_LE(after_close, baseline);
}
