// Fuzzes docker-context parsing: parse_context_meta (meta.json) and parse_current_context (config.json) on the text
// and on every prefix ending at a cut (a file read while it is being written), then ClientConfig::from_env over a
// temporary DOCKER_CONFIG whose store holds those files and TLS files taken from the input. The input is NUL-separated
// fields: meta.json \0 config.json \0 ca.pem \0 cert.pem \0 key.pem.
// Invariants: only dind::Error (TlsError for TLS material); messages are printable ASCII of bounded size whatever the
// files hold; DOCKER_HOST wins without a file being read; a loaded context agrees with what its meta.json says (host,
// TLS on exactly when the store has TLS files or SkipTLSVerify, verification unless SkipTLSVerify, none for sockets and
// ssh) and its endpoint re-parses from its url(). Flags: 1 meta.json exists, 2 config.json exists, 4 DOCKER_CONTEXT
// names the context (else config.json does), 8 DOCKER_HOST set, 16/32/64 ca.pem/cert.pem/key.pem exist, 128
// DOCKER_API_VERSION set.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "dind/client_config.hpp"
#include "dind/context.hpp"
#include "dind/endpoint.hpp"
#include "dind/tls.hpp"
#include "split.hpp"

using namespace dind;
using namespace dind::fuzz;

namespace {

constexpr const char* kName = "fuzz-ctx";
constexpr const char* kDockerHost = "unix:///nonexistent-dind-fuzz.sock";

// One temporary DOCKER_CONFIG per process (tmpfs when there is one), removed at exit.
struct ConfigDir {
  std::string path;
  ConfigDir() {
    const char* base = std::getenv("TMPDIR");
    path = std::string(base && *base                   ? base
                       : access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                                                       : "/tmp") +
           "/dind-fuzz-config-XXXXXX";
    if (!mkdtemp(path.data())) broken("cannot make a temporary config dir", path);
  }
  ~ConfigDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

const std::string& config_dir() {
  static const ConfigDir dir;
  return dir.path;
}

// Writes the file, or removes it when `content` is null. Files are rewritten in place and directories kept between
// runs: making and deleting inodes on every run would cost more than the parsing fuzzed here.
void put_file(const std::string& path, const std::string* content) {
  if (!content) {
    ::unlink(path.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << *content;
}

// Messages show values cut and escaped: printable ASCII (the paths here are), and never near the size of a file.
void check_message(const Outcome& o, const std::string& what) {
  for (unsigned char c : o.message)
    if (c < 0x20 || c >= 0x7f) broken(what + ": a message with a byte that is not printable ASCII", o.message);
  if (o.message.size() > 2000) broken(what + ": a message of " + std::to_string(o.message.size()) + " bytes");
}

void expect_error_kind(const Outcome& o, const std::string& what, bool tls_allowed) {
  if (o.kind.empty()) return;
  if (o.kind != typeid(Error).name() && !(tls_allowed && o.kind == typeid(TlsError).name()))
    broken(what + " threw " + o.kind, o.message);
  check_message(o, what);
}

ContextMeta parse_meta(const std::string& text, Outcome& o) {
  ContextMeta m;
  o = outcome_of([&] { m = parse_context_meta(text, "meta.json"); });
  expect_error_kind(o, "parse_context_meta", false);
  return m;
}

std::string parse_config(const std::string& text, Outcome& o) {
  std::string name;
  o = outcome_of([&] { name = parse_current_context(text, "config.json"); });
  expect_error_kind(o, "parse_current_context", false);
  return name;
}

bool starts_with(const std::string& s, const char* p) {
  return s.rfind(p, 0) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const SplitInput in = split_input(data, size);
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
  const std::string &meta_text = f[0], &config_text = f[1];

  // Each prefix of the payload ending at a cut, as either file: parsed or refused, nothing else.
  std::string prefix;
  for_each_piece(in, [&](const char* p, std::size_t n) {
    prefix.append(p, n);
    Outcome o;
    (void)parse_meta(prefix, o);
    (void)parse_config(prefix, o);
  });

  Outcome meta_outcome, config_outcome;
  const ContextMeta meta = parse_meta(meta_text, meta_outcome);
  const std::string named = parse_config(config_text, config_outcome);
  // The parsers are pure: a second parse gives the same answer.
  Outcome again;
  const ContextMeta meta2 = parse_meta(meta_text, again);
  if (!(again == meta_outcome) || meta2.host != meta.host || meta2.skip_tls_verify != meta.skip_tls_verify ||
      meta2.has_docker_endpoint != meta.has_docker_endpoint || meta2.name != meta.name)
    broken("parse_context_meta is not deterministic");

  // The store: the context the environment or config.json names holds the input's meta.json and TLS files.
  const std::uint8_t fl = in.flags;
  const std::string& dir = config_dir();
  std::map<std::string, std::string> env{{"DOCKER_CONFIG", dir}};
  put_file(dir + "/config.json", (fl & 2) ? &config_text : nullptr);
  if (fl & 4) env["DOCKER_CONTEXT"] = kName;
  if (fl & 8) env["DOCKER_HOST"] = kDockerHost;
  if (fl & 128) env["DOCKER_API_VERSION"] = "1.41";
  std::string name = (fl & 4) ? kName : (fl & 2) && config_outcome.kind.empty() ? named : "";
  const bool stored = !name.empty() && name != kDefaultContextName;
  // A name other than kName (from config.json) gets a store of its own, removed when this run ends.
  struct Cleanup {
    std::vector<std::string> dirs;
    ~Cleanup() {
      std::error_code ec;
      for (const auto& d : dirs) std::filesystem::remove_all(d, ec);
    }
  } cleanup;
  if (stored) {
    const std::string meta_dir = context_meta_dir(dir, name), tls = context_tls_dir(dir, name);
    if (name != kName) cleanup.dirs = {meta_dir, std::filesystem::path(tls).parent_path().string()};
    put_file(meta_dir + "/meta.json", (fl & 1) ? &meta_text : nullptr);
    put_file(tls + "/ca.pem", (fl & 16) ? &f[2] : nullptr);
    put_file(tls + "/cert.pem", (fl & 32) ? &f[3] : nullptr);
    put_file(tls + "/key.pem", (fl & 64) ? &f[4] : nullptr);
  }

  ClientConfig c;
  const Outcome o = outcome_of([&] { c = ClientConfig::from_env(env); });
  expect_error_kind(o, "from_env", true);
  if (fl & 8) {
    if (!o.kind.empty()) broken("DOCKER_HOST is set, yet from_env failed", o.message);
    if (c.endpoint.url() != kDockerHost) broken("DOCKER_HOST did not win", c.endpoint.url());
    return 0;
  }
  if (!stored) {
    // The default context, unless config.json (read only without DOCKER_CONTEXT) does not parse.
    const bool bad_config = !(fl & 4) && (fl & 2) && !config_outcome.kind.empty();
    if (bad_config && o.kind.empty()) broken("a config.json that does not parse was accepted", config_outcome.message);
    if (!bad_config && !o.kind.empty()) broken("the default context failed", o.message);
    if (!bad_config && c.endpoint.url() != kDefaultDockerHost) broken("the default context is not the default socket");
    return 0;
  }
  if (!o.kind.empty()) return 0;
  // A context was loaded: it must say what its meta.json says.
  if (!(fl & 1)) broken("a context without meta.json was loaded");
  if (!meta_outcome.kind.empty()) broken("a meta.json that does not parse was accepted", meta_outcome.message);
  if (!meta.has_docker_endpoint) broken("a context without a docker endpoint was loaded");
  const DockerContext ctx = load_context(dir, name);
  if (ctx.host != (meta.host.empty() ? std::string(kDefaultDockerHost) : meta.host))
    broken("the context's host is not its meta.json's", ctx.host);
  if (ctx.skip_tls_verify != meta.skip_tls_verify) broken("SkipTLSVerify lost");
  if (ctx.endpoint.url() != c.endpoint.url()) broken("load_context and from_env disagree", c.endpoint.url());
  if (c.version != ((fl & 128) ? "1.41" : "")) broken("DOCKER_API_VERSION not applied to a context");
  if (c.endpoint.is_tcp()) {
    const bool files = (fl & (16 | 32 | 64)) != 0;
    const bool want_tls = files || meta.skip_tls_verify || starts_with(ctx.host, "https://");
    if (c.endpoint.tls != want_tls) broken("TLS on a context endpoint without cause, or off despite one", ctx.host);
    if (c.tls.has_value() != c.endpoint.tls) broken("endpoint TLS and TLS config disagree", c.endpoint.url());
    if (c.tls) {
      if (c.tls->verify == meta.skip_tls_verify) broken("verification does not follow SkipTLSVerify");
      if (c.tls->verify && c.tls->ca_pem.empty()) broken("verification without a CA accepted");
      const Outcome t = outcome_of([&] { (void)detail::make_tls_context(*c.tls); });
      if (!t.kind.empty() && t.kind != typeid(TlsError).name()) broken("make_tls_context threw " + t.kind, t.message);
    }
  } else if (c.tls) {
    broken("TLS settings kept for a unix socket or ssh", c.endpoint.url());
  }
  Endpoint reparsed;
  const Outcome r = outcome_of([&] { reparsed = Endpoint::parse(c.endpoint.url(), c.endpoint.tls); });
  if (!r.kind.empty() || reparsed.url() != c.endpoint.url())
    broken("a context's endpoint does not re-parse from its url()", c.endpoint.url() + ": " + r.message);
  return 0;
}
