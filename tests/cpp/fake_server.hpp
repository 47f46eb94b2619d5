// A tiny fake Engine API server for what no real engine can be made to do (malformed frames, drops, slow drips):
// shared by the C++ tests. Unix socket only; one thread per connection.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// Accepts on a fresh unix socket; runs `handler(fd)` on its own thread for each connection.
class FakeServer {
 public:
  explicit FakeServer(std::function<void(int)> handler) : handler_(std::move(handler)) {
    static std::atomic<int> counter{0};
    path_ = "/tmp/dind-fake-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".sock";
    ::unlink(path_.c_str());
    lfd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
    if (::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd_, 16) != 0)
      throw std::runtime_error("fake server: cannot listen on " + path_);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{lfd_, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        int fd = ::accept(lfd_, nullptr, nullptr);
        if (fd < 0) continue;
        ++accepted;
        std::lock_guard<std::mutex> lock(mu_);
        conns_.emplace_back([this, fd] {
          handler_(fd);
          ::close(fd);
        });
      }
    });
  }
  ~FakeServer() {
    stop_ = true;
    thread_.join();
    for (auto& t : conns_) t.join();
    ::close(lfd_);
    ::unlink(path_.c_str());
  }
  std::string url() const { return "unix://" + path_; }
  const std::string& path() const { return path_; }
  std::atomic<int> accepted{0};

 private:
  std::function<void(int)> handler_;
  std::string path_;
  int lfd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
};

inline void send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

// Reads one request head (and a Content-Length or chunked body). Empty at EOF.
inline std::string read_request(int fd, std::string* body = nullptr) {
  std::string data;
  char c[4096];
  while (data.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, c, sizeof c, 0);
    if (n <= 0) return {};
    data.append(c, static_cast<std::size_t>(n));
  }
  auto end = data.find("\r\n\r\n") + 4;
  std::string head = data.substr(0, end), rest = data.substr(end);
  if (head.find("Transfer-Encoding: chunked") != std::string::npos) {
    while (rest.size() < 5 || rest.compare(rest.size() - 5, 5, "0\r\n\r\n") != 0) {
      ssize_t n = ::recv(fd, c, sizeof c, 0);
      if (n <= 0) break;
      rest.append(c, static_cast<std::size_t>(n));
    }
  } else if (auto p = head.find("Content-Length: "); p != std::string::npos) {
    std::size_t len = std::stoul(head.substr(p + 16));
    while (rest.size() < len) {
      ssize_t n = ::recv(fd, c, sizeof c, 0);
      if (n <= 0) break;
      rest.append(c, static_cast<std::size_t>(n));
    }
  }
  if (body) *body = rest;
  return head;
}
