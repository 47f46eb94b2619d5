#include "dind/filters.hpp"

#include <utility>

#include "dind/errors.hpp"

namespace dind {

std::string encode_filters(const nlohmann::json& filters) {
  if (filters.is_null()) return {};
  if (filters.is_string()) return filters.get<std::string>();
  if (!filters.is_object()) throw Error("filters must be an object of lists, strings or bools, not " + filters.dump());
  nlohmann::json out = nlohmann::json::object();
  auto value = [](const nlohmann::json& v) -> std::string {
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
  };
  for (const auto& [k, v] : filters.items()) {
    nlohmann::json list = nlohmann::json::array();
    if (v.is_array()) {
      for (const auto& x : v) list.push_back(value(x));
    } else if (v.is_object()) {
      // The engine's own map form {"a=b": true}: keep its keys.
      for (const auto& [x, on] : v.items())
        if (!on.is_boolean() || on.get<bool>()) list.push_back(x);
    } else if (!v.is_null()) {
      list.push_back(value(v));
    }
    out[k] = std::move(list);
  }
  return out.dump();
}

}  // namespace dind
