#include "dind/forwarder.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "dind/errors.hpp"

namespace dind {
namespace {

constexpr std::size_t kPumpChunk = 64 * 1024;
constexpr auto kDialTimeout = std::chrono::seconds(30);

std::string errno_text(int err) {
  return std::strerror(err);
}

// Writes all of `n` bytes to a socket; false if the peer is gone.
bool send_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

}  // namespace

// One forwarded connection: the accepted socket and the dialled connection, pumped by two threads.
struct Session {
  int client = -1;
  std::mutex mu;                       // guards `remote` against stop() cancelling it
  std::unique_ptr<Connection> remote;  // set once the dial succeeded
  bool stopping = false;               // guarded by mu
  std::thread down, up;                // remote → client (it dials first), client → remote
  std::atomic<int> ended{0};           // pumps that finished; the second closes both ends
  std::atomic<bool> finished{false};

  ~Session() {
    if (client >= 0) ::close(client);
  }

  // Ends both directions from outside: the blocked read of each pump returns.
  void interrupt() noexcept {
    ::shutdown(client, SHUT_RDWR);
    std::lock_guard<std::mutex> lock(mu);
    stopping = true;
    if (remote) remote->cancel();
  }

  void pump_end() noexcept {
    if (ended.fetch_add(1) + 1 < 2) return;
    std::unique_ptr<Connection> r;
    {
      std::lock_guard<std::mutex> lock(mu);
      r = std::move(remote);
    }
    r.reset();
    finished.store(true);
  }

  void join() {
    if (down.joinable()) down.join();
    if (up.joinable()) up.join();
  }
};

struct Forwarder::Impl {
  std::string path, what;
  Dialer dialer;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::thread acceptor;
  std::mutex mu;  // guards sessions and last_error
  std::list<std::shared_ptr<Session>> sessions;
  std::string last_error;
  std::atomic<std::size_t> accepted{0};
  std::atomic<bool> stopped{false};

  void listen_on() {
    if (path.size() >= sizeof(sockaddr_un::sun_path))
      throw Error("serving " + what + " on the unix socket " + path + " failed: the path is longer than " +
                  std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
    listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0) fail("socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind");
    // Owner only. Between bind and chmod the umask's mode applies, which is why the directory must be private.
    if (::chmod(path.c_str(), 0600) != 0) fail("chmod");
    if (::listen(listen_fd, 64) != 0) fail("listen");
    if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) fail("pipe");
  }

  [[noreturn]] void fail(const char* step) {
    const int err = errno;
    if (listen_fd >= 0) ::close(listen_fd);
    listen_fd = -1;
    throw Error("serving " + what + " on the unix socket " + path + " failed: " + step + ": " + errno_text(err));
  }

  void accept_loop() {
    for (;;) {
      pollfd p[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
      const int r = ::poll(p, 2, -1);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 || (p[1].revents & POLLIN) || stopped.load()) return;
      if (!(p[0].revents & POLLIN)) continue;
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      accepted.fetch_add(1);
      auto s = std::make_shared<Session>();
      s->client = fd;
      std::lock_guard<std::mutex> lock(mu);
      reap_finished();
      sessions.push_back(s);
      s->down = std::thread([this, s] { run_session(*s); });
    }
  }

  // The dial, then remote → client on this thread and client → remote on a second one.
  void run_session(Session& s) {
    std::unique_ptr<Connection> r;
    try {
      r = dialer(deadline_after(kDialTimeout));
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mu);
      last_error = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(s.mu);
      if (!r || s.stopping) {
        ::shutdown(s.client, SHUT_RDWR);  // the client sees its connection end
        s.ended.store(1);
        s.pump_end();
        return;
      }
      s.remote = std::move(r);
    }
    Connection& remote = *s.remote;  // stays until both pumps ended (pump_end)
    s.up = std::thread([&s, &remote] {
      char buf[kPumpChunk];
      try {
        for (;;) {
          const ssize_t n = ::read(s.client, buf, sizeof buf);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) {
            if (n == 0) remote.shutdown_send();  // the client half-closed: so does the far end
            break;
          }
          remote.write(buf, static_cast<std::size_t>(n), kNoDeadline);
        }
      } catch (const std::exception&) {
        s.interrupt();
      }
      s.pump_end();
    });
    char buf[kPumpChunk];
    try {
      for (;;) {
        const std::size_t n = remote.read_some(buf, sizeof buf, kNoDeadline);
        if (n == 0) {
          ::shutdown(s.client, SHUT_WR);
          break;
        }
        if (!send_all(s.client, buf, n)) {
          s.interrupt();
          break;
        }
      }
    } catch (const std::exception&) {
      s.interrupt();
    }
    s.pump_end();
  }

  // Joins the threads of sessions whose pumps both ended (call with mu held).
  void reap_finished() {
    for (auto it = sessions.begin(); it != sessions.end();) {
      if ((*it)->finished.load()) {
        (*it)->join();
        it = sessions.erase(it);
      } else {
        ++it;
      }
    }
  }

  void stop() noexcept {
    if (stopped.exchange(true)) return;
    if (wake[1] >= 0) (void)!::write(wake[1], "x", 1);
    if (acceptor.joinable()) acceptor.join();
    std::list<std::shared_ptr<Session>> all;
    {
      std::lock_guard<std::mutex> lock(mu);
      all.swap(sessions);
    }
    for (auto& s : all) s->interrupt();
    for (auto& s : all) s->join();
    if (listen_fd >= 0) ::close(listen_fd);
    listen_fd = -1;
    for (int& fd : wake) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
    ::unlink(path.c_str());
  }
};

Forwarder::Forwarder(std::string socket_path, Dialer dialer, std::string what) : impl_(std::make_unique<Impl>()) {
  impl_->path = std::move(socket_path);
  impl_->dialer = std::move(dialer);
  impl_->what = std::move(what);
  impl_->listen_on();
  Impl* m = impl_.get();
  impl_->acceptor = std::thread([m] { m->accept_loop(); });
}

Forwarder::~Forwarder() {
  stop();
}
Forwarder::Forwarder(Forwarder&&) noexcept = default;
Forwarder& Forwarder::operator=(Forwarder&& other) noexcept {
  if (this != &other) {
    stop();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

void Forwarder::stop() noexcept {
  if (impl_) impl_->stop();
}

void Forwarder::wait() {
  while (impl_ && !impl_->stopped.load()) {
    struct stat st {};
    if (::stat(impl_->path.c_str(), &st) != 0) break;  // removed (its directory went with the daemon)
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  stop();
}

const std::string& Forwarder::path() const noexcept {
  static const std::string none;
  return impl_ ? impl_->path : none;
}
std::string Forwarder::url() const {
  return "unix://" + path();
}
std::size_t Forwarder::accepted() const noexcept {
  return impl_ ? impl_->accepted.load() : 0;
}
std::string Forwarder::last_error() const {
  if (!impl_) return {};
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->last_error;
}

}  // namespace dind
