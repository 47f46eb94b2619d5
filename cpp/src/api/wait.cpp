// Waiting until a container is ready for use (dind/wait.hpp): its log, its health, its published ports.
#include "dind/wait.hpp"

#include <algorithm>
#include <regex>
#include <thread>

#include "dind/containers.hpp"
#include "dind/streams.hpp"

namespace dind {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr milliseconds kPollEvery{200};
constexpr std::size_t kLogKept = 1u << 20;  // the regex sees at most the last MiB of the log

std::string ms(milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

// The status of an HTTP answer ("HTTP/1.1 204 No Content" → 204); 0 when it is none.
int status_of(const std::string& answer) {
  if (answer.rfind("HTTP/", 0) != 0) return 0;
  const std::size_t sp = answer.find(' ');
  if (sp == std::string::npos || answer.size() < sp + 4) return 0;
  const std::string code = answer.substr(sp + 1, 3);
  if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) return 0;
  return std::stoi(code);
}

}  // namespace

std::string WaitOptions::describe() const {
  std::string d;
  auto add = [&](const std::string& s) { d += (d.empty() ? "" : ", ") + s; };
  if (!log.empty()) add("log /" + log + "/");
  if (healthy) add("healthy");
  if (port) add("port " + std::to_string(port) + "/tcp");
  if (!http.empty())
    add("http GET " + http + " on " +
        std::to_string(http_port ? http_port
                       : port    ? port
                                 : 80) +
        "/tcp" + (status ? " answering " + std::to_string(status) : ""));
  return d.empty() ? "nothing" : d;
}

ContainerWait::ContainerWait(Client client, std::string id, WaitOptions options)
    : client_(std::move(client)), id_(std::move(id)), o_(std::move(options)) {
  where_ = "container " + id_ + " on " + client_.host();
}

void ContainerWait::close() noexcept {
  closed_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  if (stream_) stream_->close();
}

std::string ContainerWait::log_tail() {
  try {
    LogsOptions lo;
    lo.tail = std::to_string(o_.log_tail);
    return Containers(client_).logs_all(id_, lo, false).out;
  } catch (const Error&) {
    return {};  // a removed container has no log
  }
}

void ContainerWait::timed_out(const std::string& awaiting, const std::string& last) {
  std::string tail = log_tail();
  throw TimeoutError("waiting for " + awaiting + " of " + where_ + ": not met within " + ms(o_.timeout) +
                     (last.empty() ? "" : " (last: " + last + ")") +
                     (tail.empty() ? "" : "\n--- last lines of its log ---\n" + tail));
}

void ContainerWait::check_running(const std::string& awaiting) {
  if (closed_) throw Error("waiting for " + awaiting + " of " + where_ + ": cancelled");
  nlohmann::json state;
  try {
    state = Containers(client_).inspect(id_)["State"];
  } catch (const NotFound&) {
    throw ContainerExitedError(where_ + " was removed while waiting for " + awaiting, id_, -1, {});
  }
  if (state.value("Running", false)) return;
  const int code = state.value("ExitCode", -1);
  throw ContainerExitedError(where_ + " is " + state.value("Status", std::string("not running")) + " (exit code " +
                                 std::to_string(code) + ") while waiting for " + awaiting,
                             id_, code, log_tail());
}

void ContainerWait::wait_log(Clock::time_point deadline) {
  const std::string awaiting = "log /" + o_.log + "/";
  std::regex re;
  try {
    re = std::regex(o_.log, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw Error("waiting for " + awaiting + " of " + where_ + ": not a valid regex (" + e.what() + ")");
  }
  LogsOptions lo;
  lo.follow = true;
  lo.idle_timeout = std::max<Clock::duration>(deadline - SteadyClock::now(), milliseconds(1));
  FrameReader stream = ContainerStreams(client_).logs(id_, lo);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stream_ = &stream;
  }
  struct Forget {
    ContainerWait* w;
    ~Forget() {
      std::lock_guard<std::mutex> lock(w->mu_);
      w->stream_ = nullptr;
    }
  } forget{this};
  if (closed_) stream.close();
  std::string seen;
  OutputChunk chunk;
  try {
    while (stream.next(chunk)) {
      seen += chunk.data;
      if (std::regex_search(seen, re)) return;
      if (seen.size() > kLogKept) seen.erase(0, seen.size() - kLogKept / 2);
      stream.set_idle_timeout(std::max<Clock::duration>(deadline - SteadyClock::now(), milliseconds(1)));
    }
  } catch (const TimeoutError&) {
    timed_out(awaiting, "");
  }
  check_running(awaiting);  // the stream ends when the container stops
  if (SteadyClock::now() >= deadline) timed_out(awaiting, "");
  throw StreamError("waiting for " + awaiting + " of " + where_ + ": its log stream ended while it runs");
}

void ContainerWait::wait_healthy(Clock::time_point deadline) {
  for (;;) {
    check_running("healthy");
    const nlohmann::json health = Containers(client_).inspect(id_)["State"].value("Health", nlohmann::json());
    if (!health.is_object())
      throw Error("waiting for healthy of " + where_ + ": it has no healthcheck (give one at create: healthcheck=)");
    const std::string status = health.value("Status", "");
    if (status == "healthy") return;
    if (SteadyClock::now() >= deadline) timed_out("healthy", "health status " + status);
    std::this_thread::sleep_for(std::min<Clock::duration>(kPollEvery, deadline - SteadyClock::now()));
  }
}

std::uint16_t ContainerWait::published_port(std::uint16_t port) {
  const std::string key = std::to_string(port) + "/tcp";
  const nlohmann::json ports = Containers(client_).inspect(id_)["NetworkSettings"].value("Ports", nlohmann::json());
  if (ports.is_object() && ports.contains(key) && ports[key].is_array())
    for (const auto& b : ports[key]) {
      const std::string hp = b.value("HostPort", "");
      if (!hp.empty()) return static_cast<std::uint16_t>(std::stoi(hp));
    }
  throw Error("waiting for port " + key + " of " + where_ + ": it is not published (publish it: ports={'" + key +
              "': None})");
}

void ContainerWait::wait_port(Clock::time_point deadline) {
  const std::string awaiting = "port " + std::to_string(o_.port) + "/tcp";
  check_running(awaiting);
  const std::uint16_t published = published_port(o_.port);
  const auto reach = port_reach_of(client_);
  for (;;) {
    check_running(awaiting);
    const auto now = SteadyClock::now();
    if (reach->open(published, std::min(deadline, now + std::chrono::seconds(2)))) return;
    if (SteadyClock::now() >= deadline)
      timed_out(awaiting, "no connection to its published port " + std::to_string(published) + " " + reach->describe());
    std::this_thread::sleep_for(std::min<Clock::duration>(kPollEvery, deadline - SteadyClock::now()));
  }
}

void ContainerWait::wait_http(Clock::time_point deadline) {
  const std::uint16_t port = o_.http_port ? o_.http_port : o_.port ? o_.port : 80;
  const std::string path = o_.http[0] == '/' ? o_.http : "/" + o_.http;
  const std::string awaiting = "http GET " + path + " on port " + std::to_string(port) + "/tcp";
  check_running(awaiting);
  const std::uint16_t published = published_port(port);
  const auto reach = port_reach_of(client_);
  const std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(published) + "\r\nConnection: close\r\n\r\n";
  std::string last;
  for (;;) {
    check_running(awaiting);
    try {
      const int s = status_of(
          reach->exchange(published, request, std::min(deadline, SteadyClock::now() + std::chrono::seconds(5))));
      if (o_.status ? s == o_.status : s >= 200 && s < 400) return;
      last = s ? "it answered " + std::to_string(s) : "no HTTP answer";
    } catch (const ConnectionError& e) {
      last = e.what();
    } catch (const TimeoutError& e) {
      if (last.empty()) last = e.what();  // cut short by the deadline: what came before says more
    }
    if (SteadyClock::now() >= deadline) timed_out(awaiting, last + " " + reach->describe());
    std::this_thread::sleep_for(std::min<Clock::duration>(kPollEvery, deadline - SteadyClock::now()));
  }
}

void ContainerWait::run() {
  const auto deadline = SteadyClock::now() + o_.timeout;
  check_running(o_.describe());
  const nlohmann::json info = Containers(client_).inspect(id_);
  std::string name = info.value("Name", "");
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  id_ = info.value("Id", id_);
  where_ = "container " + name + " (" + id_.substr(0, 12) + ") on " + client_.host();
  if (!o_.log.empty()) wait_log(deadline);
  if (o_.healthy) wait_healthy(deadline);
  if (o_.port) wait_port(deadline);
  if (!o_.http.empty()) wait_http(deadline);
}

void wait_for(Client& client, const std::string& id, const WaitOptions& options) {
  ContainerWait(client, id, options).run();
}

}  // namespace dind
