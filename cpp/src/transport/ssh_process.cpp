#include "transport/ssh_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "dind/errors.hpp"

namespace dind::detail {

namespace {

[[noreturn]] void fail_spawn(const Endpoint& ep, const char* step, int err) {
  throw ConnectionError("cannot connect to " + ep.url() + ": " + step + " failed: " + std::strerror(err));
}

// ssh's command line for `ep`, with its own connect timeout within ours (the docker CLI uses 30 s).
std::vector<std::string> ssh_args(const Endpoint& ep, Clock::time_point deadline) {
  long secs = 30;
  if (deadline != kNoDeadline) {
    secs = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()).count() + 1;
    secs = std::max(1L, std::min(secs, 30L));
  }
  std::vector<std::string> args = {"ssh", "-o", "ConnectTimeout=" + std::to_string(secs), "-T"};
  if (!ep.user.empty()) args.insert(args.end(), {"-l", ep.user});
  if (ep.port) args.insert(args.end(), {"-p", std::to_string(ep.port)});
  args.insert(args.end(), {"--", ep.host, "docker", "system", "dial-stdio"});
  return args;
}

// posix_spawnp(ssh) with stdin and stdout on `io`, stderr on `err`; returns posix_spawnp's result.
int spawn_ssh(pid_t* pid, std::vector<std::string>& args, int io, int err) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, io, 0);
  posix_spawn_file_actions_adddup2(&fa, io, 1);
  posix_spawn_file_actions_adddup2(&fa, err, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group: a Ctrl-C at the terminal is ours to handle (we still need the engine to clean up).
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, dfl;
  sigemptyset(&none);
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  sigaddset(&dfl, SIGINT);
  sigaddset(&dfl, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &dfl);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const int rc = ::posix_spawnp(pid, "ssh", &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc;
}

// The last two non-empty lines, joined: ssh puts the reason last ("Connection refused", "Permission denied").
std::string last_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) lines.push_back(line);
    pos = nl + 1;
  }
  if (lines.size() > 2) lines.erase(lines.begin(), lines.end() - 2);
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : " / ") + l;
  return out;
}

}  // namespace

int SshProcess::spawn(const Endpoint& ep, Clock::time_point deadline) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) fail_spawn(ep, "socketpair", errno);
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(pair[0]);
    ::close(pair[1]);
    fail_spawn(ep, "pipe", e);
  }
  std::vector<std::string> args = ssh_args(ep, deadline);
  const int rc = spawn_ssh(&pid_, args, pair[1], err[1]);
  ::close(pair[1]);
  ::close(err[1]);
  if (rc != 0) {
    pid_ = -1;
    ::close(pair[0]);
    ::close(err[0]);
    if (rc == ENOENT) throw ConnectionError("cannot connect to " + ep.url() + ": no ssh client on PATH");
    fail_spawn(ep, "starting ssh", rc);
  }
  err_fd_ = err[0];
  ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  return pair[0];
}

SshProcess::~SshProcess() {
  if (err_fd_ >= 0) ::close(err_fd_);
  if (pid_ <= 0 || reaped_) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string SshProcess::diagnosis(Clock::duration wait) {
  const auto until = Clock::now() + wait;
  while (!reaped_ && Clock::now() < until) {
    drain();
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      reaped_ = true;
      status_ = r == pid_ ? status : -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  drain();
  std::string out;
  if (reaped_ && status_ >= 0 && WIFEXITED(status_))
    out = "ssh exited with status " + std::to_string(WEXITSTATUS(status_));
  else if (reaped_ && status_ >= 0 && WIFSIGNALED(status_))
    out = "ssh was killed by signal " + std::to_string(WTERMSIG(status_));
  const std::string said = last_lines(stderr_);
  if (!said.empty()) out += (out.empty() ? "" : ": ") + said;
  return out.empty() ? "ssh said nothing" : out;
}

void SshProcess::drain() {
  char buf[1024];
  for (;;) {
    const ssize_t n = ::read(err_fd_, buf, sizeof buf);
    if (n <= 0) return;
    stderr_.append(buf, static_cast<std::size_t>(n));
    if (stderr_.size() > 4096) stderr_.erase(0, stderr_.size() - 4096);
  }
}

}  // namespace dind::detail
