#include "dind/volumes.hpp"

#include "api/request_json.hpp"
#include "dind/errors.hpp"
#include "dind/filters.hpp"

namespace dind {

using json = nlohmann::json;

namespace {

json string_map(const std::map<std::string, std::string>& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

}  // namespace

json Volumes::create(const std::string& name, const std::string& driver,
                     const std::map<std::string, std::string>& driver_opts,
                     const std::map<std::string, std::string>& labels) {
  json b = json::object();
  if (!name.empty()) b["Name"] = name;
  if (!driver.empty()) b["Driver"] = driver;
  if (!driver_opts.empty()) b["DriverOpts"] = string_map(driver_opts);
  if (!labels.empty()) b["Labels"] = string_map(labels);
  return detail::request_json(client_, "POST", "/volumes/create", {}, Body::json(b), json::object());
}

json Volumes::inspect(const std::string& name) {
  return detail::request_json(client_, "GET", "/volumes/" + http::url_encode(name), {}, std::nullopt, json::object());
}

json Volumes::list(const json& filters) {
  Query q;
  if (!filters.is_null() && !filters.empty()) q.emplace_back("filters", encode_filters(filters));
  return detail::request_json(client_, "GET", "/volumes", q, std::nullopt, json::object());
}

void Volumes::remove(const std::string& name, bool force) {
  Query q;
  if (force) q.emplace_back("force", "true");
  client_.request("DELETE", "/volumes/" + http::url_encode(name), q);
}

json Volumes::prune(const json& filters) {
  Query q;
  if (!filters.is_null() && !filters.empty()) q.emplace_back("filters", encode_filters(filters));
  // Pruning walks every volume; it is still one unary call under the client's timeout.
  return detail::request_json(client_, "POST", "/volumes/prune", q, std::nullopt, json::object());
}

}  // namespace dind
