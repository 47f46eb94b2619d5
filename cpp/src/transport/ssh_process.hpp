// Private to the transport layer: the ssh client behind an ssh:// connection (cpp/src/transport/connection.cpp).
#pragma once

#include <sys/types.h>

#include <string>

#include "dind/connection.hpp"

namespace dind::detail {

// The child process `ssh ... HOST docker system dial-stdio` (the docker CLI's way to an engine over ssh): its stdin
// and stdout are the other end of a socketpair, its stderr is kept (the last few KiB) for error messages. Ended
// (SIGTERM) and reaped with the object.
class SshProcess {
 public:
  SshProcess() = default;
  SshProcess(const SshProcess&) = delete;
  SshProcess& operator=(const SshProcess&) = delete;
  ~SshProcess();

  // Starts ssh for `ep`; returns our end of the socketpair. Throws ConnectionError naming the endpoint.
  int spawn(const Endpoint& ep, Clock::time_point deadline);

  // Why the stream ended: "ssh exited with status 255: ssh: connect to host ... Connection refused". Waits up to
  // `wait` for ssh to exit (it does right after the stream ends) so that its last words are there.
  std::string diagnosis(Clock::duration wait);

 private:
  // Reads what ssh wrote on stderr so far.
  void drain();

  pid_t pid_ = -1;
  int err_fd_ = -1;
  bool reaped_ = false;
  int status_ = -1;
  std::string stderr_;
};

}  // namespace dind::detail
