#include "dind/credentials.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dind/base64.hpp"
#include "dind/context.hpp"
#include "dind/errors.hpp"
#include "dind/images.hpp"

extern char** environ;

namespace dind {

namespace {

// "https://host:port/v1/" -> "host:port", as the CLI compares keys with a reference's registry.
std::string host_of_key(std::string key) {
  if (auto p = key.find("://"); p != std::string::npos) key = key.substr(p + 3);
  return key.substr(0, key.find('/'));
}

struct Output {
  int status = -1;
  std::string out, err;
};

struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// Runs `program arg` with `input` on stdin; both outputs collected (poll: neither pipe can fill up and block it).
Output run_helper(const std::string& program, const std::string& arg, const std::string& input) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
    throw Error("running " + program + ": pipe failed: " + std::strerror(errno));
  Fd in_w{in[1]}, out_r{out[0]}, err_r{err[0]};
  {
    Fd in_r{in[0]}, out_w{out[1]}, err_w{err[1]};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_r.fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_w.fd, 2);
    std::string p = program, a = arg;
    char* argv[] = {p.data(), a.data(), nullptr};
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, p.c_str(), &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw Error(program + " cannot be run: " + std::strerror(rc) + " (is it on PATH?)");
    Output o;
    ssize_t w = ::write(in_w.fd, input.data(), input.size());
    (void)w;  // a helper that exits without reading its stdin answers anyway
    in_w.reset();
    out_w.reset();
    err_w.reset();
    pollfd fds[2] = {{out_r.fd, POLLIN, 0}, {err_r.fd, POLLIN, 0}};
    std::string* sinks[2] = {&o.out, &o.err};
    for (int open = 2; open > 0;) {
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || !fds[i].revents) continue;
        char buf[4096];
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n > 0) sinks[i]->append(buf, static_cast<std::size_t>(n));
        if (n <= 0) fds[i].fd = -1, --open;
      }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return o;
  }
}

std::string first_line(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return line;
}

// `docker-credential-NAME get` for `server`; nullopt for "not found" (the CLI's rule: no credentials, no error).
std::optional<RegistryAuth> from_helper(const std::string& name, const std::string& server,
                                        const std::string& registry) {
  const std::string program = "docker-credential-" + name;
  const std::string what = "the credential helper " + program + " for registry " + registry;
  Output o;
  try {
    o = run_helper(program, "get", server);
  } catch (const Error& e) {
    throw Error(what + " failed: " + e.what());
  }
  if (o.status != 0) {
    const std::string said = first_line(o.err.empty() ? o.out : o.err);
    if (said.find("credentials not found") != std::string::npos) return std::nullopt;
    throw Error(what + " failed (exit " + std::to_string(o.status) + "): " + (said.empty() ? "no output" : said));
  }
  const auto j = nlohmann::json::parse(o.out, nullptr, false);
  if (!j.is_object() || !j.contains("Secret"))
    throw Error(what + " answered something that is not JSON with Username and Secret");
  RegistryAuth a;
  a.server = server;
  const std::string user = j.value("Username", "");
  if (user == "<token>")
    a.identity_token = j.value("Secret", "");
  else
    a.username = user, a.password = j.value("Secret", "");
  if (a.username.empty() && a.password.empty() && a.identity_token.empty()) return std::nullopt;
  return a;
}

std::optional<RegistryAuth> from_auths_entry(const std::string& key, const nlohmann::json& e, const std::string& path) {
  RegistryAuth a;
  a.server = key;
  if (e.contains("auth") && e["auth"].is_string() && !e["auth"].get<std::string>().empty()) {
    const std::string decoded = base64_decode(e["auth"].get<std::string>());
    const auto colon = decoded.find(':');
    if (colon == std::string::npos)
      throw Error("the auths entry for " + key + " in " + path + " is not base64 of user:password");
    a.username = decoded.substr(0, colon);
    a.password = decoded.substr(colon + 1);
  }
  if (e.contains("identitytoken") && e["identitytoken"].is_string())
    a.identity_token = e["identitytoken"].get<std::string>();
  if (a.username.empty() && a.password.empty() && a.identity_token.empty()) return std::nullopt;
  return a;
}

}  // namespace

std::string registry_of_image(const std::string& image) {
  const std::string repo = parse_repository_tag(image).first;
  const auto slash = repo.find('/');
  if (slash == std::string::npos) return kDockerHubRegistry;
  const std::string first = repo.substr(0, slash);
  if (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost")
    return first == "index.docker.io" || first == "registry-1.docker.io" ? kDockerHubRegistry : first;
  return kDockerHubRegistry;
}

std::string auth_key_of(const std::string& registry) {
  const std::string host = host_of_key(registry);
  if (host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io") return kDockerHubAuthKey;
  return registry;
}

nlohmann::json RegistryAuth::auth_config() const {
  nlohmann::json j = {{"serveraddress", server}};
  if (!identity_token.empty()) j["identitytoken"] = identity_token;
  if (!username.empty()) j["username"] = username;
  if (!password.empty()) j["password"] = password;
  return j;
}

Credentials Credentials::from_env() {
  std::map<std::string, std::string> env;
  for (const char* k : {"DOCKER_CONFIG", "HOME"})
    if (const char* v = std::getenv(k)) env[k] = v;
  const std::string dir = docker_config_dir(env);
  return dir.empty() ? Credentials() : load(dir);
}

Credentials Credentials::load(const std::string& dir) {
  Credentials c;
  const std::string path = dir + "/config.json";
  std::ifstream f(path);
  if (!f) return c;
  std::stringstream ss;
  ss << f.rdbuf();
  const auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (!j.is_object()) throw Error("reading registry credentials: " + path + " is not a JSON object");
  c.path_ = path;
  if (j.contains("auths") && j["auths"].is_object())
    for (const auto& [k, v] : j["auths"].items()) c.auths_[k] = v;
  if (j.contains("credsStore") && j["credsStore"].is_string()) c.store_ = j["credsStore"].get<std::string>();
  if (j.contains("credHelpers") && j["credHelpers"].is_object())
    for (const auto& [k, v] : j["credHelpers"].items())
      if (v.is_string()) c.helpers_[k] = v.get<std::string>();
  return c;
}

std::optional<RegistryAuth> Credentials::get(const std::string& registry) const {
  const std::string key = auth_key_of(registry);
  const std::string host = host_of_key(key);
  for (const auto& [k, helper] : helpers_)
    if (k == key || host_of_key(k) == host) return from_helper(helper, k, registry);
  if (!store_.empty()) return from_helper(store_, key, registry);
  if (auto it = auths_.find(key); it != auths_.end()) return from_auths_entry(key, it->second, path_);
  for (const auto& [k, e] : auths_)
    if (host_of_key(k) == host) return from_auths_entry(k, e, path_);
  return std::nullopt;
}

std::vector<RegistryAuth> Credentials::all() const {
  std::map<std::string, bool> keys;
  for (const auto& [k, e] : auths_) keys[k] = true;
  for (const auto& [k, h] : helpers_) keys[k] = true;
  std::vector<RegistryAuth> out;
  for (const auto& [k, _] : keys)
    if (auto a = get(k)) out.push_back(std::move(*a));
  return out;
}

void write_docker_config(const std::string& dir, const std::vector<RegistryAuth>& auths) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error("making " + dir + " failed: " + std::strerror(errno));
  nlohmann::json j = {{"auths", nlohmann::json::object()}};
  for (const auto& a : auths) {
    nlohmann::json e = nlohmann::json::object();
    if (!a.username.empty() || !a.password.empty()) e["auth"] = base64_encode(a.username + ":" + a.password);
    if (!a.identity_token.empty()) e["identitytoken"] = a.identity_token;
    j["auths"][a.server] = e;
  }
  const std::string path = dir + "/config.json";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error("writing " + path + " failed: " + std::strerror(errno));
  const std::string text = j.dump(2);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) throw Error("writing " + path + " failed: " + std::strerror(errno));
}

}  // namespace dind
