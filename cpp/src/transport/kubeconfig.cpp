// kubeconfig files and the in-cluster config, read as client-go's loading rules read them (dind/kubeconfig.hpp).
#include "dind/kubeconfig.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "core/shown.hpp"
#include "transport/yaml_json.hpp"

namespace dind {
namespace {

using detail::shown;

constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string in_quotes(const std::string& name) {
  return "'" + shown(name) + "'";
}

// The whole file into `out`; false with `err` (an errno) when it cannot be opened or read.
bool read_file(const std::string& path, std::string& out, int& err) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err = errno, false;
  out.clear();
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return err = errno, ::close(fd), false;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return true;
}

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Standard base64 (what Go's encoding/json makes of a []byte): line breaks and blanks skipped, padding optional.
// Not dind/base64.hpp: that is layer 4, this layer 1.
bool base64_decode(const std::string& text, std::string& out) {
  out.clear();
  unsigned bits = 0, nbits = 0, pad = 0;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '+') v = 62;
    if (c == '/') v = 63;
    if (c == '=' && ++pad <= 2) continue;
    if (v < 0 || pad > 0) return false;  // another character, or data after the padding
    bits = (bits << 6) | static_cast<unsigned>(v);
    nbits += 6;
    if (nbits >= 8) out += static_cast<char>((bits >> (nbits -= 8)) & 0xff);
  }
  return nbits < 6;  // no lone sextet; leftover bits need not be zero (Go's default decoder does not check them)
}

using Node = nlohmann::json;

// The value at `key` of a map, null when absent.
Node get(const Node& map, const char* key) {
  const auto it = map.find(key);
  return it == map.end() ? Node() : *it;
}

// One cluster, user or context body, and the file that defined it.
struct Entry {
  Node body;
  std::string file;
};

// What the files say, merged: the first file that defines a name wins, and the first that sets current-context.
struct Merged {
  std::vector<std::string> files;  // those read, in order
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current, current_file;
};

// The string at `key` of a map: empty when it is absent or null. `where` names the map in errors.
std::string str(const Node& map, const char* key, const std::string& where) {
  const Node v = get(map, key);
  if (v.is_null()) return {};
  if (!v.is_string()) throw Error(where + ": " + key + " is not a string");
  return v.get<std::string>();
}

bool flag(const Node& map, const char* key, const std::string& where) {
  const Node v = get(map, key);
  if (v.is_null()) return false;
  bool b = false;
  if (!v.is_string() || !detail::yaml_bool(v.get<std::string>(), b))
    throw Error(where + ": " + key + " is not a boolean");
  return b;
}

// clusters/users/contexts of one file: [{name: N, <inner>: {...}}, ...] into `into`, where names already there
// (from an earlier file) stay. The same name twice in one file is an error, as for client-go.
void merge_list(const Node& doc, const char* key, const char* inner, const std::string& file,
                std::map<std::string, Entry>& into) {
  const Node list = get(doc, key);
  if (list.is_null()) return;
  const std::string where = "kubeconfig " + file;
  if (!list.is_array()) throw Error(where + ": " + key + " is not a list");
  std::set<std::string> seen;
  for (const Node& item : list) {
    if (!item.is_object()) throw Error(where + ": an entry of " + key + " is not a map");
    const std::string name = str(item, "name", where + ", " + key);
    if (!seen.insert(name).second) throw Error(where + ": " + key + " has " + in_quotes(name) + " twice");
    Node body = get(item, inner);
    if (!body.is_null() && !body.is_object())
      throw Error(where + ": " + inner + " of " + in_quotes(name) + " is not a map");
    if (body.is_null()) body = Node::object();
    into.emplace(name, Entry{body, file});  // emplace keeps an earlier file's entry
  }
}

void merge_file(const std::string& file, const std::string& text, Merged& m) {
  Node doc;
  try {
    doc = detail::yaml_to_json(text);
  } catch (const detail::YamlSyntaxError& e) {
    throw Error("kubeconfig " + file + " is not valid YAML: " + shown(e.problem) + " at line " +
                std::to_string(e.line) + ", column " + std::to_string(e.column));
  }
  m.files.push_back(file);
  if (doc.is_null()) return;  // an empty file is an empty config
  if (!doc.is_object()) throw Error("kubeconfig " + file + " is not a map of apiVersion, clusters, contexts, users");
  merge_list(doc, "clusters", "cluster", file, m.clusters);
  merge_list(doc, "users", "user", file, m.users);
  merge_list(doc, "contexts", "context", file, m.contexts);
  const std::string current = str(doc, "current-context", "kubeconfig " + file);
  if (m.current.empty() && !current.empty()) m.current = current, m.current_file = file;
}

// A path from a kubeconfig: relative ones are relative to the directory of the file that defined them.
std::string resolved(const std::string& path, const std::string& file) {
  if (path.empty() || path[0] == '/') return path;
  const auto slash = file.rfind('/');
  return slash == std::string::npos ? path : file.substr(0, slash + 1) + path;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string names(const std::map<std::string, Entry>& entries) {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries) out.push_back(in_quotes(name));
  return out.empty() ? "none" : joined(out);
}

// The PEM of a -data field (base64) or else of a file field; empty when neither is set. `what` names the entry.
std::string pem(const Entry& e, const std::string& field, const std::string& what, std::string& source) {
  const std::string data = str(e.body, (field + "-data").c_str(), what);
  std::string out;
  if (!data.empty()) {
    source = field + "-data of " + what;
    if (!base64_decode(data, out)) throw TlsError(source + " is not base64");
    return out;
  }
  const std::string path = resolved(str(e.body, field.c_str(), what), e.file);
  if (path.empty()) return {};
  source = path;
  int err = 0;
  if (!read_file(path, out, err))
    throw TlsError("cannot read the " + field + " file " + path + " of " + what + ": " + std::strerror(err));
  if (out.empty()) throw TlsError("the " + field + " file " + path + " of " + what + " is empty");
  return out;
}

void take_cluster(KubeTarget& t, const Entry& c) {
  const std::string what = "cluster " + in_quotes(t.cluster) + " in " + c.file;
  t.server = str(c.body, "server", what);
  while (!t.server.empty() && t.server.back() == '/') t.server.pop_back();
  if (t.server.empty()) throw Error(what + " has no server");
  t.tls.server_name = str(c.body, "tls-server-name", what);
  t.tls.verify = !flag(c.body, "insecure-skip-tls-verify", what);
  if (t.tls.verify) t.tls.ca_pem = pem(c, "certificate-authority", what, t.tls.ca_source);
  // client-go would fall back to the system's roots; dind trusts only the CA it is given.
  if (t.tls.verify && t.tls.ca_pem.empty() && t.server.rfind("https://", 0) == 0)
    throw TlsError(what + ": the server " + shown(t.server) +
                   " would be verified, but the cluster has no certificate-authority(-data) and dind never uses the "
                   "system's CA store (give the CA, or insecure-skip-tls-verify: true)");
}

void take_user(KubeTarget& t, const Entry& u) {
  const std::string what = "user " + in_quotes(t.user) + " in " + u.file;
  for (const char* plugin : {"exec", "auth-provider"}) {
    if (!get(u.body, plugin).is_null())
      throw Error(what + " authenticates with " + plugin +
                  ", which dind does not support yet (give it a token, a tokenFile or a client certificate)");
  }
  t.tls.cert_pem = pem(u, "client-certificate", what, t.tls.cert_source);
  t.tls.key_pem = pem(u, "client-key", what, t.tls.key_source);
  if (t.tls.cert_pem.empty() != t.tls.key_pem.empty())
    throw TlsError(
        what + " has a client " +
        (t.tls.key_pem.empty() ? "certificate but no client-key(-data)" : "key but no client-certificate(-data)"));
  t.token = str(u.body, "token", what);
  const std::string token_file = resolved(str(u.body, "tokenFile", what), u.file);
  if (t.token.empty() && !token_file.empty()) {
    int err = 0;
    if (!read_file(token_file, t.token, err))
      throw Error("cannot read the tokenFile " + token_file + " of " + what + ": " + std::strerror(err));
    t.token = trimmed(t.token);
  }
  t.username = str(u.body, "username", what);
  t.password = str(u.body, "password", what);
  if ((!t.token.empty() || !token_file.empty()) && (!t.username.empty() || !t.password.empty()))
    throw Error(what + " has both a token and basic auth (username/password): kubectl allows only one of them");
}

const Entry& named(const std::map<std::string, Entry>& entries, const char* kind, const std::string& name,
                   const std::string& context, const Merged& m) {
  if (name.empty()) throw Error(context + " names no " + kind + " (kubeconfig " + joined(m.files) + ")");
  const auto it = entries.find(name);
  if (it == entries.end())
    throw Error(context + " names " + kind + " " + in_quotes(name) + ", which kubeconfig " + joined(m.files) +
                " does not define (" + kind + "s there: " + names(entries) + ")");
  return it->second;
}

KubeTarget resolve(const Merged& m, const std::string& asked) {
  const std::string files = joined(m.files);
  const std::string name = asked.empty() ? m.current : asked;
  if (name.empty())
    throw Error("no kubeconfig context chosen: kubeconfig " + files +
                " sets no current-context and none was asked for (contexts there: " + names(m.contexts) + ")");
  const auto it = m.contexts.find(name);
  if (it == m.contexts.end())
    throw Error("kubeconfig context " + in_quotes(name) +
                (asked.empty() ? " (the current-context of " + m.current_file + ")" : std::string()) +
                " not found in " + files + " (contexts there: " + names(m.contexts) + ")");
  KubeTarget t;
  t.context = name;
  const std::string what = "kubeconfig context " + in_quotes(name) + " in " + it->second.file;
  t.cluster = str(it->second.body, "cluster", what);
  t.user = str(it->second.body, "user", what);
  t.namespace_ = str(it->second.body, "namespace", what);
  if (t.namespace_.empty()) t.namespace_ = "default";
  const Entry& cluster = named(m.clusters, "cluster", t.cluster, what, m);
  const Entry& user = named(m.users, "user", t.user, what, m);
  take_cluster(t, cluster);
  take_user(t, user);
  std::vector<std::string> from;
  for (const std::string* f : {&it->second.file, &cluster.file, &user.file})
    if (std::find(from.begin(), from.end(), *f) == from.end()) from.push_back(*f);
  t.source = joined(from);
  return t;
}

// The pod's service account, or false with why not in `why`.
bool in_cluster(KubeTarget& t, std::string& why) {
  const std::string host = env("KUBERNETES_SERVICE_HOST"), port = env("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    why = "not in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not both set)";
    return false;
  }
  const std::string hook = env("DIND_KUBE_SA_DIR");
  const std::string dir = hook.empty() ? kServiceAccountDir : hook;
  const std::string where = "the in-cluster service account (" + dir + ")";
  int err = 0;
  if (!read_file(dir + "/token", t.token, err)) {
    if (err != ENOENT && err != ENOTDIR)
      throw Error("cannot read " + dir + "/token of " + where + ": " + std::strerror(err));
    why = "no in-cluster service account (KUBERNETES_SERVICE_HOST is set, but " + dir + "/token does not exist)";
    return false;
  }
  t.token = trimmed(t.token);
  if (!read_file(dir + "/ca.crt", t.tls.ca_pem, err))
    throw TlsError("cannot read the CA " + dir + "/ca.crt of " + where + ": " + std::strerror(err));
  t.tls.ca_source = dir + "/ca.crt";
  std::string ns;
  t.namespace_ = read_file(dir + "/namespace", ns, err) && !trimmed(ns).empty() ? trimmed(ns) : "default";
  t.server = "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  t.context = t.cluster = t.user = "in-cluster";
  t.source = "in-cluster service account";
  return true;
}

// Reads `file` into `m`; false when it does not exist and `must_exist` is off.
bool load_file(const std::string& file, bool must_exist, Merged& m) {
  std::string text;
  int err = 0;
  if (read_file(file, text, err)) return merge_file(file, text, m), true;
  if ((err == ENOENT || err == ENOTDIR) && !must_exist) return false;
  throw Error("cannot read kubeconfig " + file + (must_exist ? " (given as the kubeconfig path)" : "") + ": " +
              std::strerror(err));
}

}  // namespace

KubeTarget load_kube_target(const KubeconfigRequest& request) {
  Merged m;
  std::string looked;  // for the message when nothing is found
  if (!request.path.empty()) {
    load_file(request.path, true, m);
  } else if (const std::string list = env("KUBECONFIG"); !list.empty()) {
    std::set<std::string> done;
    for (std::size_t b = 0, e; b <= list.size(); b = e + 1) {
      e = std::min(list.find(':', b), list.size());
      const std::string file = list.substr(b, e - b);
      if (!file.empty() && done.insert(file).second) load_file(file, false, m);
    }
    looked = "KUBECONFIG=" + shown(list) + ": none of its files exists (and ~/.kube/config is not read when it is set)";
  } else if (const std::string home = env("HOME"); !home.empty()) {
    load_file(home + "/.kube/config", false, m);
    looked = home + "/.kube/config does not exist (KUBECONFIG is not set)";
  } else {
    looked = "HOME and KUBECONFIG are not set";
  }
  if (!m.files.empty()) return resolve(m, request.context);
  KubeTarget t;
  std::string why;
  if (!in_cluster(t, why)) throw Error("no kubeconfig found: " + looked + "; " + why);
  if (!request.context.empty())
    throw Error("kubeconfig context " + in_quotes(request.context) + " asked for, but no kubeconfig was found (" +
                looked + ") and the in-cluster service account has no contexts");
  return t;
}

}  // namespace dind
