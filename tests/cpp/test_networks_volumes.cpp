// Networks, volumes and system df against the real engine on /var/run/docker.sock, plus the error cases that are
// natural in C++ (socket missing, connection refused, bad DOCKER_HOST, missing cert files, NotFound, Conflict).
// Everything created carries the label dind.session=<this run's id> and is removed by the fixture.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dind/client.hpp"
#include "dind/errors.hpp"
#include "dind/networks.hpp"
#include "dind/system.hpp"
#include "dind/volumes.hpp"

using nlohmann::json;

namespace {

std::string session_id() {
  static const std::string id =
      "p4-cpp-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
  return id;
}

dind::Client engine() {
  return dind::Client(dind::ClientConfig::from_url("unix:///var/run/docker.sock"));
}

// A 127.0.0.1 port nothing listens on: bound and closed again (the kernel does not hand it out again at once).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Removes what a test made, even when it failed half-way.
class NetVolTest : public ::testing::Test {
 protected:
  dind::Client client = engine();
  dind::Networks networks{client};
  dind::Volumes volumes{client};
  std::vector<std::string> nets, vols, containers;

  std::string name(const std::string& what) { return session_id() + "-" + what; }
  json label() const { return {{"dind.session", session_id()}}; }
  static dind::NetworkCreate labelled() {
    dind::NetworkCreate c;
    c.labels = {{"dind.session", session_id()}};
    return c;
  }

  void TearDown() override {
    for (const auto& c : containers) {
      try {
        client.request("DELETE", "/containers/" + c, {{"force", "true"}, {"v", "true"}});
      } catch (const dind::Error&) {
      }
    }
    for (const auto& n : nets) {
      try {
        networks.remove(n);
      } catch (const dind::Error&) {
      }
    }
    for (const auto& v : vols) {
      try {
        volumes.remove(v, true);
      } catch (const dind::Error&) {
      }
    }
  }

  // A running busybox container (sleep) labelled with the session.
  std::string start_container() {
    json body = {{"Image", "busybox:latest"}, {"Cmd", {"sleep", "60"}}, {"Labels", label()}};
    auto r = client.request("POST", "/containers/create", {{"name", name("c" + std::to_string(containers.size()))}},
                            dind::Body::json(body));
    std::string id = json::parse(r.body)["Id"];
    containers.push_back(id);
    client.request("POST", "/containers/" + id + "/start");
    return id;
  }
};

}  // namespace

TEST(NetworkBodies, OnlySetFieldsAreSent) {
  dind::NetworkCreate c;
  EXPECT_EQ(c.body("n"), json({{"Name", "n"}}));
  c.driver = "bridge";
  c.internal = true;
  c.labels = {{"k", "v"}};
  c.attachable = false;
  c.ipam = {{"Driver", "default"}, {"Config", {{{"Subnet", "10.99.0.0/24"}}}}};
  json b = c.body("n");
  EXPECT_EQ(b["Driver"], "bridge");
  EXPECT_EQ(b["Internal"], true);
  EXPECT_EQ(b["Attachable"], false);
  EXPECT_EQ(b["Labels"]["k"], "v");
  EXPECT_EQ(b["IPAM"]["Config"][0]["Subnet"], "10.99.0.0/24");
  EXPECT_FALSE(b.contains("EnableIPv6"));

  dind::NetworkEndpoint e;
  EXPECT_TRUE(e.body().empty());
  e.aliases = {"a"};
  e.links = {"db", "web:w"};
  e.ipv4_address = "10.99.0.9";
  json eb = e.body();
  EXPECT_EQ(eb["Links"], json({"db:db", "web:w"}));
  EXPECT_EQ(eb["IPAMConfig"]["IPv4Address"], "10.99.0.9");
}

TEST_F(NetVolTest, NetworkLifecycle) {
  dind::NetworkCreate opts;
  opts.labels = {{"dind.session", session_id()}, {"role", "test"}};
  opts.ipam = {{"Driver", "default"}, {"Config", {{{"Subnet", "10.231.7.0/24"}}}}};
  const std::string n = name("net");
  json created = networks.create(n, opts);
  ASSERT_TRUE(created.contains("Id"));
  const std::string id = created["Id"];
  nets.push_back(id);

  json info = networks.inspect(n);
  EXPECT_EQ(info["Id"], id);
  EXPECT_EQ(info["Name"], n);
  EXPECT_EQ(info["Driver"], "bridge");
  EXPECT_EQ(info["Labels"]["role"], "test");
  EXPECT_EQ(info["IPAM"]["Config"][0]["Subnet"], "10.231.7.0/24");

  json listed = networks.list({{"label", "dind.session=" + session_id()}});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["Id"], id);
  EXPECT_EQ(networks.list({{"name", n}, {"label", "role=nope"}}).size(), 0u);

  // Connect with an alias and a fixed address, see it in inspect, disconnect.
  const std::string c = start_container();
  dind::NetworkEndpoint ep;
  ep.aliases = {"svc"};
  ep.ipv4_address = "10.231.7.42";
  networks.connect(id, c, ep);
  info = networks.inspect(id);
  ASSERT_TRUE(info["Containers"].contains(c));
  EXPECT_EQ(info["Containers"][c]["IPv4Address"], "10.231.7.42/24");
  json cinfo = json::parse(client.request("GET", "/containers/" + c + "/json").body);
  auto aliases = cinfo["NetworkSettings"]["Networks"][n]["Aliases"];
  EXPECT_NE(std::find(aliases.begin(), aliases.end(), "svc"), aliases.end()) << aliases.dump();

  // The network is in use: removing it is refused.
  EXPECT_THROW(networks.remove(id), dind::ApiError);
  networks.disconnect(id, c, /*force=*/true);
  EXPECT_TRUE(networks.inspect(id)["Containers"].empty());

  networks.remove(id);
  EXPECT_THROW(networks.inspect(id), dind::NotFound);
}

TEST_F(NetVolTest, NetworkErrors) {
  const std::string n = name("dup");
  json created = networks.create(n, labelled());
  nets.push_back(created["Id"]);
  try {
    auto again = labelled();
    again.check_duplicate = true;
    networks.create(n, again);
    FAIL() << "a second network with the same name was created";
  } catch (const dind::Conflict& e) {
    EXPECT_EQ(e.status(), 409);
    EXPECT_NE(std::string(e.what()).find("/networks/create"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unix:///var/run/docker.sock"), std::string::npos) << e.what();
  }
  try {
    networks.inspect(name("absent"));
    FAIL();
  } catch (const dind::NotFound& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_NE(std::string(e.what()).find(name("absent")), std::string::npos) << e.what();
  }
  EXPECT_THROW(networks.connect(created["Id"], name("no-such-container")), dind::NotFound);
  EXPECT_THROW(networks.create(json{{"Driver", "bridge"}}), dind::Error);  // no Name
}

TEST_F(NetVolTest, NetworkPrune) {
  const std::string n = name("prune");
  json created = networks.create(n, labelled());
  nets.push_back(created["Id"]);
  json pruned = networks.prune({{"label", "dind.session=" + session_id()}});
  ASSERT_TRUE(pruned["NetworksDeleted"].is_array()) << pruned.dump();
  EXPECT_EQ(pruned["NetworksDeleted"], json({n}));
  EXPECT_THROW(networks.inspect(n), dind::NotFound);
}

TEST_F(NetVolTest, VolumeLifecycle) {
  const std::string v = name("vol");
  json created = volumes.create(v, "local", {}, {{"dind.session", session_id()}, {"role", "test"}});
  vols.push_back(v);
  EXPECT_EQ(created["Name"], v);
  EXPECT_EQ(created["Driver"], "local");
  EXPECT_EQ(volumes.inspect(v)["Labels"]["role"], "test");

  json listed = volumes.list({{"label", "dind.session=" + session_id()}});
  ASSERT_TRUE(listed["Volumes"].is_array()) << listed.dump();
  ASSERT_EQ(listed["Volumes"].size(), 1u);
  EXPECT_EQ(listed["Volumes"][0]["Name"], v);

  // In use by a container: Conflict, then removable once the container is gone.
  json body = {
      {"Image", "busybox:latest"}, {"Cmd", {"true"}}, {"Labels", label()}, {"HostConfig", {{"Binds", {v + ":/data"}}}}};
  std::string c = json::parse(client.request("POST", "/containers/create", {}, dind::Body::json(body)).body)["Id"];
  containers.push_back(c);
  EXPECT_THROW(volumes.remove(v), dind::Conflict);
  client.request("DELETE", "/containers/" + c, {{"force", "true"}});
  volumes.remove(v);
  EXPECT_THROW(volumes.inspect(v), dind::NotFound);
}

TEST_F(NetVolTest, VolumeAnonymousNameAndPrune) {
  json created = volumes.create({}, {}, {}, {{"dind.session", session_id()}});
  const std::string v = created["Name"];
  vols.push_back(v);
  EXPECT_EQ(v.size(), 64u);  // the engine's random name
  // A volume made by /volumes/create without a name has a random name; prune (label-filtered) takes it.
  json pruned = volumes.prune({{"label", "dind.session=" + session_id()}});
  ASSERT_TRUE(pruned.contains("VolumesDeleted")) << pruned.dump();
  EXPECT_EQ(pruned["VolumesDeleted"], json({v}));
  EXPECT_THROW(volumes.inspect(v), dind::NotFound);
}

TEST_F(NetVolTest, SystemDf) {
  json d = dind::df(client);
  for (const char* k : {"LayersSize", "Images", "Containers", "Volumes"}) EXPECT_TRUE(d.contains(k)) << k;
  EXPECT_TRUE(d["Images"].is_array());
}

// ---- error cases of the transport, as a C++ user meets them -------------------------------------------------------

TEST(Errors, SocketMissing) {
  const std::string path = "/tmp/dind-p4-no-such-" + std::to_string(::getpid()) + ".sock";
  dind::Client c(dind::ClientConfig::from_url("unix://" + path));
  try {
    c.ping();
    FAIL();
  } catch (const dind::ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Errors, ConnectionRefused) {
  const std::string hp = "127.0.0.1:" + std::to_string(free_port());
  dind::Client c(dind::ClientConfig::from_url("tcp://" + hp));
  try {
    dind::Volumes(c).list();
    FAIL();
  } catch (const dind::ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find(hp), std::string::npos) << e.what();
  }
}

TEST(Errors, InvalidDockerHost) {
  for (const char* bad : {"ftp://127.0.0.1:2375", "tcp://127.0.0.1:notaport", "tcp://"}) {
    try {
      dind::ClientConfig::from_env({{"DOCKER_HOST", bad}});
      FAIL() << bad;
    } catch (const dind::Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(Errors, MissingCertFiles) {
  const std::string dir = "/tmp/dind-p4-no-such-certs-" + std::to_string(::getpid());
  try {
    dind::ClientConfig::from_env(
        {{"DOCKER_HOST", "tcp://127.0.0.1:2376"}, {"DOCKER_TLS_VERIFY", "1"}, {"DOCKER_CERT_PATH", dir}});
    FAIL();
  } catch (const dind::TlsError& e) {
    EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
  }
}

// ---- a plain-HTTP dind engine: TLS spoken to a plain port, and the daemon gone mid-stream --------------------------

namespace {

// A privileged dind-offline container serving plain HTTP on a port published on 127.0.0.1; removed (with its
// volumes) by the destructor.
class PlainDind {
 public:
  PlainDind() {
    json body = {
        {"Image", "dind-offline:latest"},
        {"Cmd", {"--tls=false"}},
        {"Env", {"DOCKER_TLS_CERTDIR="}},
        {"Labels", {{"dind.session", session_id()}}},
        {"ExposedPorts", {{"2375/tcp", json::object()}}},
        {"HostConfig",
         {{"Privileged", true}, {"PortBindings", {{"2375/tcp", {{{"HostIp", "127.0.0.1"}, {"HostPort", ""}}}}}}}}};
    id_ = json::parse(outer_.request("POST", "/containers/create", {}, dind::Body::json(body)).body)["Id"];
    outer_.request("POST", "/containers/" + id_ + "/start");
    json info = json::parse(outer_.request("GET", "/containers/" + id_ + "/json").body);
    port_ = std::stoi(info["NetworkSettings"]["Ports"]["2375/tcp"][0]["HostPort"].get<std::string>());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        auto cfg = dind::ClientConfig::from_url(url());
        cfg.timeout = std::chrono::seconds(5);
        if (dind::Client(cfg).ping() == "OK") return;
      } catch (const dind::Error&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("the plain dind on " + url() + " did not answer within 90 s");
  }
  ~PlainDind() { kill(); }
  PlainDind(const PlainDind&) = delete;
  PlainDind& operator=(const PlainDind&) = delete;

  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  void kill() noexcept {
    try {
      outer_.request("DELETE", "/containers/" + id_, {{"force", "true"}, {"v", "true"}});
    } catch (const dind::Error&) {
    }
  }

 private:
  dind::Client outer_ = engine();
  std::string id_;
  int port_ = 0;
};

}  // namespace

TEST(PlainEngineErrors, TlsToPlainPortAndDaemonGoneMidStream) {
  PlainDind d;
  const std::string hp = "127.0.0.1:" + std::to_string(d.port());

  // TLS (no verification) against a port that speaks plain HTTP: a TLS error that names the address.
  {
    dind::TlsConfig tls;
    tls.verify = false;
    auto cfg = dind::ClientConfig::from_url("tcp://" + hp, tls);
    cfg.timeout = std::chrono::seconds(10);
    dind::Client c(cfg);
    try {
      c.ping();
      FAIL() << "TLS to a plain HTTP port succeeded";
    } catch (const dind::TlsError& e) {
      EXPECT_NE(std::string(e.what()).find(hp), std::string::npos) << e.what();
    } catch (const dind::ConnectionError& e) {
      EXPECT_NE(std::string(e.what()).find(hp), std::string::npos) << e.what();
    }
  }

  // Events streamed from the inner daemon; the daemon is killed; the blocked read ends with StreamError (or
  // ConnectionError), never hangs, and the message names the request and address.
  dind::Client inner(dind::ClientConfig::from_url(d.url()));
  dind::BodyReader events = inner.stream("GET", "/events", {{"filters", R"({"type":["volume"]})"}});
  ASSERT_EQ(events.status(), 200);
  dind::Volumes(inner).create("mid-stream");
  char buf[4096];
  ASSERT_GT(events.read_some(buf, sizeof buf), 0u);  // the volume's "create" event
  std::string error;
  std::thread reader([&] {
    try {
      while (events.read_some(buf, sizeof buf) > 0) {
      }
      error = "clean end of stream";
    } catch (const dind::StreamError& e) {
      error = std::string("StreamError: ") + e.what();
    } catch (const dind::ConnectionError& e) {
      error = std::string("ConnectionError: ") + e.what();
    } catch (const std::exception& e) {
      error = std::string("other: ") + e.what();
    }
  });
  d.kill();
  reader.join();  // gtest's own timeout (600 s) guards a hang; it returns within about a second
  EXPECT_TRUE(error.rfind("StreamError", 0) == 0 || error.rfind("ConnectionError", 0) == 0) << error;
  EXPECT_NE(error.find(hp), std::string::npos) << error;
}
