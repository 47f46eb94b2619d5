// The ways this process reaches a published port (dind/wait.hpp): directly, or from inside a container by an exec.
#include <chrono>
#include <memory>
#include <utility>

#include "dind/connection.hpp"
#include "dind/exec.hpp"
#include "dind/wait.hpp"

namespace dind {
namespace {

// How long a fresh connection must stay up to count as open. A userland proxy (docker-proxy) accepts on the
// published port whether or not the container listens yet, dials the container, and closes at once if that fails;
// a listening server holds the connection (or sends a greeting) far longer than this.
constexpr auto kSettle = std::chrono::milliseconds(100);

class DirectReach final : public PortReach {
 public:
  explicit DirectReach(std::string host) : host_(std::move(host)) {}

  bool open(std::uint16_t port, Clock::time_point deadline) const override {
    std::unique_ptr<Connection> c;
    try {
      c = Connection::open(endpoint(port), nullptr, deadline);
    } catch (const Error&) {
      return false;
    }
    // Its own deadline: a connection made just before `deadline` still gets the whole of kSettle.
    try {
      char byte;
      return c->read_some(&byte, 1, Clock::now() + kSettle) > 0;  // a greeting: open; 0 bytes: closed at once
    } catch (const TimeoutError&) {
      return true;  // still up after kSettle
    } catch (const Error&) {
      return false;  // reset
    }
  }

  std::string exchange(std::uint16_t port, const std::string& request, Clock::time_point deadline) const override {
    auto c = Connection::open(endpoint(port), nullptr, deadline);
    c->write(request.data(), request.size(), deadline);
    std::string got;
    char buf[4096];
    try {
      while (std::size_t n = c->read_some(buf, sizeof buf, deadline)) got.append(buf, n);
    } catch (const TimeoutError&) {  // what came so far is the answer
    } catch (const ConnectionError&) {
      if (got.empty()) throw;
    }
    return got;
  }

  std::string describe() const override { return "at " + host_; }

 private:
  Endpoint endpoint(std::uint16_t port) const {
    const bool v6 = host_.find(':') != std::string::npos;
    return Endpoint::parse("tcp://" + (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port));
  }
  std::string host_;
};

// Runs in the container with $1 = open|send, $2 = the port. The offline image (Debian) has bash and its /dev/tcp;
// docker:dind (Alpine) has busybox's nc and timeout. Exit 0: connected (send: the answer on stdout).
constexpr const char* kProbeScript = R"sh(
if command -v bash >/dev/null 2>&1; then
  # open: connected, and not closed at once (read: 0 a byte came, >128 still up after 0.1 s; 1 closed: a proxy's
  # accept for a container that does not listen yet, see kSettle).
  [ "$1" = open ] && exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0 || exit 1; read -r -t 0.1 -n 1 <&3; r=$?
    [ "$r" = 0 ] || [ "$r" -gt 128 ]' "$2" 2>/dev/null
  exec timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0 || exit 111; cat >&3; cat <&3' "$2" 2>/dev/null
fi
if [ "$1" = open ]; then
  # busybox nc quits when the peer closes (not open, as above); still connected when timeout stops it (>= 124).
  # Its stdin stays open (sleep) so that it does not half-close, which some servers answer by closing.
  sleep 1 | timeout 1 nc 127.0.0.1 "$2" >/dev/null 2>&1
  r=$?; [ "$r" -ge 124 ]; exit $?
fi
timeout 5 nc 127.0.0.1 "$2"
)sh";

class ExecReach final : public PortReach {
 public:
  ExecReach(Client outer, std::string id, std::string name)
      : outer_(std::move(outer)), id_(std::move(id)), name_(std::move(name)) {}

  bool open(std::uint16_t port, Clock::time_point) const override { return run("open", port, std::nullopt).first; }

  std::string exchange(std::uint16_t port, const std::string& request, Clock::time_point) const override {
    auto [ok, out] = run("send", port, request);
    if (!ok && out.empty())
      throw ConnectionError("connecting to 127.0.0.1:" + std::to_string(port) + " " + describe() + " failed");
    return out;
  }

  std::string describe() const override {
    return "through an exec in dind container " + name_ + " on " + outer_.host();
  }

 private:
  std::pair<bool, std::string> run(const char* mode, std::uint16_t port,
                                   const std::optional<std::string>& input) const {
    ExecConfig cfg;
    cfg.cmd = {"sh", "-c", kProbeScript, "probe", mode, std::to_string(port)};
    cfg.attach_stdin = input.has_value();
    try {
      ExecResult r = Exec(outer_).run(id_, cfg, input);
      return {r.exit_code == 0, r.out};
    } catch (...) {
      rethrow_doing("probing port " + std::to_string(port) + " " + describe());
    }
  }

  Client outer_;
  std::string id_, name_;
};

}  // namespace

std::shared_ptr<const PortReach> direct_port_reach(std::string host) {
  return std::make_shared<DirectReach>(std::move(host));
}

std::shared_ptr<const PortReach> exec_port_reach(Client outer, std::string id, std::string name) {
  return std::make_shared<ExecReach>(std::move(outer), std::move(id), std::move(name));
}

std::shared_ptr<const PortReach> port_reach_of(const Client& client) {
  const ClientConfig& c = client.config();
  if (c.ports) return c.ports;
  const Endpoint& ep = c.endpoint;
  return direct_port_reach(ep.is_tcp() || ep.kind == Endpoint::Kind::Ssh ? ep.host : "127.0.0.1");
}

}  // namespace dind
