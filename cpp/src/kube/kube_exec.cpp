// An exec through the API server's websocket (v4.channel.k8s.io) as a byte stream, and the dial-stdio tunnel made
// of it. Each websocket message carries one channel byte, then data: 0 stdin, 1 stdout, 2 stderr, 3 the exec's final
// status (a Status object), 4 terminal resizes (unused).
#include <algorithm>
#include <atomic>
#include <cstring>

#include "dind/errors.hpp"
#include "dind/http.hpp"
#include "dind/kube.hpp"
#include "dind/websocket.hpp"
#include "kube/kube_impl.hpp"

namespace dind {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kWriteFrame = 32 * 1024;  // stdin goes out in frames of at most this
constexpr std::size_t kStderrKept = 2048;
enum Channel : unsigned char { kStdin = 0, kStdout = 1, kStderr = 2, kStatus = 3 };

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The exit code in an exec's final status: Success is 0; a NonZeroExitCode failure carries it as a cause.
std::int64_t exit_code(const std::string& status, const std::string& via) {
  if (status.empty()) throw StreamError(via + ": the exec ended without its final status");
  const auto j = nlohmann::json::parse(status, nullptr, false);
  if (!j.is_object()) throw StreamError(via + ": the exec's final status is not JSON: " + status.substr(0, 200));
  if (j.value("status", "") == "Success") return 0;
  if (j.value("reason", "") == "NonZeroExitCode" && j.contains("details")) {
    for (const auto& c : j["details"].value("causes", nlohmann::json::array()))
      if (c.value("reason", "") == "ExitCode") return std::stoll(c.value("message", "-1"));
  }
  throw StreamError(via + ": the exec failed: " + j.value("message", status.substr(0, 200)));
}

class KubeExecConnection final : public Connection {
 public:
  KubeExecConnection(UpgradedStream stream, Endpoint endpoint, std::string via)
      : stream_(std::move(stream)), ep_(std::move(endpoint)), via_(std::move(via)), decoder_("the exec " + via_) {}

  std::size_t read_some(void* buf, std::size_t n, Clock::time_point deadline, const std::string& what) override {
    const std::string& w = what.empty() ? via_ : what;
    while (pending_.size() == pending_pos_) {
      pending_.clear();
      pending_pos_ = 0;
      if (ended_) return end(w);
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
        throw ConnectionError(w + ": " + e.what());
      }
      if (got == 0) {
        ended_ = true;
        continue;
      }
      decoder_.feed(chunk, got, [this](ws::Opcode op, std::string_view payload, bool) { on_frame(op, payload); });
    }
    const std::size_t k = std::min(n, pending_.size() - pending_pos_);
    std::memcpy(buf, pending_.data() + pending_pos_, k);
    pending_pos_ += k;
    got_bytes_ = true;
    last_used_ = Clock::now();
    return k;
  }

  void write(const void* buf, std::size_t n, Clock::time_point deadline, const std::string& what) override {
    const char* p = static_cast<const char*>(buf);
    try {
      for (std::size_t off = 0; off < n; off += kWriteFrame) {
        std::string payload(1, static_cast<char>(kStdin));
        payload.append(p + off, std::min(kWriteFrame, n - off));
        const std::string frame = ws::encode_client_frame(ws::Opcode::binary, payload);
        stream_.write(frame.data(), frame.size(), deadline);
      }
    } catch (const TimeoutError& e) {
      broken_ = true;
      throw TimeoutError((what.empty() ? via_ : what) + ": " + e.what());
    } catch (const Error& e) {
      broken_ = true;
      if (cancelled()) throw ConnectionError((what.empty() ? via_ : what) + ": closed");
      throw ConnectionError((what.empty() ? via_ : what) + ": " + e.what());
    }
    last_used_ = Clock::now();
  }

  void shutdown_send() override { broken_ = true; }  // v4 has no stdin close; the stream is not reused after
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
  void on_frame(ws::Opcode op, std::string_view payload) {
    if (op == ws::Opcode::close) {
      ended_ = true;
      return;
    }
    if (op == ws::Opcode::ping || op == ws::Opcode::pong) return;  // the API server does not ping exec streams
    unsigned char channel = last_channel_;
    if (op != ws::Opcode::continuation) {
      if (payload.empty()) return;
      channel = static_cast<unsigned char>(payload[0]);
      payload.remove_prefix(1);
      last_channel_ = channel;
    }
    if (channel == kStdout) {
      pending_.append(payload);
    } else if (channel == kStderr) {
      said_.append(payload);
      if (said_.size() > kStderrKept) said_.erase(0, said_.size() - kStderrKept);
    } else if (channel == kStatus) {
      status_.append(payload);
    }
  }

  // The end of the exec: a clean one gives 0; a failed exec that gave nothing says why.
  std::size_t end(const std::string& w) {
    if (!status_.empty()) {
      const auto j = nlohmann::json::parse(status_, nullptr, false);
      if (j.is_object() && j.value("status", "") == "Failure" && !got_bytes_) {
        broken_ = true;
        std::string why = j.value("message", status_);
        if (!said_.empty()) why += "; its stderr: " + trimmed(said_);
        throw ConnectionError(w + ": the exec failed: " + why);
      }
    }
    if (!got_bytes_ && !said_.empty()) {
      broken_ = true;
      throw ConnectionError(w + ": the exec ended before any output; it said: " + trimmed(said_));
    }
    broken_ = true;
    return 0;
  }

  UpgradedStream stream_;
  Endpoint ep_;
  std::string via_;
  ws::WebSocketDecoder decoder_;
  std::string pending_;  // stdout not yet handed out (reader only)
  std::size_t pending_pos_ = 0;
  std::string said_, status_;  // stderr (the last kStderrKept bytes) and the status channel (reader only)
  unsigned char last_channel_ = kStdout;
  bool ended_ = false;  // reader only
  std::atomic<bool> broken_{false}, got_bytes_{false}, cancelled_{false};
  std::atomic<Clock::time_point> last_used_{Clock::now()};
};

}  // namespace

UpgradedStream KubeClient::open_exec(const std::string& ns, const std::string& pod, const std::string& container,
                                     const std::vector<std::string>& cmd, bool stdin, Clock::time_point deadline) {
  const std::string base = "/api/v1/namespaces/" + http::url_encode(ns) + "/pods/" + http::url_encode(pod) + "/exec";
  std::string path = base + "?container=" + http::url_encode(container) + "&stdout=true&stderr=true";
  if (stdin) path += "&stdin=true";
  for (const auto& c : cmd) path += "&command=" + http::url_encode(c);
  Request req = impl_->request("GET", path);
  // The websocket handshake is refused (406) when it asks for JSON.
  req.headers.erase(
      std::remove_if(req.headers.begin(), req.headers.end(), [](const auto& h) { return h.first == "Accept"; }),
      req.headers.end());
  const std::string key = ws::make_key();
  req.upgrade_protocol = "websocket";
  req.headers.emplace_back("Sec-WebSocket-Key", key);
  req.headers.emplace_back("Sec-WebSocket-Version", "13");
  req.headers.emplace_back("Sec-WebSocket-Protocol", "v4.channel.k8s.io");
  auto [up, refused] = http::upgrade(impl_->connect("GET", base, deadline), req, deadline, impl_->what("GET", base));
  if (refused) {
    refused->set_deadline(deadline);
    std::string body;
    try {
      body = refused->read_all(1 << 20);
    } catch (const Error&) {
    }
    impl_->fail(refused->status(), body, "GET", base);
  }
  const std::string* accept = up->header("Sec-WebSocket-Accept");
  if (up->status() != 101 || !accept || *accept != ws::accept_for(key))
    throw ConnectionError(impl_->what("GET", base) + ": the websocket handshake was not completed (status " +
                          std::to_string(up->status()) + ")");
  return std::move(*up);
}

std::unique_ptr<Connection> KubeClient::exec(const std::string& ns, const std::string& pod,
                                             const std::string& container, const std::vector<std::string>& cmd,
                                             Clock::time_point deadline) {
  const std::string via =
      "exec in pod " + ns + "/" + pod + " (container " + container + ") through the API server " + impl_->target.server;
  return std::make_unique<KubeExecConnection>(open_exec(ns, pod, container, cmd, true, deadline),
                                              Endpoint::tunnel(ns + "/" + pod, container), via);
}

ExecResult KubeClient::run(const std::string& ns, const std::string& pod, const std::string& container,
                           const std::vector<std::string>& cmd, Clock::time_point deadline) {
  UpgradedStream s = open_exec(ns, pod, container, cmd, false, deadline);
  const std::string via = "exec in pod " + ns + "/" + pod + " through the API server " + impl_->target.server;
  ws::WebSocketDecoder decoder(via);
  ExecResult r;
  std::string status;
  unsigned char last = kStdout;
  bool closed = false;
  char chunk[kReadChunk];
  while (!closed) {
    const std::size_t got = s.read_some(chunk, sizeof chunk, deadline);
    if (got == 0) break;
    decoder.feed(chunk, got, [&](ws::Opcode op, std::string_view payload, bool) {
      if (op == ws::Opcode::close) closed = true;
      if (op != ws::Opcode::binary && op != ws::Opcode::text && op != ws::Opcode::continuation) return;
      unsigned char channel = last;
      if (op != ws::Opcode::continuation) {
        if (payload.empty()) return;
        channel = static_cast<unsigned char>(payload[0]);
        payload.remove_prefix(1);
        last = channel;
      }
      if (channel == kStdout) r.out.append(payload);
      if (channel == kStderr) r.err.append(payload);
      if (channel == kStatus) status.append(payload);
    });
  }
  r.exit_code = exit_code(status, via);
  return r;
}

Dialer kube_exec_tunnel(KubeClient client, std::string ns, std::string pod, std::string container, std::string socket) {
  return [client = std::move(client), ns = std::move(ns), pod = std::move(pod), container = std::move(container),
          socket = std::move(socket)](Clock::time_point deadline) mutable -> std::unique_ptr<Connection> {
    // Whatever the container's environment says, the CLI dials the daemon's own socket.
    return client.exec(ns, pod, container,
                       {"env", "DOCKER_HOST=unix://" + socket,
                        "DOCKER_CONTEXT=", "DOCKER_TLS_VERIFY=", "DOCKER_CERT_PATH=", "docker", "system", "dial-stdio"},
                       deadline);
  };
}

}  // namespace dind
