#include "dind/networks.hpp"

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

json string_list(const std::vector<std::string>& v) {
  json j = json::array();
  for (const auto& s : v) j.push_back(s);
  return j;
}

}  // namespace

json NetworkCreate::body(const std::string& name) const {
  json b = json::object();
  b["Name"] = name;
  if (!driver.empty()) b["Driver"] = driver;
  if (!options.empty()) b["Options"] = string_map(options);
  if (!ipam.is_null()) b["IPAM"] = ipam;
  if (check_duplicate) b["CheckDuplicate"] = *check_duplicate;
  if (internal) b["Internal"] = true;
  if (!labels.empty()) b["Labels"] = string_map(labels);
  if (enable_ipv6) b["EnableIPv6"] = true;
  if (attachable) b["Attachable"] = *attachable;
  if (ingress) b["Ingress"] = *ingress;
  if (!scope.empty()) b["Scope"] = scope;
  if (extra.is_object()) b.update(extra);
  return b;
}

json NetworkEndpoint::body() const {
  json b = json::object();
  if (!aliases.empty()) b["Aliases"] = string_list(aliases);
  if (!links.empty()) {
    // docker-py's normalize_links: "name" means "name:name".
    json l = json::array();
    for (const auto& s : links) l.push_back(s.find(':') == std::string::npos ? s + ":" + s : s);
    b["Links"] = std::move(l);
  }
  json ipam = json::object();
  if (!ipv4_address.empty()) ipam["IPv4Address"] = ipv4_address;
  if (!ipv6_address.empty()) ipam["IPv6Address"] = ipv6_address;
  if (!link_local_ips.empty()) ipam["LinkLocalIPs"] = string_list(link_local_ips);
  if (!ipam.empty()) b["IPAMConfig"] = std::move(ipam);
  if (!driver_opt.empty()) b["DriverOpts"] = string_map(driver_opt);
  if (!mac_address.empty()) b["MacAddress"] = mac_address;
  return b;
}

json Networks::create(const std::string& name, const NetworkCreate& options) {
  return create(options.body(name));
}

json Networks::create(const json& body) {
  if (!body.is_object() || !body.contains("Name") || !body["Name"].is_string())
    throw Error("POST /networks/create on " + client_.host() + ": the body needs a string \"Name\", got " +
                body.dump());
  return detail::request_json(client_, "POST", "/networks/create", {}, Body::json(body), json::object());
}

json Networks::inspect(const std::string& id, std::optional<bool> verbose, const std::string& scope) {
  Query q;
  if (verbose) q.emplace_back("verbose", *verbose ? "true" : "false");
  if (!scope.empty()) q.emplace_back("scope", scope);
  return detail::request_json(client_, "GET", "/networks/" + http::url_encode(id), q, std::nullopt, json::object());
}

json Networks::list(const json& filters) {
  Query q;
  if (!filters.is_null() && !filters.empty()) q.emplace_back("filters", encode_filters(filters));
  return detail::request_json(client_, "GET", "/networks", q, std::nullopt, json::object());
}

void Networks::connect(const std::string& network, const std::string& container, const NetworkEndpoint& endpoint) {
  json b = {{"Container", container}};
  json ec = endpoint.body();
  if (!ec.empty()) b["EndpointConfig"] = std::move(ec);
  client_.request("POST", "/networks/" + http::url_encode(network) + "/connect", {}, Body::json(b));
}

void Networks::disconnect(const std::string& network, const std::string& container, bool force) {
  json b = {{"Container", container}};
  if (force) b["Force"] = true;
  client_.request("POST", "/networks/" + http::url_encode(network) + "/disconnect", {}, Body::json(b));
}

void Networks::remove(const std::string& id) {
  client_.request("DELETE", "/networks/" + http::url_encode(id));
}

json Networks::prune(const json& filters) {
  Query q;
  if (!filters.is_null() && !filters.empty()) q.emplace_back("filters", encode_filters(filters));
  return detail::request_json(client_, "POST", "/networks/prune", q, std::nullopt, json::object());
}

}  // namespace dind
