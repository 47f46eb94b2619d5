// How a daemon made by start() is dialled: the client makers, reach.json, and attach()/list() for another process.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "daemon_spec.hpp"
#include "daemon_state.hpp"
#include "dind/containers.hpp"
#include "dind/tunnel.hpp"
#include "dind/wait.hpp"

namespace dind {
namespace detail {

Client tls_client(const std::string& url, bool tls, const CertBundle* certs,
                  std::optional<std::chrono::milliseconds> timeout) {
  std::optional<TlsConfig> tls_config;
  if (tls) tls_config = TlsConfig::from_pem(certs->ca_cert(), certs->client_cert(), certs->client_key());
  ClientConfig cfg = ClientConfig::from_url(url, std::move(tls_config));
  if (timeout) cfg.timeout = cfg.connect_timeout = *timeout;
  return Client(std::move(cfg));
}

Client with_docker_config(const Client& c, const std::string& docker_config) {
  ClientConfig cfg = c.config();
  cfg.docker_config = docker_config;
  return Client(std::move(cfg));
}

Client tunnel_client(Client& outer, const std::string& id, const std::string& name,
                     std::optional<std::chrono::milliseconds> timeout) {
  ClientConfig cfg = tunnel_config(outer, id, name);
  if (timeout) cfg.timeout = cfg.connect_timeout = *timeout;
  return Client(std::move(cfg));
}

// The loopback reach: this process stands on the engine's host, which routes to the dind container's address on its
// network. The network reach: that address is the one dialled already. Elsewhere only the engine gets in.
Client with_port_reach(const Client& client, Client& outer, const Reach& reach, const std::string& id,
                       const std::string& name) {
  ClientConfig cfg = client.config();
  std::string address;
  if (reach.kind == ReachKind::network) {
    address = Endpoint::parse(reach.address).host;
  } else if (reach.kind == ReachKind::loopback) {
    const auto nets = Containers(outer).inspect(id)["NetworkSettings"].value("Networks", nlohmann::json::object());
    for (auto it = nets.begin(); it != nets.end() && address.empty(); ++it) address = it->value("IPAddress", "");
  }
  cfg.ports = address.empty() ? exec_port_reach(outer, id, name) : direct_port_reach(address);
  return Client(std::move(cfg));
}

}  // namespace detail

namespace {

using detail::tls_client;
using detail::tunnel_client;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw TlsError("reading " + path + " failed: " + std::strerror(errno));
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::optional<Reach> read_reach(const std::string& dir) {
  std::ifstream f(dir + "/reach.json");
  if (!f) return std::nullopt;
  const auto j = nlohmann::json::parse(f, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  Reach r;
  r.kind = parse_reach_kind(j.value("kind", "loopback"));
  r.address = j.value("address", "");
  r.reason = j.value("reason", "");
  return r;
}

}  // namespace

void detail::write_reach(const std::string& dir, const Reach& r) {
  const nlohmann::json j = {{"kind", to_string(r.kind)}, {"address", r.address}, {"reason", r.reason}};
  write_new_file(dir + "/reach.json", j.dump(), 0600);
}

namespace {

// The reach of a daemon made by start(), for a process other than the one that started it: its starter's final word
// (reach.json in its directory), else the plan in its labels; the address from the container as it is now.
// Throws Error naming the container when it cannot be worked out.
Reach reach_of(const nlohmann::json& info, const nlohmann::json& labels, const std::string& where) {
  Reach planned;
  planned.kind = parse_reach_kind(labels.value(kLabelReach, "loopback"));  // older daemons: the loopback port
  planned.reason = "as planned when it was started";
  const std::string dir = labels.value(kLabelDir, labels.value(kLabelCertPath, ""));
  Reach r = dir.empty() ? planned : read_reach(dir).value_or(planned);
  const bool tls = labels.value(kLabelTls, "1") == "1";
  const std::string port = detail::daemon_port(tls);
  const std::string name = labels.value(kLabelName, "");
  switch (r.kind) {
    case ReachKind::tunnel:
    case ReachKind::automatic: r.address = Endpoint::tunnel(name, kTunnelSocket).url(); break;
    case ReachKind::network: {
      const std::string net = labels.value(kLabelDialNetwork, "");
      const std::string ip =
          info["NetworkSettings"]["Networks"].value(net, nlohmann::json::object()).value("IPAddress", "");
      if (ip.empty()) throw Error(where + " has no address on network " + net + " (is it running?)");
      r.address = "tcp://" + ip + ":" + port.substr(0, 4);
      break;
    }
    case ReachKind::loopback:
    case ReachKind::published: {
      const std::string host = labels.value(kLabelDialHost, "127.0.0.1");
      const std::uint16_t hp =
          detail::published_port(info, port, r.kind == ReachKind::loopback ? "127.0.0.1" : "0.0.0.0");
      if (!hp) throw Error(where + " publishes no port " + port + " (is it running?)");
      const bool v6 = host.find(':') != std::string::npos;
      r.address = "tcp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(hp);
      break;
    }
  }
  return r;
}

}  // namespace

Daemon Daemon::attach(const std::string& name_or_id, std::optional<Client> outer) {
  auto s = std::make_unique<State>(outer ? *outer : Client::from_env());
  State& st = *s;
  const nlohmann::json info = Containers(st.outer).inspect(name_or_id);
  const nlohmann::json labels = info["Config"].value("Labels", nlohmann::json::object());
  if (!labels.is_object() || !labels.contains(kLabelSession))
    throw Error("container " + name_or_id + " on " + st.outer.host() + " was not made by dind (no " + kLabelSession +
                " label)");
  st.id = info.value("Id", "");
  st.name = labels.value(kLabelName, info.value("Name", ""));
  st.tls = labels.value(kLabelTls, "1") == "1";
  st.cert_path = labels.value(kLabelCertPath, "");
  st.dir = labels.value(kLabelDir, st.cert_path);
  const std::string where = "dind container " + st.name + " on " + st.outer.host();
  if (!info["State"].value("Running", false)) throw Error(where + " is not running");
  st.reach = reach_of(info, labels, where);
  if (st.reach.kind == ReachKind::tunnel) {
    st.client = tunnel_client(st.outer, st.id, st.name, std::nullopt);
  } else {
    std::optional<TlsConfig> tls;
    if (st.tls)
      tls = TlsConfig::from_pem(read_file(st.cert_path + "/ca.pem"), read_file(st.cert_path + "/cert.pem"),
                                read_file(st.cert_path + "/key.pem"));
    st.client = Client(ClientConfig::from_url(st.reach.address, std::move(tls)));
  }
  if (st.logged_in()) st.client = detail::with_docker_config(*st.client, st.docker_config());
  st.client = detail::with_port_reach(*st.client, st.outer, st.reach, st.id, st.name);
  // Attached daemons are not removed by accident when the handle goes: `dind env` must not tear down.
  st.kept = true;
  return Daemon(std::move(s));
}

std::vector<DaemonSummary> Daemon::list(Client outer) {
  Containers containers(outer);
  std::vector<DaemonSummary> out;
  for (const auto& c : containers.list(true, {{"label", {kLabelSession, kLabelName}}})) {
    const nlohmann::json labels = c.value("Labels", nlohmann::json::object());
    DaemonSummary d;
    d.id = c.value("Id", "");
    d.name = labels.value(kLabelName, d.id.substr(0, 12));
    d.status = c.value("State", "");
    d.session = labels.value(kLabelSession, "");
    d.owner_pid = std::atoi(labels.value(kLabelOwnerPid, "0").c_str());
    d.owner_alive = Owner{d.owner_pid, labels.value(kLabelOwnerStart, ""), labels.value(kLabelOwnerHost, "")}.alive();
    d.created = std::strtoll(labels.value(kLabelCreated, "0").c_str(), nullptr, 10);
    d.reuse = labels.value(kLabelReuse, "");
    try {
      d.reach = reach_of(containers.inspect(d.id), labels, "dind container " + d.name);
    } catch (const Error&) {
      d.reach.kind = parse_reach_kind(labels.value(kLabelReach, "loopback"));  // not running, or gone meanwhile
    }
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const DaemonSummary& a, const DaemonSummary& b) {
    return a.created != b.created ? a.created < b.created : a.name < b.name;
  });
  return out;
}

}  // namespace dind
