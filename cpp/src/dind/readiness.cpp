#include "readiness.hpp"

#include <thread>

#include "dind/containers.hpp"
#include "dind/tunnel.hpp"

namespace dind::detail {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often the container's state (and, once it is up, its log) is looked at while the ping fails.
constexpr milliseconds kStateEvery{250};
// dockerd logs "API listen on" as it binds. A refusal (or a proxy closing the connection) that goes on this long
// after that means the address does not lead here; a timeout is weaker evidence (a loaded machine), so it takes
// longer.
constexpr milliseconds kRefusedGrace{1500};
constexpr milliseconds kTimeoutGrace{10000};

// The log line dockerd writes once it listens on `port` ("API listen on [::]:2376"), if the tail has it.
std::string listening_line(const std::string& log, const std::string& port) {
  const std::string number = ":" + port.substr(0, port.find('/'));
  std::size_t pos = 0;
  while ((pos = log.find("API listen on", pos)) != std::string::npos) {
    const std::size_t end = log.find('\n', pos);
    const std::string line = log.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (line.find(number) != std::string::npos) {
      const std::size_t quote = line.find('"');
      return quote == std::string::npos ? line : line.substr(0, quote);
    }
    pos += 13;
  }
  return {};
}

}  // namespace

void wait_until_ready(const ReadyWait& w, Client& probe, Reach& reach, bool fallback_to_tunnel,
                      const std::function<Client()>& make_tunnel) {
  Containers containers(w.outer);
  const auto started = SteadyClock::now();
  auto next_state_check = started;
  std::optional<SteadyClock::time_point> listening_since;
  std::string listen_line;
  auto pause = milliseconds(5);
  std::string last_error = "no answer yet";
  bool last_timed_out = false;
  for (;;) {
    w.check_cancel("while waiting for its daemon to answer");
    try {
      if (probe.ping() == "OK") return;
    } catch (const Error& e) {
      last_error = e.what();
      last_timed_out = dynamic_cast<const TimeoutError*>(&e) != nullptr;
      if (last_error.find(kTunnelNeedsCli) != std::string::npos)
        throw DaemonStartError(w.what + ": the daemon cannot be reached through the tunnel: " + last_error,
                               w.log_tail());
    }
    const auto now = SteadyClock::now();
    if (now >= next_state_check) {
      // Gate 1: the container runs. If it exited, waiting longer cannot help.
      const nlohmann::json state = containers.inspect(w.id)["State"];
      if (!state.value("Running", false)) {
        throw DaemonStartError(w.what + " exited (code " + std::to_string(state.value("ExitCode", -1)) +
                                   ") before its daemon answered on " + reach.address,
                               w.log_tail());
      }
      // Listening but not answering here: an address this process cannot reach, not a slow daemon.
      if (!listening_since && reach.kind != ReachKind::tunnel) {
        listen_line = listening_line(w.log_tail(), w.port);
        if (!listen_line.empty()) listening_since = now;
      }
      if (listening_since && now - *listening_since >= (last_timed_out ? kTimeoutGrace : kRefusedGrace)) {
        const std::string refused = reach.address + " does not answer from here (" + last_error + ") although " +
                                    "the daemon listens (its log: \"" + listen_line + "\")";
        if (!fallback_to_tunnel)
          throw DaemonStartError(w.what + ": " + refused + ". The reach '" + to_string(reach.kind) +
                                     "' was used because " + reach.reason +
                                     ". Set DIND_HOST (host=) to an address of the engine's host that reaches its "
                                     "published ports from here, or use reach='tunnel'",
                                 w.log_tail());
        probe = make_tunnel();
        reach.kind = ReachKind::tunnel;
        reach.address = probe.host();
        reach.reason += "; but " + refused + ", so it is reached through the engine's API instead (tunnel)";
        listening_since.reset();
        fallback_to_tunnel = false;
        pause = milliseconds(5);
        continue;
      }
      next_state_check = now + kStateEvery;
    }
    if (now >= w.deadline) {
      throw DaemonStartError(w.what + ": the daemon did not answer GET /_ping on " + reach.address + " within " +
                                 std::to_string(w.timeout.count()) + " ms; last error: " + last_error,
                             w.log_tail());
    }
    std::this_thread::sleep_for(std::min<SteadyClock::duration>(pause, w.deadline - now));
    pause = std::min(pause * 2, milliseconds(50));
  }
}

}  // namespace dind::detail
