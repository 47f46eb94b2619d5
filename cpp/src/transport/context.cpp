#include "dind/context.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/digest.hpp"
#include "core/shown.hpp"
#include "dind/errors.hpp"

namespace dind {
namespace {

using detail::shown;
// Document order, so that "the last of equal keys wins" can be decided as Go decides it.
using Json = nlohmann::ordered_json;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The value Go's encoding/json would decode into a struct field named `key`: every key equal to it ignoring ASCII
// case is assigned in turn, so the last one wins. Null leaves a Go field as it was: treated as absent.
const Json* field(const Json& object, std::string_view key) {
  const Json* found = nullptr;
  for (const auto& [k, v] : object.items())
    if (!v.is_null() && iequals(k, key)) found = &v;
  return found;
}

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// The file's text, or nullopt when it does not exist; any other failure throws Error naming the file.
std::optional<std::string> read_text(const std::string& path) {
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return std::nullopt;
    throw Error("cannot read " + path + ": " + std::strerror(err));
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot read " + path + ": " + std::strerror(errno));
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// meta.json is read whole (json.Unmarshal: nothing may follow the value); config.json as a stream (a json.Decoder:
// no value at all is an empty config, and what follows the first value is never read).
Json parse_json(std::string_view text, const std::string& file, bool first_value_only) {
  try {
    if (!first_value_only) return Json::parse(text.begin(), text.end());
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return Json();
    Json j;
    std::istringstream in{std::string(text)};
    in >> j;
    return j;
  } catch (const Json::exception& e) {
    throw Error(file + " is not valid JSON: " + shown(e.what()));
  }
}

[[noreturn]] void wrong_type(const std::string& file, const std::string& what, const Json& v, const char* expected) {
  throw Error(file + ": " + what + " is " + v.type_name() + ", expected " + expected);
}

std::string quoted(const std::string& name) {
  return "\"" + shown(name) + "\"";
}

// A port-less tcp:// or http:// Host in a context keeps no port: the CLI's HTTP client then dials 443 with TLS and 80
// without (DOCKER_HOST, by contrast, is completed to 2376/2375). Give Endpoint::parse that port explicitly.
std::string with_http_port(const std::string& host, bool tls) {
  std::string scheme;
  for (const char* s : {"tcp://", "http://"})
    if (host.rfind(s, 0) == 0) scheme = s;
  if (scheme.empty()) return host;
  std::string rest = host.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) return host;  // Endpoint::parse names the problem
  const bool has_port = rest[0] == '[' ? rest.find("]:") != std::string::npos : rest.find(':') != std::string::npos;
  if (has_port) return host;
  return scheme + rest + (tls ? ":443" : ":80");
}

DockerContext load(const std::string& config_dir, const std::string& name, const std::string& where) {
  const std::string named = "docker context " + quoted(name);
  const std::string who = named + (where.empty() ? "" : " (" + where + ")");
  if (name.empty() || name == kDefaultContextName)
    throw Error(who + ": the default context is not stored (it means DOCKER_HOST rules)");
  if (config_dir.empty())
    throw Error(who + " cannot be looked up: neither DOCKER_CONFIG nor HOME is set (the store is in " +
                "$DOCKER_CONFIG/contexts, by default ~/.docker/contexts)");
  DockerContext ctx;
  ctx.name = name;
  ctx.store_path = context_meta_dir(config_dir, name);
  const std::string file = ctx.store_path + "/meta.json";
  std::optional<std::string> text;
  try {
    text = read_text(file);
  } catch (const Error& e) {
    throw Error(who + ": " + e.what());
  }
  if (!text)
    throw Error(named + " not found in " + config_dir + "/contexts/meta (" + (where.empty() ? "" : where + "; ") +
                "see docker context ls)");
  ContextMeta meta;
  try {
    meta = parse_context_meta(*text, file);
  } catch (const Error& e) {
    throw Error(who + ": " + e.what());
  }
  if (!meta.has_docker_endpoint) throw Error(who + " has no docker endpoint (no Endpoints.docker in " + file + ")");
  ctx.host = meta.host.empty() ? kDefaultDockerHost : meta.host;
  ctx.skip_tls_verify = meta.skip_tls_verify;

  // TLS material is read only for TCP: the CLI gives none to sockets and ssh.
  const std::string tls_dir = context_tls_dir(config_dir, name);
  const std::string ca = tls_dir + "/ca.pem", cert = tls_dir + "/cert.pem", key = tls_dir + "/key.pem";
  const bool tcp =
      ctx.host.rfind("tcp://", 0) == 0 || ctx.host.rfind("http://", 0) == 0 || ctx.host.rfind("https://", 0) == 0;
  const bool has_ca = tcp && exists(ca), has_cert = tcp && exists(cert), has_key = tcp && exists(key);
  const bool tls = has_ca || has_cert || has_key || ctx.skip_tls_verify;
  try {
    ctx.endpoint = Endpoint::parse(with_http_port(ctx.host, tls), tls);
  } catch (const Error& e) {
    throw Error(who + ", endpoint in " + file + ": " + e.what());
  }
  if (ctx.endpoint.is_tcp() && ctx.endpoint.tls) {
    try {
      ctx.tls = TlsConfig::from_files(has_ca ? ca : "", has_cert ? cert : "", has_key ? key : "", !ctx.skip_tls_verify);
    } catch (const TlsError& e) {
      throw TlsError(who + ": " + e.what());
    }
    // The CLI would fall back to the system's roots here; dind trusts only the CA it is given.
    if (ctx.tls->verify && ctx.tls->ca_pem.empty())
      throw TlsError(who + ": TLS to " + ctx.endpoint.url() + " with verification, but no CA certificate in " +
                     tls_dir + " (ca.pem); give the context a CA (docker context update " + shown(name) +
                     " --docker ca=...) or skip-tls-verify=true");
  }
  return ctx;
}

}  // namespace

std::string CurrentContext::where() const {
  switch (source) {
    case Source::DockerContext: return "DOCKER_CONTEXT=" + shown(name);
    case Source::ConfigFile: return "currentContext in " + config_dir + "/config.json";
    case Source::DockerHost: return "DOCKER_HOST is set";
    case Source::None: break;
  }
  return "no context chosen";
}

ClientConfig DockerContext::client_config() const {
  ClientConfig c;
  c.endpoint = endpoint;
  if (endpoint.is_tcp() && endpoint.tls) c.tls = tls ? *tls : TlsConfig{};
  return c;
}

std::string docker_config_dir(const std::map<std::string, std::string>& env) {
  auto it = env.find("DOCKER_CONFIG");
  if (it != env.end() && !it->second.empty()) return it->second;
  it = env.find("HOME");
  if (it != env.end() && !it->second.empty()) return it->second + "/.docker";
  return {};
}

CurrentContext current_context(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* k) {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  CurrentContext cur;
  cur.config_dir = docker_config_dir(env);
  if (!get("DOCKER_HOST").empty()) {
    cur.source = CurrentContext::Source::DockerHost;
    return cur;
  }
  if (std::string name = get("DOCKER_CONTEXT"); !name.empty()) {
    cur.name = std::move(name);
    cur.source = CurrentContext::Source::DockerContext;
    return cur;
  }
  if (cur.config_dir.empty()) return cur;
  const std::string file = cur.config_dir + "/config.json";
  const std::optional<std::string> text = read_text(file);
  if (!text) return cur;
  if (std::string name = parse_current_context(*text, file); !name.empty()) {
    cur.name = std::move(name);
    cur.source = CurrentContext::Source::ConfigFile;
  }
  return cur;
}

DockerContext load_context(const std::string& config_dir, const std::string& name) {
  return load(config_dir, name, "");
}

DockerContext load_context(const CurrentContext& current) {
  return load(current.config_dir, current.name, current.where());
}

ContextMeta parse_context_meta(std::string_view text, const std::string& file) {
  const Json j = parse_json(text, file, false);
  ContextMeta m;
  if (j.is_null()) return m;
  if (!j.is_object()) wrong_type(file, "the document", j, "an object");
  if (const Json* name = field(j, "Name")) {
    if (!name->is_string()) wrong_type(file, "Name", *name, "a string");
    m.name = name->get<std::string>();
  }
  if (const Json* meta = field(j, "Metadata"); meta && !meta->is_object())
    wrong_type(file, "Metadata", *meta, "an object");
  const Json* endpoints = field(j, "Endpoints");
  if (!endpoints) return m;
  if (!endpoints->is_object()) wrong_type(file, "Endpoints", *endpoints, "an object");
  // Endpoints is a map in the CLI: its keys match exactly. Every endpoint must be an object (or null).
  for (const auto& [k, v] : endpoints->items())
    if (!v.is_null() && !v.is_object()) wrong_type(file, "Endpoints." + shown(k), v, "an object");
  const auto docker = endpoints->find("docker");
  if (docker == endpoints->end() || docker->is_null()) return m;
  m.has_docker_endpoint = true;
  if (const Json* host = field(*docker, "Host")) {
    if (!host->is_string()) wrong_type(file, "Endpoints.docker.Host", *host, "a string");
    m.host = host->get<std::string>();
  }
  if (const Json* skip = field(*docker, "SkipTLSVerify")) {
    if (!skip->is_boolean()) wrong_type(file, "Endpoints.docker.SkipTLSVerify", *skip, "a boolean");
    m.skip_tls_verify = skip->get<bool>();
  }
  return m;
}

std::string parse_current_context(std::string_view text, const std::string& file) {
  const Json j = parse_json(text, file, true);
  if (j.is_null()) return {};
  if (!j.is_object()) wrong_type(file, "the document", j, "an object");
  const Json* cur = field(j, "currentContext");
  if (!cur) return {};
  if (!cur->is_string()) wrong_type(file, "currentContext", *cur, "a string");
  return cur->get<std::string>();
}

std::string context_meta_dir(const std::string& config_dir, const std::string& name) {
  return config_dir + "/contexts/meta/" + detail::sha256_hex(name, "docker context name " + name);
}

std::string context_tls_dir(const std::string& config_dir, const std::string& name) {
  return config_dir + "/contexts/tls/" + detail::sha256_hex(name, "docker context name " + name) + "/docker";
}

}  // namespace dind
