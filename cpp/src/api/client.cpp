#include "dind/client.hpp"

#include <mutex>

#include "api/request_json.hpp"
#include "dind/errors.hpp"
#include "dind/pool.hpp"

namespace dind {

int compare_api_versions(std::string_view a, std::string_view b) {
  auto next = [](std::string_view& s) {
    long v = 0;
    std::size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
    s.remove_prefix(i < s.size() ? i + 1 : i);
    return v;
  };
  while (!a.empty() || !b.empty()) {
    long x = next(a), y = next(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

struct Client::Impl {
  ClientConfig config;
  std::string host;
  std::shared_ptr<Pool> pool;
  std::mutex version_mu;
  std::string version;  // pinned or negotiated; empty until then

  explicit Impl(ClientConfig c) : config(std::move(c)), host(config.endpoint.url()) {
    Pool::Options o;
    o.max_idle = config.max_idle;
    o.idle_keepalive = config.idle_keepalive;
    o.connect_timeout = std::min(config.connect_timeout, config.timeout);
    try {
      pool = std::make_shared<Pool>(config.endpoint, config.tls, o, config.dialer);
    } catch (const TlsError&) {
      rethrow_doing("setting up TLS for " + host +
                    " (the docker CLI's way: DOCKER_CERT_PATH names a directory with ca.pem, cert.pem and key.pem)");
    }
    version = config.version;
  }

  std::string target(std::string_view path, const Query& query, bool versioned, const std::string& v) const {
    std::string t;
    t.reserve(path.size() + 16);
    if (versioned) t.append("/v").append(v);
    t.append(path);
    char sep = path.find('?') == std::string_view::npos ? '?' : '&';
    for (const auto& [k, val] : query) {
      t += sep;
      sep = '&';
      t.append(http::url_encode(k)).append("=").append(http::url_encode(val));
    }
    return t;
  }

  Request make_request(std::string_view method, std::string target, const std::optional<Body>& body,
                       const Headers& headers) const {
    Request r;
    r.method = std::string(method);
    r.target = std::move(target);
    r.host = config.endpoint.host_header();
    r.headers = headers;
    if (body) {
      r.body = body->data;
      if (!find_header(headers, "Content-Type")) r.headers.emplace_back("Content-Type", body->content_type);
    }
    return r;
  }

  // Sends on a pooled connection; a reused connection that died before any answer gets one fresh retry for
  // idempotent methods (the server may close an idle keep-alive connection just as we reuse it).
  BodyReader send(const Request& req, Clock::time_point head_deadline, std::string_view path) {
    const std::string what = req.method + " " + std::string(path) + " on " + host;
    const bool idempotent = req.method == "GET" || req.method == "HEAD" || req.method == "DELETE";
    Pool::Lease lease;
    try {
      lease = pool->acquire(head_deadline);
    } catch (...) {
      rethrow_doing(what);  // a failed connect (refused, TLS) still names the call it was for
    }
    std::weak_ptr<Pool> weak = pool;
    Recycle recycle = [weak](std::unique_ptr<Connection> c) {
      if (auto p = weak.lock()) p->release(std::move(c));
    };
    bool answered = false;
    try {
      return http::exchange(std::move(lease.conn), req, head_deadline, what, recycle, &answered);
    } catch (const TimeoutError&) {
      throw;
    } catch (const ConnectionError&) {
      if (!lease.reused || answered || !idempotent || req.source) throw;
    }
    std::unique_ptr<Connection> fresh;
    try {
      fresh = pool->connect(head_deadline);
    } catch (...) {
      rethrow_doing(what);
    }
    return http::exchange(std::move(fresh), req, head_deadline, what, recycle);
  }
};

Client::Client(ClientConfig config) : impl_(std::make_shared<Impl>(std::move(config))) {}

Client Client::from_env() {
  return Client(ClientConfig::from_env());
}

const ClientConfig& Client::config() const noexcept {
  return impl_->config;
}
const std::string& Client::host() const noexcept {
  return impl_->host;
}
std::size_t Client::idle_connections() const {
  return impl_->pool->idle_count();
}

void Client::throw_for_status(int status, std::string_view body, std::string_view method, std::string_view path) const {
  std::string message;
  if (!body.empty()) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("message") && j["message"].is_string()) {
      message = j["message"].get<std::string>();
    } else {
      message = std::string(body.substr(0, 1024));
      while (!message.empty() && (message.back() == '\n' || message.back() == '\r' || message.back() == ' '))
        message.pop_back();
    }
  }
  // Go's TLS server answers plain HTTP with this 400.
  if (status == 400 && message.find("Client sent an HTTP request to an HTTPS server") != std::string::npos)
    throw TlsError(std::string(method) + " " + std::string(path) + " on " + impl_->host +
                   ": the server speaks TLS on this port; use https:// or a TLS config (" + message + ")");
  if (message.empty()) message = "(no message; does the server support the requested API version?)";
  throw_api_error(status, std::move(message), std::string(method), std::string(path), impl_->host);
}

std::string Client::api_version() {
  std::lock_guard<std::mutex> lock(impl_->version_mu);
  if (!impl_->version.empty()) return impl_->version;
  Request req = impl_->make_request("GET", "/_ping", std::nullopt, {});
  auto reader = impl_->send(req, deadline_after(impl_->config.timeout), "/_ping");
  reader.set_deadline(deadline_after(impl_->config.timeout));
  std::string body = reader.read_all(64 * 1024);
  if (reader.status() != 200) throw_for_status(reader.status(), body, "GET", "/_ping");
  std::string server = kMinApiVersion;  // daemons before 1.25 send no Api-Version
  if (auto v = reader.header("Api-Version"); v && !v->empty()) server = *v;
  if (compare_api_versions(server, kMinApiVersion) < 0)
    throw Error("the engine at " + impl_->host + " speaks Engine API " + server + ", below the minimum " +
                kMinApiVersion + " this client supports");
  impl_->version = compare_api_versions(server, kMaxApiVersion) < 0 ? server : std::string(kMaxApiVersion);
  return impl_->version;
}

std::string Client::ping() {
  Request req = impl_->make_request("GET", "/_ping", std::nullopt, {});
  const auto dl = deadline_after(impl_->config.timeout);
  auto reader = impl_->send(req, dl, "/_ping");
  reader.set_deadline(dl);
  std::string body = reader.read_all(64 * 1024);
  if (reader.status() != 200) throw_for_status(reader.status(), body, "GET", "/_ping");
  return body;
}

nlohmann::json Client::version() {
  return detail::request_json(*this, "GET", "/version");
}

nlohmann::json Client::info() {
  return detail::request_json(*this, "GET", "/info");
}

Response Client::request(std::string_view method, std::string_view path, const Query& query,
                         const std::optional<Body>& body, const Headers& headers,
                         std::optional<Clock::duration> timeout) {
  const std::string v = api_version();
  const auto dl = deadline_after(timeout ? *timeout : Clock::duration(impl_->config.timeout));
  Request req = impl_->make_request(method, impl_->target(path, query, true, v), body, headers);
  auto reader = impl_->send(req, dl, path);
  reader.set_deadline(dl);
  Response r;
  r.status = reader.status();
  r.reason = reader.reason();
  r.headers = reader.headers();
  r.body = reader.read_all(impl_->config.max_body);
  if (r.status < 200 || (r.status >= 300 && r.status != 304)) throw_for_status(r.status, r.body, method, path);
  return r;
}

namespace {
// Reads an error body (bounded) and throws.
[[noreturn]] void fail_stream(const Client& c, BodyReader& reader, std::string_view method, std::string_view path,
                              Clock::duration timeout) {
  reader.set_deadline(deadline_after(timeout));
  std::string body;
  try {
    body = reader.read_all(1 << 20);
  } catch (const Error&) {
  }
  c.throw_for_status(reader.status(), body, method, path);
}
}  // namespace

BodyReader Client::stream(std::string_view method, std::string_view path, const Query& query,
                          const std::optional<Body>& body, const Headers& headers,
                          std::optional<Clock::duration> idle_timeout) {
  const std::string v = api_version();
  Request req = impl_->make_request(method, impl_->target(path, query, true, v), body, headers);
  // Streams have no total deadline: the connect is bounded, then only the optional idle timeout applies.
  const auto head_dl = idle_timeout ? deadline_after(*idle_timeout) : kNoDeadline;
  auto reader = impl_->send(req, head_dl, path);
  reader.set_idle_timeout(idle_timeout);
  if (reader.status() < 200 || reader.status() >= 300) fail_stream(*this, reader, method, path, impl_->config.timeout);
  return reader;
}

BodyReader Client::upload(std::string_view method, std::string_view path, const Query& query, BodySource source,
                          std::string content_type, const Headers& headers,
                          std::optional<Clock::duration> idle_timeout) {
  const std::string v = api_version();
  Request req = impl_->make_request(method, impl_->target(path, query, true, v), std::nullopt, headers);
  req.source = std::move(source);
  if (!find_header(headers, "Content-Type")) req.headers.emplace_back("Content-Type", std::move(content_type));
  const auto head_dl = idle_timeout ? deadline_after(*idle_timeout) : kNoDeadline;
  auto reader = impl_->send(req, head_dl, path);
  reader.set_idle_timeout(idle_timeout);
  if (reader.status() < 200 || reader.status() >= 300) fail_stream(*this, reader, method, path, impl_->config.timeout);
  return reader;
}

UpgradedStream Client::upgrade(std::string_view method, std::string_view path, const Query& query,
                               const std::optional<Body>& body, const Headers& headers) {
  const std::string v = api_version();
  Request req = impl_->make_request(method, impl_->target(path, query, true, v), body, headers);
  const auto dl = deadline_after(impl_->config.timeout);
  // A dedicated connection, never from or back to the pool (moby does the same).
  auto conn = impl_->pool->connect(dl);
  auto [up, err] =
      http::upgrade(std::move(conn), req, dl, std::string(method) + " " + std::string(path) + " on " + impl_->host);
  if (err) fail_stream(*this, *err, method, path, impl_->config.timeout);
  up->set_idle_timeout(std::nullopt);
  return std::move(*up);
}

}  // namespace dind
