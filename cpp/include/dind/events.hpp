// GET /events: the engine's event stream as decoded JSON lines, with no total timeout. Without `until` it never
// ends by itself: close() from another thread (or an idle timeout) ends it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "dind/client.hpp"
#include "dind/json_stream.hpp"

namespace dind {

struct EventsOptions {
  std::optional<std::string> since;  // unix seconds (see unix_time_arg), RFC 3339, or a Go duration ("10m")
  std::optional<std::string> until;
  // {"type": ["container"], "label": ["dind.session=x"]}; a map of value → true is accepted too.
  nlohmann::json filters = nlohmann::json::object();
  std::optional<Clock::duration> idle_timeout;
};

class Events {
 public:
  explicit Events(Client client) : client_(std::move(client)) {}

  // The stream starts once the engine has answered with its head: events after that moment are not missed.
  JsonStream stream(const EventsOptions& options = {});

 private:
  Client client_;
};

}  // namespace dind
