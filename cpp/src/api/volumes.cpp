#include "dind/volumes.hpp"

#include "dind/errors.hpp"
#include "dind/filters.hpp"

namespace dind {

using json = nlohmann::json;

namespace {

json parse_body(const Response& r, const std::string& what, const std::string& host) {
  if (r.body.empty()) return json::object();
  try {
    return json::parse(r.body);
  } catch (const json::exception& e) {
    throw Error(what + " on " + host + ": the engine's answer is not JSON: " + e.what());
  }
}

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
  return parse_body(client_.request("POST", "/volumes/create", {}, Body::json(b)), "POST /volumes/create",
                    client_.host());
}

json Volumes::inspect(const std::string& name) {
  const std::string path = "/volumes/" + http::url_encode(name);
  return parse_body(client_.request("GET", path), "GET " + path, client_.host());
}

json Volumes::list(const json& filters) {
  Query q;
  if (!filters.is_null() && !filters.empty()) q.emplace_back("filters", encode_filters(filters));
  return parse_body(client_.request("GET", "/volumes", q), "GET /volumes", client_.host());
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
  return parse_body(client_.request("POST", "/volumes/prune", q), "POST /volumes/prune", client_.host());
}

}  // namespace dind
