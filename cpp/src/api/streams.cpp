#include "dind/streams.hpp"

#include <cmath>
#include <cstdio>

#include "api/request_json.hpp"
#include "api/routes.hpp"
#include "dind/jsonlines.hpp"

namespace dind {

namespace {
using detail::container_path;
using detail::flag;
}  // namespace

std::string unix_time_arg(double seconds) {
  if (std::floor(seconds) == seconds) return std::to_string(static_cast<long long>(seconds));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9f", seconds);
  return buf;
}

// ---- ContainerStreams ---------------------------------------------------------------------------------------

bool ContainerStreams::tty(std::string_view id) {
  const nlohmann::json j = detail::request_json(client_, "GET", container_path(id, "/json"));
  if (!j.is_object())
    throw Error("GET /containers/" + std::string(id) + "/json on " + client_.host() + " returned no container");
  const auto cfg = j.find("Config");
  if (cfg == j.end() || !cfg->is_object()) return false;
  const auto t = cfg->find("Tty");
  return t != cfg->end() && t->is_boolean() && t->get<bool>();
}

StreamFormat ContainerStreams::format_for(std::string_view id, const Headers& headers, std::optional<bool> tty,
                                          bool reliable) {
  if (auto f = format_from_head(headers, client_.api_version(), reliable)) return *f;
  if (!tty) tty = this->tty(id);
  return *tty ? StreamFormat::raw : StreamFormat::multiplexed;
}

FrameReader ContainerStreams::logs(std::string_view id, const LogsOptions& o) {
  // Before 1.42 the head cannot say whether the body is framed: ask first, so the request itself stays cheap
  // to cancel and the inspect never races a container that is removed while we follow it.
  std::optional<bool> tty = o.tty;
  const bool head_decides = compare_api_versions(client_.api_version(), "1.42") >= 0;
  if (!tty && !head_decides) tty = this->tty(id);
  Query q{{"stdout", flag(o.stdout_stream)},
          {"stderr", flag(o.stderr_stream)},
          {"follow", flag(o.follow)},
          {"timestamps", flag(o.timestamps)},
          {"tail", o.tail.empty() ? std::string("all") : o.tail}};
  if (o.since) q.emplace_back("since", *o.since);
  if (o.until) q.emplace_back("until", *o.until);
  const std::string path = container_path(id, "/logs");
  BodyReader body = client_.stream("GET", path, q, std::nullopt, {}, o.idle_timeout);
  const StreamFormat f = format_for(id, body.headers(), tty, true);
  return FrameReader(std::move(body), f,
                     "logs of container " + std::string(id) + " (GET " + path + " on " + client_.host() + ")");
}

FrameReader ContainerStreams::attach(std::string_view id, const AttachOptions& o) {
  std::optional<bool> tty = o.tty;
  const bool head_decides = compare_api_versions(client_.api_version(), "1.42") >= 0;
  if (!tty && !head_decides) tty = this->tty(id);
  Query q{{"stdin", flag(o.stdin_stream)},
          {"stdout", flag(o.stdout_stream)},
          {"stderr", flag(o.stderr_stream)},
          {"logs", flag(o.logs)},
          {"stream", flag(o.stream)}};
  if (o.detach_keys) q.emplace_back("detachKeys", *o.detach_keys);
  const std::string path = container_path(id, "/attach");
  UpgradedStream up = client_.upgrade("POST", path, q);
  up.set_idle_timeout(o.idle_timeout);
  const StreamFormat f = format_for(id, up.headers(), tty, up.status() == 101);
  return FrameReader(std::move(up), f,
                     "attach to container " + std::string(id) + " (POST " + path + " on " + client_.host() + ")");
}

JsonStream ContainerStreams::open_stats(std::string_view id, bool stream, bool one_shot,
                                        std::optional<Clock::duration> idle_timeout) {
  Query q{{"stream", flag(stream)}};
  if (one_shot) q.emplace_back("one-shot", "1");
  const std::string path = container_path(id, "/stats");
  return JsonStream(client_.stream("GET", path, q, std::nullopt, {}, idle_timeout),
                    "stats of container " + std::string(id) + " (GET " + path + " on " + client_.host() + ")");
}

JsonStream ContainerStreams::stats(std::string_view id, bool one_shot) {
  return open_stats(id, /*stream=*/true, one_shot, std::nullopt);
}

nlohmann::json ContainerStreams::stats_once(std::string_view id, bool one_shot,
                                            std::optional<Clock::duration> timeout) {
  // Without one-shot the engine samples twice, a second apart: that is a stream-like wait, not a unary call.
  JsonStream s = open_stats(id, /*stream=*/false, one_shot, timeout);
  nlohmann::json sample;
  if (!s.next(sample)) throw StreamError(s.context() + ": the engine answered without a sample");
  return sample;
}

}  // namespace dind
