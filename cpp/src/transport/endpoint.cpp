#include "dind/endpoint.hpp"

#include <algorithm>
#include <cctype>

#include "dind/errors.hpp"
#include "core/shown.hpp"

namespace dind {
namespace {

[[noreturn]] void bad(const std::string& url, const std::string& why) {
  throw Error("invalid Docker host \"" + detail::shown(url) + "\": " + why);
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

// A DNS name or IPv4 literal, or (bracketed) an IPv6 literal with an optional %zone. Anything else would reach the
// resolver and the Host header of every request as it is (a line break there splits the request).
bool valid_host(const std::string& host, bool bracketed) {
  if (host.empty()) return false;
  if (!bracketed) return std::all_of(host.begin(), host.end(), name_char);
  const auto zone = host.find('%');
  const std::string addr = host.substr(0, zone);
  if (addr.find(':') == std::string::npos) return false;
  for (char c : addr)
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
  if (zone == std::string::npos) return true;
  const std::string name = host.substr(zone + 1);
  return !name.empty() && std::all_of(name.begin(), name.end(), name_char);
}

// unix:///path
Endpoint parse_unix(const std::string& url) {
  Endpoint ep;
  ep.kind = Endpoint::Kind::Unix;
  ep.path = url.substr(7);
  if (ep.path.empty() || ep.path[0] != '/')
    bad(url, "a unix socket needs an absolute path: unix:///var/run/docker.sock");
  if (ep.path.find('\0') != std::string::npos) bad(url, "a NUL byte in the socket path");
  return ep;
}

// ssh://user@...: moves the login name from `rest` into `ep.user`.
void take_ssh_user(const std::string& url, std::string& rest, Endpoint& ep) {
  const auto at = rest.find('@');
  if (at == std::string::npos || at > rest.find('/')) return;
  ep.user = rest.substr(0, at);
  rest = rest.substr(at + 1);
  if (ep.user.find(':') != std::string::npos)
    bad(url, "a password in an ssh:// address is not supported (use a key or an ssh agent)");
  // A login name that ssh would read as an option, or that holds what the command line cannot carry.
  if (ep.user.empty() || ep.user[0] == '-' || !std::all_of(ep.user.begin(), ep.user.end(), name_char))
    bad(url, "not a user name before '@'");
}

// What follows the scheme of a tcp://, http://, https:// or ssh:// address; sets the kind, TLS and default port
// the scheme implies.
std::string after_scheme(const std::string& url, bool tls, Endpoint& ep, std::uint16_t& default_port) {
  if (starts_with(url, "npipe://")) bad(url, "Windows named pipes (npipe://) are not supported");
  std::string rest;
  ep.kind = Endpoint::Kind::Tcp;
  if (starts_with(url, "tcp://")) {
    rest = url.substr(6);
    ep.tls = tls;
    default_port = tls ? 2376 : 2375;
  } else if (starts_with(url, "http://")) {
    rest = url.substr(7);
    ep.tls = tls;  // like the docker CLI: TLS settings win over the scheme, never dropped silently
    default_port = 80;
  } else if (starts_with(url, "https://")) {
    rest = url.substr(8);
    ep.tls = true;
    default_port = 443;
  } else if (starts_with(url, "ssh://")) {
    rest = url.substr(6);
    ep.kind = Endpoint::Kind::Ssh;
    take_ssh_user(url, rest, ep);
  } else if (url.find("://") == std::string::npos && url[0] == '/') {
    bad(url, "a socket path needs the unix:// scheme: unix://" + url);
  } else {
    bad(url, "unsupported scheme (expected unix://, tcp://, http://, https:// or ssh://)");
  }
  return rest;
}

// "host[:port]" or "[v6][:port]": the host into `ep.host`; the port as written (empty when there is none).
std::string split_host_port(const std::string& url, const std::string& rest, Endpoint& ep) {
  std::string port;
  if (rest[0] == '[') {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string::npos) bad(url, "unterminated [IPv6] address");
    ep.host = rest.substr(1, close - 1);
    std::string after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') bad(url, "expected :port after ]");
      port = after.substr(1);
      if (port.empty()) bad(url, "empty port");
    }
    return port;
  }
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) {
    ep.host = rest;
    return port;
  }
  if (rest.find(':') != colon) bad(url, "IPv6 addresses need brackets: tcp://[::1]:2375");
  ep.host = rest.substr(0, colon);
  port = rest.substr(colon + 1);
  if (port.empty()) bad(url, "empty port");
  return port;
}

void check_host(const std::string& url, const Endpoint& ep, bool bracketed) {
  if (ep.host.empty()) bad(url, "no host");
  if (ep.host.size() > 253) bad(url, "a host name of " + std::to_string(ep.host.size()) + " characters (at most 253)");
  if (!valid_host(ep.host, bracketed))
    bad(url, bracketed ? "not an IPv6 address between the brackets" : "not a host name or IP address");
  if (ep.kind == Endpoint::Kind::Ssh && ep.host[0] == '-') bad(url, "a host name cannot start with '-'");
}

std::uint16_t parse_port(const std::string& url, const std::string& port, std::uint16_t default_port) {
  if (port.empty()) return default_port;
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    bad(url, "bad port \"" + detail::shown(port) + "\"");
  unsigned long p = std::stoul(port);
  if (p == 0 || p > 65535) bad(url, "port out of range: " + port);
  return static_cast<std::uint16_t>(p);
}

}  // namespace

Endpoint Endpoint::parse(const std::string& url, bool tls) {
  if (url.empty()) bad(url, "empty (expected unix:///path or tcp://host:port)");
  if (starts_with(url, "unix://")) return parse_unix(url);
  Endpoint ep;
  std::uint16_t default_port = 0;
  std::string rest = after_scheme(url, tls, ep, default_port);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) bad(url, "a path after host:port is not supported");
  if (rest.empty()) bad(url, "no host");
  const std::string port = split_host_port(url, rest, ep);
  check_host(url, ep, rest[0] == '[');
  ep.port = parse_port(url, port, default_port);
  return ep;
}

Endpoint Endpoint::tunnel(std::string container, std::string path) {
  Endpoint ep;
  ep.kind = Kind::Tunnel;
  ep.host = std::move(container);
  ep.path = std::move(path);
  return ep;
}

std::string Endpoint::url() const {
  const bool v6 = host.find(':') != std::string::npos;
  const std::string h = v6 ? "[" + host + "]" : host;
  switch (kind) {
    case Kind::Unix: return "unix://" + path;
    case Kind::Ssh: return "ssh://" + (user.empty() ? "" : user + "@") + h + (port ? ":" + std::to_string(port) : "");
    case Kind::Tunnel: return "tunnel://" + host + path;
    case Kind::Tcp: break;
  }
  return std::string(tls ? "https://" : "tcp://") + h + ":" + std::to_string(port);
}

std::string Endpoint::host_header() const {
  if (kind != Kind::Tcp) return "docker";
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace dind
