#include "dind/events.hpp"

namespace dind {

JsonStream Events::stream(const EventsOptions& o) {
  Query q;
  if (o.since) q.emplace_back("since", *o.since);
  if (o.until) q.emplace_back("until", *o.until);
  if (!o.filters.is_null() && !(o.filters.is_object() && o.filters.empty())) {
    if (!o.filters.is_object())
      throw Error("events filters must be a JSON object, not " + o.filters.dump() + " (on " + client_.host() + ")");
    q.emplace_back("filters", o.filters.dump());
  }
  // Newer engines negotiate the framing; these are the types we read (RS prefixes are tolerated).
  Headers h{{"Accept", "application/x-ndjson, application/jsonl;q=0.9, application/json-seq;q=0.5"}};
  BodyReader body = client_.stream("GET", "/events", q, std::nullopt, h, o.idle_timeout);
  // Events never carry errorDetail: a field named "error" in an event's attributes must not raise.
  return JsonStream(std::move(body), "events (GET /events on " + client_.host() + ")", false);
}

}  // namespace dind
