// KubeClient: JSON calls to an API server over a pooled TLS connection, with the kubeconfig's credentials.
#include <utility>

#include "dind/base64.hpp"
#include "dind/errors.hpp"
#include "dind/http.hpp"
#include "dind/kube.hpp"
#include "dind/pool.hpp"
#include "kube/kube_impl.hpp"

namespace dind {

namespace detail {

KubeImpl::KubeImpl(KubeTarget t, std::chrono::milliseconds timeout_)
    : target(std::move(t)), endpoint(Endpoint::parse(target.server)), timeout(timeout_) {
  if (!endpoint.is_tcp() || !endpoint.tls)
    throw Error("the API server " + target.server + " of kubeconfig context '" + target.context + "' (" +
                target.source + ") is not an https:// address");
  Pool::Options po;
  po.connect_timeout = timeout;
  pool = std::make_shared<Pool>(endpoint, target.tls, po);
  if (!target.token.empty())
    auth = "Bearer " + target.token;
  else if (!target.username.empty())
    auth = "Basic " + base64_encode(target.username + ":" + target.password);
}

Request KubeImpl::request(const std::string& method, const std::string& path) const {
  Request r;
  r.method = method;
  r.target = path;
  r.host = endpoint.host_header();
  r.headers.emplace_back("Accept", "application/json");
  if (!auth.empty()) r.headers.emplace_back("Authorization", auth);
  return r;
}

std::string KubeImpl::what(const std::string& method, const std::string& path) const {
  return method + " " + path + " on the API server " + target.server;
}

std::unique_ptr<Connection> KubeImpl::connect(const std::string& method, const std::string& path,
                                              Clock::time_point deadline) {
  try {
    return pool->connect(deadline);
  } catch (...) {
    rethrow_doing(what(method, path));
  }
}

[[noreturn]] void KubeImpl::fail(int status, const std::string& body, const std::string& method,
                                 const std::string& path) const {
  // The API server's Status object: {"kind":"Status","message":"...","reason":"Forbidden","code":403}.
  std::string message;
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) message = j["message"].get<std::string>();
  if (message.empty()) message = body.substr(0, 300);
  if (status == 401)
    message +=
        " (the credentials of user '" + target.user + "' in kubeconfig context '" + target.context + "' were refused)";
  throw_api_error(status, std::move(message), method, path, target.server);
}

BodyReader KubeImpl::send(const Request& req, Clock::time_point deadline) {
  const bool idempotent = req.method == "GET" || req.method == "DELETE";
  Pool::Lease lease;
  try {
    lease = pool->acquire(deadline);
  } catch (...) {
    rethrow_doing(what(req.method, req.target));
  }
  std::weak_ptr<Pool> weak = pool;
  Recycle recycle = [weak](std::unique_ptr<Connection> c) {
    if (auto p = weak.lock()) p->release(std::move(c));
  };
  bool answered = false;
  try {
    return http::exchange(std::move(lease.conn), req, deadline, what(req.method, req.target), recycle, &answered);
  } catch (const ConnectionError&) {
    // An idle keep-alive connection the server closed just as it was reused: once more on a fresh one.
    if (!lease.reused || answered || !idempotent) throw;
  }
  return http::exchange(connect(req.method, req.target, deadline), req, deadline, what(req.method, req.target),
                        recycle);
}

}  // namespace detail

KubeClient::KubeClient(KubeTarget target, std::chrono::milliseconds timeout)
    : impl_(std::make_shared<detail::KubeImpl>(std::move(target), timeout)) {}

const KubeTarget& KubeClient::target() const noexcept {
  return impl_->target;
}
const std::string& KubeClient::server() const noexcept {
  return impl_->target.server;
}

nlohmann::json KubeClient::call(const std::string& method, const std::string& path, const nlohmann::json& body) {
  Request req = impl_->request(method, path);
  if (!body.is_null()) {
    req.body = body.dump();
    req.headers.emplace_back("Content-Type", "application/json");
  }
  const auto dl = deadline_after(impl_->timeout);
  BodyReader r = impl_->send(req, dl);
  r.set_deadline(dl);
  const std::string text = r.read_all(64 << 20);
  if (r.status() < 200 || r.status() >= 300) impl_->fail(r.status(), text, method, path);
  if (text.empty()) return nullptr;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error(impl_->what(method, path) + ": the answer is not JSON: " + text.substr(0, 200));
  return j;
}

std::string KubeClient::text(const std::string& path) {
  Request req = impl_->request("GET", path);
  req.headers[0].second = "*/*";
  const auto dl = deadline_after(impl_->timeout);
  BodyReader r = impl_->send(req, dl);
  r.set_deadline(dl);
  std::string text = r.read_all(16 << 20);
  if (r.status() < 200 || r.status() >= 300) impl_->fail(r.status(), text, "GET", path);
  return text;
}

}  // namespace dind
