// _core.Networks(client): the /networks group. Arguments are converted with the GIL held, the call runs without it.
#include "dind/networks.hpp"

#include <pybind11/stl.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"

namespace {

namespace pyb = pybind11;
using namespace pybind11::literals;
using dind::py::from_python;
using dind::py::json_call;
using dind::py::opt_bool;
using dind::py::opt_str;
using dind::py::str_list;
using dind::py::str_map;
using dind::py::without_gil;
using nlohmann::json;

}  // namespace

DIND_BINDINGS(networks) {
  pyb::class_<dind::Networks>(m, "Networks", "The /networks endpoints of one client (JSON in, dicts out).")
      .def(pyb::init<dind::Client>(), "client"_a, "The network endpoints of `client`.")
      .def(
          "create",
          [](dind::Networks& n, const std::string& name, const pyb::object& driver, const pyb::object& options,
             const pyb::object& ipam, const pyb::object& check_duplicate, bool internal, const pyb::object& labels,
             bool enable_ipv6, const pyb::object& attachable, const pyb::object& scope, const pyb::object& ingress) {
            dind::NetworkCreate c;
            c.driver = opt_str(driver);
            c.options = str_map(options, "options");
            c.ipam = from_python(ipam);
            c.check_duplicate = opt_bool(check_duplicate);
            c.internal = internal;
            c.labels = str_map(labels, "labels");
            c.enable_ipv6 = enable_ipv6;
            c.attachable = opt_bool(attachable);
            c.scope = opt_str(scope);
            c.ingress = opt_bool(ingress);
            return json_call<dind::py::JsonObject>([&] { return n.create(name, c); });
          },
          "name"_a, "driver"_a = pyb::none(), "options"_a = pyb::none(), "ipam"_a = pyb::none(),
          "check_duplicate"_a = pyb::none(), "internal"_a = false, "labels"_a = pyb::none(), "enable_ipv6"_a = false,
          "attachable"_a = pyb::none(), "scope"_a = pyb::none(), "ingress"_a = pyb::none(),
          "POST /networks/create with docker-py's create_network() arguments; returns {'Id', 'Warning'}.")
      .def(
          "create_body",
          [](dind::Networks& n, const pyb::object& body) {
            json b = from_python(body);
            return json_call<dind::py::JsonObject>([&] { return n.create(b); });
          },
          "body"_a, "POST /networks/create with the whole JSON body (a dict with 'Name').")
      .def(
          "inspect",
          [](dind::Networks& n, const std::string& id, const pyb::object& verbose, const pyb::object& scope) {
            auto v = opt_bool(verbose);
            std::string s = opt_str(scope);
            return json_call<dind::py::JsonObject>([&] { return n.inspect(id, v, s); });
          },
          "id"_a, "verbose"_a = pyb::none(), "scope"_a = pyb::none(), "GET /networks/{id}.")
      .def(
          "list",
          [](dind::Networks& n, const pyb::object& filters) {
            json f = from_python(filters);
            return json_call<dind::py::JsonObjects>([&] { return n.list(f); });
          },
          "filters"_a = pyb::none(), "GET /networks; filters in docker-py's shape ({'label': ['k=v'], ...}).")
      .def(
          "connect",
          [](dind::Networks& n, const std::string& net, const std::string& container, const pyb::object& aliases,
             const pyb::object& links, const pyb::object& ipv4_address, const pyb::object& ipv6_address,
             const pyb::object& link_local_ips, const pyb::object& driver_opt, const pyb::object& mac_address) {
            dind::NetworkEndpoint e;
            e.aliases = str_list(aliases);
            e.links = str_list(links);
            e.ipv4_address = opt_str(ipv4_address);
            e.ipv6_address = opt_str(ipv6_address);
            e.link_local_ips = str_list(link_local_ips);
            e.driver_opt = str_map(driver_opt, "driver_opt");
            e.mac_address = opt_str(mac_address);
            without_gil([&] { n.connect(net, container, e); });
          },
          "net"_a, "container"_a, "aliases"_a = pyb::none(), "links"_a = pyb::none(), "ipv4_address"_a = pyb::none(),
          "ipv6_address"_a = pyb::none(), "link_local_ips"_a = pyb::none(), "driver_opt"_a = pyb::none(),
          "mac_address"_a = pyb::none(), "POST /networks/{net}/connect (links as 'name' or 'name:alias').")
      .def(
          "disconnect",
          [](dind::Networks& n, const std::string& net, const std::string& container, bool force) {
            without_gil([&] { n.disconnect(net, container, force); });
          },
          "net"_a, "container"_a, "force"_a = false, "POST /networks/{net}/disconnect.")
      .def(
          "remove", [](dind::Networks& n, const std::string& id) { without_gil([&] { n.remove(id); }); }, "id"_a,
          "DELETE /networks/{id}.")
      .def(
          "prune",
          [](dind::Networks& n, const pyb::object& filters) {
            json f = from_python(filters);
            return json_call<dind::py::JsonObject>([&] { return n.prune(f); });
          },
          "filters"_a = pyb::none(), "POST /networks/prune; returns {'NetworksDeleted': [...]}.");
}
