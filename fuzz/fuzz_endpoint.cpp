// Fuzzes DOCKER_HOST and cert-dir parsing: Endpoint::parse, and ClientConfig::from_env over an environment and a
// cert dir (ca.pem, cert.pem, key.pem) taken from the input, then the TLS context made from it. The input is NUL-
// separated fields, fed as the environment would (a cut only splits the host into the pieces of a concatenation).
// Invariants: a parsed endpoint re-parses from its url() to the same endpoint; its host never holds a byte that
// could break the Host header, the address or ssh's command line; only dind::Error (TlsError for TLS material). Flags:
// 1 DOCKER_HOST set, 2 DOCKER_TLS_VERIFY set, 4 to "0", 8 DOCKER_CERT_PATH set, 16 HOME set, 32/64/128
// ca.pem/cert.pem/key.pem exist.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "dind/client_config.hpp"
#include "dind/endpoint.hpp"
#include "dind/tls.hpp"
#include "split.hpp"

using namespace dind;
using namespace dind::fuzz;

namespace {

// One temporary cert dir per process (tmpfs when there is one), removed at exit.
struct CertDir {
  std::string path;
  CertDir() {
    const char* base = std::getenv("TMPDIR");
    path = std::string(base && *base                   ? base
                       : access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                                                       : "/tmp") +
           "/dind-fuzz-certs-XXXXXX";
    if (!mkdtemp(path.data())) broken("cannot make a temporary cert dir", path);
  }
  ~CertDir() {
    for (const char* f : {"/ca.pem", "/cert.pem", "/key.pem"}) std::remove((path + f).c_str());
    rmdir(path.c_str());
  }
};

const std::string& cert_dir() {
  static const CertDir dir;
  return dir.path;
}

void put_file(const std::string& path, const std::string* content) {
  if (!content) {
    std::remove(path.c_str());
    return;
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << *content;
}

bool same(const Endpoint& a, const Endpoint& b) {
  return a.kind == b.kind && a.path == b.path && a.host == b.host && a.port == b.port && a.user == b.user &&
         a.tls == b.tls;
}

void check_endpoint(const std::string& url, bool tls) {
  Endpoint ep;
  Outcome o = outcome_of([&] { ep = Endpoint::parse(url, tls); });
  if (!o.kind.empty()) {
    if (o.kind != typeid(Error).name()) broken("Endpoint::parse threw " + o.kind, o.message);
    return;
  }
  if (ep.is_unix()) {
    if (ep.path.empty() || ep.path[0] != '/') broken("a unix endpoint without an absolute path", url);
    if (ep.path.find('\0') != std::string::npos) broken("a unix socket path with a NUL byte", url);
  } else {
    const bool ssh = ep.kind == Endpoint::Kind::Ssh;
    if (ep.host.empty() || (ep.port == 0 && !ssh)) broken("a TCP endpoint without host or port", url);
    for (unsigned char c : ep.host)
      if (c <= 0x20 || c >= 0x7f || c == '/' || c == '@' || c == '[' || c == ']' || c == '\\')
        broken("a host with a byte that breaks the Host header or the address", url);
    // ssh's command line: neither the host nor the login may read as an option, nor carry odd bytes.
    if (ssh && (ep.host[0] == '-' || (!ep.user.empty() && ep.user[0] == '-')))
      broken("an ssh argument starting with '-'", url);
    for (unsigned char c : ep.user)
      if (c <= 0x20 || c >= 0x7f || c == '@' || c == ':' || c == '/')
        broken("a login name with a byte ssh cannot carry", url);
  }
  Endpoint again;
  Outcome o2 = outcome_of([&] { again = Endpoint::parse(ep.url(), ep.tls); });
  if (!o2.kind.empty()) broken("url() of a parsed endpoint does not parse", ep.url() + ": " + o2.message);
  if (!same(ep, again) || again.url() != ep.url()) broken("url() does not round-trip", url + " -> " + ep.url());
  (void)ep.host_header();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const SplitInput in = split_input(data, size);
  // Fields: DOCKER_HOST \0 DOCKER_API_VERSION \0 ca.pem \0 cert.pem \0 key.pem
  std::vector<std::string> f;
  std::string cur;
  for (char c : in.payload) {
    if (c == '\0' && f.size() < 4) {
      f.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  f.push_back(cur);
  f.resize(5);
  // The host as the env would hold it; pieces concatenated must give the same answer (no state between parses).
  std::string host;
  for_each_piece(in, [&](const char* p, std::size_t n) {
    host.append(p, n);
    if (host.size() <= f[0].size()) check_endpoint(host, false);
  });
  check_endpoint(f[0], false);
  check_endpoint(f[0], true);

  // from_env: the flags pick which variables are set and which cert files exist.
  const std::uint8_t fl = in.flags;
  std::map<std::string, std::string> env;
  if (fl & 1) env["DOCKER_HOST"] = f[0];
  if (fl & 2) env["DOCKER_TLS_VERIFY"] = (fl & 4) ? "0" : "1";
  if (fl & 8) env["DOCKER_CERT_PATH"] = cert_dir();
  if (fl & 16) env["HOME"] = "/nonexistent-dind-fuzz-home";
  if (!f[1].empty()) env["DOCKER_API_VERSION"] = f[1];
  const std::string dir = cert_dir();
  put_file(dir + "/ca.pem", (fl & 32) ? &f[2] : nullptr);
  put_file(dir + "/cert.pem", (fl & 64) ? &f[3] : nullptr);
  put_file(dir + "/key.pem", (fl & 128) ? &f[4] : nullptr);

  ClientConfig c;
  Outcome o = outcome_of([&] { c = ClientConfig::from_env(env); });
  if (!o.kind.empty()) {
    if (o.kind != typeid(Error).name() && o.kind != typeid(TlsError).name())
      broken("from_env threw " + o.kind, o.message);
    return 0;
  }
  if (!c.endpoint.is_tcp() && c.tls) broken("TLS settings kept for a unix socket or ssh");
  if (c.endpoint.tls != c.tls.has_value()) broken("endpoint TLS and TLS config disagree", c.endpoint.url());
  if (c.tls) {
    Outcome t = outcome_of([&] { (void)detail::make_tls_context(*c.tls); });
    if (!t.kind.empty() && t.kind != typeid(TlsError).name()) broken("make_tls_context threw " + t.kind, t.message);
  }
  return 0;
}
