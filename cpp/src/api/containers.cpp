#include "dind/containers.hpp"

#include <chrono>
#include <tuple>
#include <utility>

#include "api/request_json.hpp"
#include "api/routes.hpp"
#include "dind/errors.hpp"
#include "dind/filters.hpp"
#include "dind/http.hpp"
#include "dind/streams.hpp"

namespace dind {
namespace {

using detail::container_path;
using detail::flag;

using nlohmann::json;

void add_filters(Query& q, const json& filters) {
  if (filters.is_null() || (filters.is_object() && filters.empty())) return;
  q.emplace_back("filters", encode_filters(filters));
}

// Seconds a stop/restart may take on the engine's side when no `t` is given: the container's StopTimeout, else 10.
int default_stop_seconds(Containers& self, const std::string& id) {
  json info;
  try {
    info = self.inspect(id);
  } catch (const NotFound&) {
    return 10;  // the stop/restart call itself then reports the missing container, under its own method and path
  }
  const auto cfg = info.find("Config");
  if (cfg != info.end() && cfg->is_object()) {
    const auto st = cfg->find("StopTimeout");
    if (st != cfg->end() && st->is_number_integer() && st->get<int>() >= 0) return st->get<int>();
  }
  return 10;
}

}  // namespace

json Containers::list(bool all, const json& filters, int limit, bool size) {
  Query q;
  if (all) q.emplace_back("all", "1");
  if (limit >= 0) q.emplace_back("limit", std::to_string(limit));
  if (size) q.emplace_back("size", "1");
  add_filters(q, filters);
  return detail::request_json(client_, "GET", "/containers/json", q);
}

json Containers::inspect(const std::string& id, bool size) {
  Query q;
  if (size) q.emplace_back("size", "1");
  return detail::request_json(client_, "GET", container_path(id, "/json"), q);
}

json Containers::create(const json& config, const std::string& name, const std::string& platform) {
  Query q;
  if (!name.empty()) q.emplace_back("name", name);
  if (!platform.empty()) q.emplace_back("platform", platform);
  return detail::request_json(client_, "POST", "/containers/create", q,
                              Body::json(config.is_null() ? json::object() : config));
}

bool Containers::start(const std::string& id) {
  return client_.request("POST", container_path(id, "/start")).status != 304;
}

bool Containers::stop(const std::string& id, std::optional<int> timeout) {
  // The engine answers only after the container is down, up to t seconds later: the client's own timeout must not
  // cut that short (docker-py's timeout + t).
  const int t = timeout ? *timeout : default_stop_seconds(*this, id);
  Query q;
  if (timeout) q.emplace_back("t", std::to_string(*timeout));
  const auto limit = client_.config().timeout + std::chrono::seconds(t < 0 ? 0 : t);
  return client_.request("POST", container_path(id, "/stop"), q, std::nullopt, {}, limit).status != 304;
}

void Containers::kill(const std::string& id, const std::string& signal) {
  Query q;
  if (!signal.empty()) q.emplace_back("signal", signal);
  client_.request("POST", container_path(id, "/kill"), q);
}

void Containers::restart(const std::string& id, std::optional<int> timeout) {
  const int t = timeout ? *timeout : default_stop_seconds(*this, id);
  Query q;
  if (timeout) q.emplace_back("t", std::to_string(*timeout));
  const auto limit = client_.config().timeout + std::chrono::seconds(t < 0 ? 0 : t);
  client_.request("POST", container_path(id, "/restart"), q, std::nullopt, {}, limit);
}

void Containers::pause(const std::string& id) {
  client_.request("POST", container_path(id, "/pause"));
}

void Containers::unpause(const std::string& id) {
  client_.request("POST", container_path(id, "/unpause"));
}

void Containers::remove(const std::string& id, bool force, bool v, bool link) {
  Query q{{"force", flag(force)}, {"v", flag(v)}, {"link", flag(link)}};
  client_.request("DELETE", container_path(id), q);
}

Containers::PendingWait Containers::begin_wait(const std::string& id, const std::string& condition) {
  Query q;
  if (!condition.empty()) q.emplace_back("condition", condition);
  const std::string path = container_path(id, "/wait");
  // stream(): the head comes at once (API >= 1.30), the body when the condition is met — no total timeout.
  BodyReader reader = client_.stream("POST", path, q);
  return PendingWait(std::move(reader), "POST " + path + " on " + client_.host());
}

json Containers::PendingWait::result() {
  const std::string body = reader_.read_all(1 << 20);
  if (body.empty()) {
    // Old engines answer a failed `removed` wait with an empty body; a closed wait ends the same way.
    throw StreamError(what_ + ": the wait ended without a result (closed, or the engine gave up on it)");
  }
  json r;
  try {
    r = json::parse(body);
  } catch (const json::exception&) {
    // A proxy may cut the stream after the 200 and write plain text.
    throw StreamError(what_ + ": the wait ended with a body that is not JSON: " + body.substr(0, 512));
  }
  if (!r.is_object() || !r.contains("StatusCode")) {
    throw StreamError(what_ + ": the wait result has no StatusCode: " + body.substr(0, 512));
  }
  if (!r.contains("Error")) r["Error"] = nullptr;
  return r;
}

json Containers::wait(const std::string& id, const std::string& condition) {
  return begin_wait(id, condition).result();
}

json Containers::top(const std::string& id, const std::string& ps_args) {
  Query q;
  if (!ps_args.empty()) q.emplace_back("ps_args", ps_args);
  return detail::request_json(client_, "GET", container_path(id, "/top"), q);
}

json Containers::changes(const std::string& id) {
  json j = detail::request_json(client_, "GET", container_path(id, "/changes"), {}, std::nullopt, json::array());
  return j.is_null() ? json::array() : j;
}

void Containers::resize(const std::string& id, int height, int width) {
  client_.request("POST", container_path(id, "/resize"), {{"h", std::to_string(height)}, {"w", std::to_string(width)}});
}

json Containers::stats(const std::string& id, bool one_shot) {
  // Without one-shot the engine takes a second sample (~1-2 s) before answering: allow that on top of the client's
  // timeout, so a short client timeout doesn't cut it.
  const auto limit = client_.config().timeout + std::chrono::seconds(one_shot ? 0 : 5);
  return ContainerStreams(client_).stats_once(id, one_shot, limit);
}

void Containers::rename(const std::string& id, const std::string& name) {
  client_.request("POST", container_path(id, "/rename"), {{"name", name}});
}

json Containers::update(const std::string& id, const json& config) {
  return detail::request_json(client_, "POST", container_path(id, "/update"), {},
                              Body::json(config.is_null() ? json::object() : config));
}

json Containers::prune(const json& filters) {
  Query q;
  add_filters(q, filters);
  return detail::request_json(client_, "POST", "/containers/prune", q);
}

Containers::Output Containers::logs_all(const std::string& id, const LogsOptions& options, bool demux) {
  FrameReader logs = ContainerStreams(client_).logs(id, options);
  Output result;
  if (demux) {
    std::tie(result.out, result.err) = logs.read_all_split();
  } else {
    result.out = logs.read_all();
  }
  return result;
}

}  // namespace dind
