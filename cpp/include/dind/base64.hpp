// Base64 (RFC 4648) for the engine's headers: X-Registry-Auth / X-Registry-Config are sent base64url WITH padding
// (Go's base64.URLEncoding; the daemon silently ignores a header it cannot decode, so the alphabet matters), and
// X-Docker-Container-Path-Stat arrives in the standard alphabet.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace dind {

// Standard alphabet (+/), padded.
std::string base64_encode(std::string_view data);
// URL-safe alphabet (-_), padded: what moby's client and daemon use for X-Registry-Auth.
std::string base64url_encode(std::string_view data);
// Decodes either alphabet, padding optional. Throws dind::Error on any other character or a bad length.
std::string base64_decode(std::string_view text);

// The X-Registry-Auth value for an auth config ({"username","password","serveraddress"} or {"identitytoken"}).
std::string encode_registry_auth(const nlohmann::json& auth_config);

}  // namespace dind
