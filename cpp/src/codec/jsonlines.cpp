#include "dind/jsonlines.hpp"

#include "core/shown.hpp"

namespace dind {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\x1e';
}

}  // namespace

std::string json_stream_error(const nlohmann::json& line) {
  if (!line.is_object()) return {};
  if (auto d = line.find("errorDetail"); d != line.end() && !d->is_null()) {
    if (d->is_object()) {
      if (auto m = d->find("message"); m != d->end() && m->is_string() && !m->get_ref<const std::string&>().empty())
        return m->get<std::string>();
    }
    if (auto e = line.find("error"); e != line.end() && e->is_string()) return e->get<std::string>();
    return d->dump();
  }
  if (auto e = line.find("error"); e != line.end() && !e->is_null()) {
    if (e->is_string()) return e->get<std::string>();
    if (e->is_object()) {
      if (auto m = e->find("message"); m != e->end() && m->is_string()) return m->get<std::string>();
    }
    return e->dump();
  }
  return {};
}

nlohmann::json JsonLinesDecoder::decode(std::string_view line) {
  // Trim CR, blanks and json-seq's RS; the engine ends lines with "\r\n" on some endpoints.
  while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
  while (!line.empty() && is_blank(line.back())) line.remove_suffix(1);
  if (line.empty()) return nlohmann::json(nlohmann::json::value_t::discarded);
  nlohmann::json j = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    fail("invalid JSON on line " + std::to_string(line_no_) + " of " + opt_.context + ": \"" + detail::shown(line, 80) +
         "\"");
  if (opt_.raise_on_error) {
    std::string message = json_stream_error(j);
    if (!message.empty()) fail(opt_.context + " failed: " + message);
  }
  return j;
}

void JsonLinesDecoder::fail(std::string message) {
  failed_ = std::move(message);
  throw StreamError(failed_);
}

std::vector<nlohmann::json> decode_json_lines(std::string_view text, JsonLinesOptions options) {
  std::vector<nlohmann::json> out;
  JsonLinesDecoder d(std::move(options));
  auto sink = [&](nlohmann::json&& j) { out.push_back(std::move(j)); };
  d.feed(text, sink);
  d.finish(sink);
  return out;
}

}  // namespace dind
