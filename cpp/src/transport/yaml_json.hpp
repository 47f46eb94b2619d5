// Private to layer 1: YAML text as JSON, for kubeconfig files (kubeconfig.cpp). Parsed by libyaml (Debian's
// libyaml-dev): a C library, so that its static archive links into the wheel's _core like the rest of the core (a C++
// YAML library would bring a second libstdc++ and exceptions thrown across it).
//
// Mappings become objects (keys as strings), sequences arrays, anchors and aliases are resolved. Scalars stay strings
// (each field's reader decides its type: yaml_bool), except the plain (unquoted) null forms "", "~", "null", "Null"
// and "NULL", which become null. Only the first document is read.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace dind::detail {

// Malformed YAML: libyaml's problem and where it is (1-based).
struct YamlSyntaxError {
  std::string problem;
  std::size_t line = 0, column = 0;
};

// Throws YamlSyntaxError.
nlohmann::json yaml_to_json(std::string_view text);
// YAML 1.1's booleans, as kubectl's parser takes them: true/false, yes/no, on/off (lower, Title or UPPER case).
bool yaml_bool(const std::string& scalar, bool& out);

}  // namespace dind::detail
