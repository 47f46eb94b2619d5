#include "dind/events.hpp"

#include "dind/filters.hpp"

namespace dind {

JsonStream Events::stream(const EventsOptions& o) {
  Query q;
  if (o.since) q.emplace_back("since", *o.since);
  if (o.until) q.emplace_back("until", *o.until);
  if (!o.filters.is_null() && !(o.filters.is_object() && o.filters.empty())) {
    try {
      q.emplace_back("filters", encode_filters(o.filters));  // docker-py's shapes, as every list endpoint takes them
    } catch (...) {
      rethrow_doing("events on " + client_.host());
    }
  }
  // Newer engines negotiate the framing; these are the types we read (RS prefixes are tolerated).
  Headers h{{"Accept", "application/x-ndjson, application/jsonl;q=0.9, application/json-seq;q=0.5"}};
  BodyReader body = client_.stream("GET", "/events", q, std::nullopt, h, o.idle_timeout);
  // Events never carry errorDetail: a field named "error" in an event's attributes must not raise.
  return JsonStream(std::move(body), "events (GET /events on " + client_.host() + ")", false);
}

}  // namespace dind
