// Layer 1: docker contexts, read the way the docker CLI reads them. A context names an engine endpoint and its TLS
// material in the CLI's store under $DOCKER_CONFIG (default ~/.docker):
//   config.json                                  {"currentContext": NAME}
//   contexts/meta/<sha256 hex of NAME>/meta.json {"Name", "Metadata", "Endpoints": {"docker": {"Host",
//   "SkipTLSVerify"}}} contexts/tls/<same hash>/docker/             ca.pem, cert.pem, key.pem (each optional)
// ClientConfig::from_env uses these when DOCKER_HOST is empty.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "dind/client_config.hpp"
#include "dind/endpoint.hpp"
#include "dind/tls.hpp"

namespace dind {

inline constexpr const char* kDefaultContextName = "default";

// Which context the docker CLI would use, and why.
struct CurrentContext {
  enum class Source {
    None,           // nothing chose one: the default context
    DockerHost,     // DOCKER_HOST is set: the default context, whatever else says
    DockerContext,  // the DOCKER_CONTEXT variable
    ConfigFile,     // "currentContext" in config.json
  };
  std::string name = kDefaultContextName;  // "default" means DOCKER_HOST rules, not a stored context
  Source source = Source::None;
  std::string config_dir;  // $DOCKER_CONFIG or $HOME/.docker; empty when neither is set

  bool is_default() const noexcept { return name == kDefaultContextName; }
  // For messages: "DOCKER_CONTEXT=ci", "currentContext in /root/.docker/config.json", ...
  std::string where() const;
};

// A context's docker endpoint, loaded from the store.
struct DockerContext {
  std::string name;
  std::string host;              // the endpoint's Host; the store's empty Host means unix:///var/run/docker.sock
  bool skip_tls_verify = false;  // TLS without verifying the server (the CLI's InsecureSkipVerify)
  Endpoint endpoint;             // `host` parsed; TLS over TCP when the store has TLS files or skip_tls_verify
  std::optional<TlsConfig> tls;  // TCP endpoints only: the store's ca/cert/key (read now); sockets and ssh use none
  std::string store_path;        // the context's meta directory, for messages

  // A client config for this endpoint and its TLS material (DOCKER_TLS_VERIFY and DOCKER_CERT_PATH do not apply).
  ClientConfig client_config() const;
};

// $DOCKER_CONFIG if non-empty, else $HOME/.docker, else empty; read from `env` only.
std::string docker_config_dir(const std::map<std::string, std::string>& env);

// The docker CLI's order: DOCKER_HOST (non-empty) means the default context; else DOCKER_CONTEXT (non-empty); else
// currentContext in config.json; else the default. A missing config.json is no choice; an unreadable or malformed one
// throws Error naming it (the CLI warns and goes on with the default engine, which would be the wrong one).
CurrentContext current_context(const std::map<std::string, std::string>& env);

// Loads the stored context `name` (not "default") from the store under `config_dir`. Throws Error when it does not
// exist (naming the name and the store it looked in), when its meta.json is malformed or has no docker endpoint, or
// when its Host does not parse; TlsError when a TLS file cannot be read.
DockerContext load_context(const std::string& config_dir, const std::string& name);
// The same for the current context; messages also say where its name came from.
DockerContext load_context(const CurrentContext& current);

// The parsers under load_context and current_context, on a file's text; `file` names it in errors. Keys match
// case-insensitively and the last of equal keys wins, as Go's encoding/json decodes the CLI's files.
struct ContextMeta {
  std::string name;  // the "Name" the file holds (the CLI does not check it against the looked-up name)
  bool has_docker_endpoint = false;
  std::string host;  // empty when the file has none
  bool skip_tls_verify = false;
};
ContextMeta parse_context_meta(std::string_view text, const std::string& file);
// "currentContext" of a config.json; empty when it has none. Like the CLI's decoder, an empty file is an empty config
// and what follows the first JSON value is not read.
std::string parse_current_context(std::string_view text, const std::string& file);

// The meta.json directory of `name` under `config_dir`: contexts/meta/<sha256 hex of name>.
std::string context_meta_dir(const std::string& config_dir, const std::string& name);
std::string context_tls_dir(const std::string& config_dir, const std::string& name);

}  // namespace dind
