#include "dind/tunnel.hpp"

#include <atomic>
#include <cstring>

#include "api/routes.hpp"
#include "dind/demux.hpp"
#include "dind/exec.hpp"

namespace dind {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kStderrKept = 2048;

// One tunnelled connection: writes go to the exec's stdin as they are; reads demultiplex its output.
DemuxOptions demux_options(const Endpoint& ep, const std::string& via) {
  DemuxOptions o;
  o.whole_frames = false;  // a byte stream: frame boundaries mean nothing here
  o.context = "the tunnel to " + ep.url() + " (" + via + ")";
  return o;
}

class TunnelConnection final : public Connection {
 public:
  TunnelConnection(UpgradedStream stream, Endpoint endpoint, std::string via)
      : stream_(std::move(stream)), ep_(std::move(endpoint)), via_(std::move(via)), demux_(demux_options(ep_, via_)) {}

  std::size_t read_some(void* buf, std::size_t n, Clock::time_point deadline, const std::string& what) override {
    const std::string& w = what.empty() ? default_what("reading from") : what;
    while (pending_.size() == pending_pos_) {
      pending_.clear();
      pending_pos_ = 0;
      char chunk[kReadChunk];
      std::size_t got = 0;
      try {
        got = stream_.read_some(chunk, sizeof chunk, deadline);
      } catch (const TimeoutError& e) {
        broken_ = true;
        throw TimeoutError(w + ": " + e.what());
      } catch (const Error& e) {
        broken_ = true;
        if (cancelled()) throw ConnectionError(w + ": the connection was closed");
        throw ConnectionError(w + " through " + via_ + ": " + e.what());
      }
      if (got == 0) {
        demux_.finish();
        if (!got_bytes_ && !said_.empty()) {
          broken_ = true;
          throw ConnectionError(w + ": the tunnel ended before any answer; docker system dial-stdio in container " +
                                ep_.host + " said: " + said());
        }
        return 0;
      }
      demux_.feed(chunk, got, [this](StdStream s, std::string_view payload) {
        if (s == StdStream::err) {
          said_.append(payload);
          if (said_.size() > kStderrKept) said_.erase(0, said_.size() - kStderrKept);
        } else {
          pending_.append(payload);
        }
      });
    }
    // The engine reports an exec it could not start as text on stdout, then ends the stream.
    if (!got_bytes_ && pending_pos_ == 0 && pending_.rfind("OCI runtime exec failed", 0) == 0) {
      broken_ = true;
      std::string m = pending_.substr(0, 300);
      while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.pop_back();
      throw ConnectionError(w + ": could not run docker system dial-stdio in container " + ep_.host + " (" + m + "); " +
                            kTunnelNeedsCli + " (the dind images have one)");
    }
    const std::size_t k = std::min(n, pending_.size() - pending_pos_);
    std::memcpy(buf, pending_.data() + pending_pos_, k);
    pending_pos_ += k;
    got_bytes_ = true;
    last_used_ = Clock::now();
    return k;
  }

  void write(const void* buf, std::size_t n, Clock::time_point deadline, const std::string& what) override {
    try {
      stream_.write(static_cast<const char*>(buf), n, deadline);
    } catch (const TimeoutError& e) {
      broken_ = true;
      throw TimeoutError((what.empty() ? default_what("writing to") : what) + ": " + e.what());
    } catch (const Error& e) {
      broken_ = true;
      if (cancelled()) throw ConnectionError((what.empty() ? default_what("writing to") : what) + ": closed");
      throw ConnectionError((what.empty() ? default_what("writing to") : what) + " through " + via_ + ": " + e.what());
    }
    last_used_ = Clock::now();
  }

  void shutdown_send() override {
    broken_ = true;
    stream_.close_write();
  }
  void cancel() noexcept override {
    cancelled_.store(true);
    stream_.close();
  }
  bool cancelled() const noexcept override { return cancelled_.load(); }
  bool input_pending() const noexcept override { return pending_.size() != pending_pos_ || stream_.input_pending(); }
  bool reusable() const noexcept override { return !broken_ && !cancelled(); }
  void mark_unreusable() noexcept override { broken_ = true; }
  bool received_any() const noexcept override { return got_bytes_; }
  const Endpoint& endpoint() const noexcept override { return ep_; }
  Clock::time_point last_used() const noexcept override { return last_used_; }

 private:
  std::string default_what(const char* verb) const { return std::string(verb) + " " + ep_.url(); }
  std::string said() const {
    std::string s = said_;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
  }

  UpgradedStream stream_;
  Endpoint ep_;
  std::string via_;  // "exec in dind-3f2a on unix:///var/run/docker.sock", for messages
  Demuxer demux_;
  std::string pending_;  // stdout bytes read from the exec and not yet handed out (reader only)
  std::size_t pending_pos_ = 0;
  std::string said_;  // dial-stdio's stderr, the last kStderrKept bytes (reader only)
  // Written by a reader and a writer at once (the forwarder), hence atomic.
  std::atomic<bool> broken_{false}, got_bytes_{false}, cancelled_{false};
  std::atomic<Clock::time_point> last_used_{Clock::now()};
};

}  // namespace

Dialer exec_tunnel(Client engine, std::string container, std::string name, std::string socket) {
  return [engine = std::move(engine), container = std::move(container), name = std::move(name),
          socket = std::move(socket)](Clock::time_point deadline) mutable -> std::unique_ptr<Connection> {
    (void)deadline;  // each step below is bounded by the engine client's own timeouts
    ExecConfig cfg;
    cfg.cmd = {"docker", "system", "dial-stdio"};
    // Whatever the container's environment says, the CLI dials the daemon's own socket.
    cfg.env = {"DOCKER_HOST=unix://" + socket, "DOCKER_CONTEXT=", "DOCKER_TLS_VERIFY=", "DOCKER_CERT_PATH="};
    cfg.attach_stdin = cfg.attach_stdout = cfg.attach_stderr = true;
    const std::string via = "exec in " + name + " on " + engine.host();
    std::string id;
    try {
      id = Exec(engine).create(container, cfg);
    } catch (const NotFound& e) {
      throw ConnectionError("cannot open a tunnel to the daemon in " + name + " (" + via +
                            "): the container is gone (" + e.message() + ")");
    } catch (const Conflict& e) {
      throw ConnectionError("cannot open a tunnel to the daemon in " + name + " (" + via +
                            "): the container is not running (" + e.message() + ")");
    }
    UpgradedStream up =
        engine.upgrade("POST", detail::exec_path(id, "/start"), {}, Body::json({{"Detach", false}, {"Tty", false}}));
    return std::make_unique<TunnelConnection>(std::move(up), Endpoint::tunnel(name, socket), via);
  };
}

ClientConfig tunnel_config(Client engine, std::string container, std::string name, std::string socket) {
  ClientConfig c;
  c.endpoint = Endpoint::tunnel(name, socket);
  c.dialer = exec_tunnel(std::move(engine), std::move(container), std::move(name), std::move(socket));
  return c;
}

}  // namespace dind
