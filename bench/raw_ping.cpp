// The raw floor for ping latency: plain POSIX sockets, one kept-alive connection, a hand-written request and the
// least parsing that finds the end of the response. No library of ours is used. Prints the median in microseconds.
//   raw_ping [count] [socket path]
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Reads one response; returns false on error. Assumes Content-Length framing (what /_ping sends).
bool read_response(int fd) {
  std::string buf;
  char tmp[4096];
  std::size_t body_start = std::string::npos, length = 0;
  for (;;) {
    ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
    if (body_start == std::string::npos) {
      std::size_t e = buf.find("\r\n\r\n");
      if (e == std::string::npos) continue;
      body_start = e + 4;
      const char* cl = strcasestr(buf.c_str(), "\r\nContent-Length:");
      length = cl ? std::strtoul(cl + 17, nullptr, 10) : 0;
    }
    if (buf.size() >= body_start + length) return true;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 2000;
  const char* path = argc > 2 ? argv[2] : "/var/run/docker.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror(path);
    return 1;
  }
  static const char req[] = "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n";
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count + 50; ++i) {  // the first 50 warm up
    auto t0 = std::chrono::steady_clock::now();
    if (::write(fd, req, sizeof req - 1) != static_cast<ssize_t>(sizeof req - 1) || !read_response(fd)) {
      std::fprintf(stderr, "raw_ping: request %d on %s failed\n", i, path);
      return 1;
    }
    auto dt = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    if (i >= 50) us.push_back(dt);
  }
  std::nth_element(us.begin(), us.begin() + static_cast<long>(us.size() / 2), us.end());
  std::printf("%.1f\n", us[us.size() / 2]);
  ::close(fd);
  return 0;
}
