// Layer 5: registry credentials the way the docker CLI finds them, in $DOCKER_CONFIG/config.json.
//
//   auto creds = dind::Credentials::from_env();        // $DOCKER_CONFIG (else ~/.docker)/config.json; none: empty
//   auto auth = creds.for_image("127.0.0.1:5000/dind:1");   // {"username","password","serveraddress"} or nullopt
//   images.pull("127.0.0.1:5000/dind", "1", auth);
//
// The lookup for a registry: credHelpers[registry] (a helper), else credsStore (the default helper), else the
// `auths` entry (base64 "user:pass" in `auth`, or `identitytoken`), matched by key or by the key's host. A helper is
// `docker-credential-NAME get`, found on PATH, given the server on stdin, answering JSON {"Username","Secret"}; the
// username "<token>" makes the secret an identity token. Docker Hub's key is https://index.docker.io/v1/.
// No message this file throws holds a secret: a failing helper is named with its registry and its stderr's first
// line.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dind {

// Docker Hub's name in references, and its key in config.json.
inline constexpr const char* kDockerHubRegistry = "docker.io";
inline constexpr const char* kDockerHubAuthKey = "https://index.docker.io/v1/";

// The registry an image reference names: its first path component when that holds '.' or ':' or is "localhost"
// (the reference rules of api/images.cpp `parse_repository_tag` strip the tag or digest first), else docker.io.
std::string registry_of_image(const std::string& image);
// config.json's key for a registry (docker.io and its aliases -> https://index.docker.io/v1/, else the name).
std::string auth_key_of(const std::string& registry);

// One registry's credentials. Holds the secret: never print it (there is no operator<<).
struct RegistryAuth {
  std::string server;  // the config.json key it was found under
  std::string username, password, identity_token;
  // The Engine API's X-Registry-Auth shape: {"username","password","serveraddress"} or {"identitytoken", ...}.
  nlohmann::json auth_config() const;
};

class Credentials {
 public:
  Credentials() = default;
  // $DOCKER_CONFIG/config.json (else $HOME/.docker/config.json) of this process's environment.
  static Credentials from_env();
  // `dir`/config.json; a missing file means no credentials, a malformed one throws Error naming it.
  static Credentials load(const std::string& dir);

  // The credentials for `registry` (a host[:port], docker.io, or a config.json key), or nullopt when there are
  // none. A helper that is missing or fails throws Error naming the helper and the registry.
  std::optional<RegistryAuth> get(const std::string& registry) const;
  std::optional<RegistryAuth> for_image(const std::string& image) const { return get(registry_of_image(image)); }
  // Every registry this config names (auths and credHelpers keys), resolved: what a login carries elsewhere.
  std::vector<RegistryAuth> all() const;

  const std::string& path() const noexcept { return path_; }  // the config.json read ("" for none)
  bool empty() const noexcept { return auths_.empty() && store_.empty() && helpers_.empty(); }

 private:
  std::string path_;
  std::map<std::string, nlohmann::json> auths_;
  std::string store_;
  std::map<std::string, std::string> helpers_;
};

// Writes `dir`/config.json (dir made 0700 if missing, the file 0600) holding `auths` in the `auths` shape, for a
// docker CLI pointed at it by DOCKER_CONFIG.
void write_docker_config(const std::string& dir, const std::vector<RegistryAuth>& auths);

}  // namespace dind
