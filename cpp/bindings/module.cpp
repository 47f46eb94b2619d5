// dind._core: thin bindings. Arguments are converted before the GIL is released; results are built after it is
// taken back; C++ errors become the classes of python/dind/errors.py.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "common.hpp"
#include "dind/client.hpp"
#include "dind/client_config.hpp"
#include "dind/errors.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

py::object errors_module() {
  static py::object* mod = nullptr;  // intentionally leaked: lives as long as the interpreter
  if (!mod) mod = new py::object(py::module_::import("dind.errors"));
  return *mod;
}

py::object json_loads() {
  static py::object* loads = nullptr;
  if (!loads) loads = new py::object(py::module_::import("json").attr("loads"));
  return *loads;
}

void raise(const char* cls_name, py::object instance) {
  py::object cls = errors_module().attr(cls_name);
  PyErr_SetObject(cls.ptr(), instance.ptr());
}

// The one table from the core's error kinds (cpp/include/dind/errors.hpp) to dind.errors' classes: the core picks
// the kind (an image's 404 is ImageNotFound there), this only names it; most derived first.
template <class E>
bool api_error_as(const dind::ApiError& e, const char* name) {
  if (!dynamic_cast<const E*>(&e)) return false;
  py::object cls = errors_module().attr(name);
  raise(name, cls(e.what(), "status_code"_a = e.status(), "explanation"_a = e.message(), "method"_a = e.method(),
                  "path"_a = e.path()));
  return true;
}

void translate(std::exception_ptr p) {
  try {
    std::rethrow_exception(p);
  } catch (const dind::ApiError& e) {
    api_error_as<dind::ImageNotFound>(e, "ImageNotFound") || api_error_as<dind::NotFound>(e, "NotFound") ||
        api_error_as<dind::BadRequest>(e, "BadRequest") || api_error_as<dind::Unauthorized>(e, "Unauthorized") ||
        api_error_as<dind::Forbidden>(e, "Forbidden") || api_error_as<dind::Conflict>(e, "Conflict") ||
        api_error_as<dind::ServerError>(e, "ServerError") || api_error_as<dind::ApiError>(e, "APIError");
  } catch (const dind::DaemonStartError& e) {
    raise("DaemonStartError", errors_module().attr("DaemonStartError")(e.what(), e.log_tail()));
  } catch (const dind::ContainerExitedError& e) {
    raise("ContainerExited", errors_module().attr("ContainerExited")(e.what(), e.id(), e.exit_code(), e.log_tail()));
  } catch (const dind::TlsError& e) {
    raise("TLSError", errors_module().attr("TLSError")(e.what()));
  } catch (const dind::TimeoutError& e) {
    raise("TimeoutError", errors_module().attr("TimeoutError")(e.what()));
  } catch (const dind::ConnectionError& e) {
    raise("ConnectionError", errors_module().attr("ConnectionError")(e.what()));
  } catch (const dind::StreamError& e) {
    raise("StreamError", errors_module().attr("StreamError")(e.what()));
  } catch (const dind::Error& e) {
    raise("DockerException", errors_module().attr("DockerException")(e.what()));
  } catch (const nlohmann::json::exception& e) {
    raise("DockerException", errors_module().attr("DockerException")(std::string("bad JSON: ") + e.what()));
  }
}

std::chrono::milliseconds to_timeout(const py::object& t) {
  if (t.is_none()) return std::chrono::hours(24 * 365 * 100);  // docker-py: None = no timeout
  double s = t.cast<double>();
  if (s <= 0) throw py::value_error("timeout must be positive or None");
  return std::chrono::milliseconds(static_cast<long long>(s * 1000.0 + 0.5));
}

std::string str_of(const py::handle& h) {
  if (py::isinstance<py::bool_>(h)) return h.cast<bool>() ? "1" : "0";
  if (py::isinstance<py::bytes>(h)) return h.cast<std::string>();
  return py::str(h).cast<std::string>();
}

// A docker-py-like TLS dict → TlsConfig: ca_cert, client_cert=(cert, key) | cert + key, verify, *_pem strings.
// Files are read here, so it runs with the GIL released by the caller.
struct TlsArgs {
  std::string ca_file, cert_file, key_file, ca_pem, cert_pem, key_pem;
  bool verify = true;
};

TlsArgs tls_args(const py::dict& d) {
  TlsArgs a;
  auto get = [&](const char* k) -> std::string {
    if (!d.contains(k) || d[k].is_none()) return {};
    return py::str(d[k]).cast<std::string>();
  };
  a.ca_file = get("ca_cert");
  a.ca_pem = get("ca_pem");
  a.cert_pem = get("cert_pem");
  a.key_pem = get("key_pem");
  if (d.contains("client_cert") && !d["client_cert"].is_none()) {
    auto pair = d["client_cert"].cast<py::sequence>();
    if (py::len(pair) != 2) throw py::value_error("tls client_cert must be a (cert, key) pair");
    a.cert_file = py::str(pair[0]).cast<std::string>();
    a.key_file = py::str(pair[1]).cast<std::string>();
  }
  if (a.cert_file.empty()) a.cert_file = get("cert");
  if (a.key_file.empty()) a.key_file = get("key");
  if (d.contains("verify") && !d["verify"].is_none()) a.verify = d["verify"].cast<bool>();
  for (auto item : d) {
    std::string k = py::str(item.first);
    if (k != "ca_cert" && k != "ca_pem" && k != "cert_pem" && k != "key_pem" && k != "client_cert" && k != "cert" &&
        k != "key" && k != "verify")
      throw py::value_error("unknown tls option \"" + k +
                            "\" (expected ca_cert, client_cert, cert, key, verify, ca_pem, cert_pem, key_pem)");
  }
  return a;
}

dind::TlsConfig make_tls(const TlsArgs& a) {
  dind::TlsConfig c = dind::TlsConfig::from_files(a.ca_file, a.cert_file, a.key_file, a.verify);
  if (!a.ca_pem.empty()) c.ca_pem = a.ca_pem, c.ca_source = "<ca_pem>";
  if (!a.cert_pem.empty()) c.cert_pem = a.cert_pem, c.cert_source = "<cert_pem>";
  if (!a.key_pem.empty()) c.key_pem = a.key_pem, c.key_source = "<key_pem>";
  return c;
}

dind::Query to_query(const py::object& q) {
  dind::Query out;
  if (q.is_none()) return out;
  auto add = [&](const std::string& k, const py::handle& v) {
    if (v.is_none()) return;
    if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
      for (auto item : v) out.emplace_back(k, str_of(item));
    } else {
      out.emplace_back(k, str_of(v));
    }
  };
  if (py::isinstance<py::dict>(q)) {
    for (auto item : q.cast<py::dict>()) add(py::str(item.first).cast<std::string>(), item.second);
  } else {
    for (auto item : q) {
      auto pair = item.cast<py::sequence>();
      add(py::str(pair[0]).cast<std::string>(), pair[1]);
    }
  }
  return out;
}

py::typing::Dict<py::str, py::str> to_dict(const dind::Headers& headers) {
  py::typing::Dict<py::str, py::str> d;
  for (const auto& [k, v] : headers) d[py::str(k)] = py::str(v);
  return d;
}

// What ClientConfig::from_env decided (the rule is in transport/client_config.cpp), in the shape docker-py's
// kwargs_from_env gives: base_url, and the TLS files with the verify flag; python/dind/utils.py wraps it.
py::dict endpoint_kwargs(const dind::ClientConfig& cfg) {
  py::dict out;
  out["base_url"] = cfg.endpoint.url();
  out["version"] = cfg.version.empty() ? py::object(py::none()) : py::object(py::str(cfg.version));
  if (!cfg.tls) {
    out["tls"] = py::none();
    return out;
  }
  const dind::TlsConfig& t = *cfg.tls;
  auto file = [](const std::string& pem, const std::string& source) -> py::object {
    if (pem.empty() || source.empty() || source[0] == '<') return py::none();
    return py::str(source);
  };
  py::dict tls;
  tls["ca_cert"] = file(t.ca_pem, t.ca_source);
  py::object cert = file(t.cert_pem, t.cert_source), key = file(t.key_pem, t.key_source);
  tls["client_cert"] = cert.is_none() || key.is_none() ? py::object(py::none()) : py::object(py::make_tuple(cert, key));
  tls["verify"] = t.verify;
  out["tls"] = tls;
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "dind's C++ core: the Docker Engine API client";
  py::register_local_exception_translator(translate);
  m.attr("MAX_API_VERSION") = dind::kMaxApiVersion;
  m.attr("MIN_API_VERSION") = dind::kMinApiVersion;

  py::class_<dind::Client>(m, "Client",
                           "The core's Engine API client: version negotiation, the connection pool, typed errors.")
      .def(py::init([](const std::string& base_url, const py::object& tls, const py::object& version,
                       const py::object& timeout) {
             std::optional<TlsArgs> targs;
             if (!tls.is_none()) targs = tls_args(tls.cast<py::dict>());
             std::string v = version.is_none() ? std::string() : version.cast<std::string>();
             auto t = to_timeout(timeout);
             py::gil_scoped_release release;  // cert files are read here
             std::optional<dind::TlsConfig> tc;
             if (targs) tc = make_tls(*targs);
             auto cfg = dind::ClientConfig::from_url(base_url, std::move(tc));
             cfg.version = v;
             if (!cfg.version.empty() && cfg.version[0] == 'v') cfg.version.erase(0, 1);
             cfg.timeout = t;
             return dind::Client(std::move(cfg));
           }),
           "base_url"_a = dind::kDefaultDockerHost, "tls"_a = py::none(), "version"_a = py::none(),
           "timeout"_a = py::none(),
           "A client of the engine at `base_url` (unix://, tcp://, ssh://); `tls` a dict (ca_cert, client_cert, "
           "verify, ...); `timeout` seconds per call (None: none).")
      .def_static(
          "from_env",
          [](const py::object& version, const py::object& timeout,
             std::optional<std::map<std::string, std::string>> environ) {
            std::string v = version.is_none() ? std::string() : version.cast<std::string>();
            std::optional<std::chrono::milliseconds> t;
            if (!timeout.is_none()) t = to_timeout(timeout);
            py::gil_scoped_release release;
            auto cfg = environ ? dind::ClientConfig::from_env(*environ) : dind::ClientConfig::from_env();
            if (!v.empty()) cfg.version = v;
            if (t) cfg.timeout = *t;
            return dind::Client(std::move(cfg));
          },
          "version"_a = py::none(), "timeout"_a = py::none(), "environ"_a = py::none(),
          "A client for the engine the docker CLI would use: DOCKER_HOST (with DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), "
          "else the current docker context (DOCKER_CONTEXT, else currentContext in $DOCKER_CONFIG/config.json); "
          "DOCKER_API_VERSION pins the version. `environ` (a dict) stands in for the process environment.")
      .def("ping", &dind::Client::ping, py::call_guard<py::gil_scoped_release>(), "GET /_ping; returns \"OK\".")
      .def(
          "version",
          [](dind::Client& c) {
            std::string body;
            {
              py::gil_scoped_release release;
              body = c.request("GET", "/version").body;
            }
            return dind::py::named<dind::py::JsonObject>(json_loads()(py::bytes(body)));
          },
          "GET /version as a dict.")
      .def(
          "info",
          [](dind::Client& c) {
            std::string body;
            {
              py::gil_scoped_release release;
              body = c.request("GET", "/info").body;
            }
            return dind::py::named<dind::py::JsonObject>(json_loads()(py::bytes(body)));
          },
          "GET /info as a dict.")
      .def_property_readonly(
          "api_version",
          [](dind::Client& c) {
            py::gil_scoped_release release;
            return c.api_version();
          },
          "The API version in use (negotiated with the engine on first use unless pinned).")
      .def_property_readonly(
          "base_url", [](const dind::Client& c) { return c.host(); }, "The engine's URL.")
      .def_property_readonly("idle_connections", &dind::Client::idle_connections,
                             "How many idle connections the pool holds.")
      .def(
          "request",
          [](dind::Client& c, const std::string& method, const std::string& path, const py::object& query,
             const py::object& body, const py::object& headers, const py::object& timeout) {
            dind::Query q = to_query(query);
            std::optional<dind::Body> b;
            dind::Headers h;
            if (!headers.is_none())
              for (auto item : headers.cast<py::dict>())
                h.emplace_back(py::str(item.first).cast<std::string>(), py::str(item.second).cast<std::string>());
            if (py::isinstance<py::bytes>(body)) {
              b = dind::Body::raw(body.cast<std::string>());
            } else if (py::isinstance<py::str>(body)) {
              b = dind::Body{body.cast<std::string>(), "application/json"};
            } else if (!body.is_none()) {
              b = dind::Body{py::module_::import("json").attr("dumps")(body).cast<std::string>(), "application/json"};
            }
            std::optional<dind::Clock::duration> t;
            if (!timeout.is_none()) t = to_timeout(timeout);
            dind::Response r;
            {
              py::gil_scoped_release release;
              r = c.request(method, path, q, b, h, t);
            }
            return dind::py::named<py::typing::Tuple<int, py::typing::Dict<py::str, py::str>, py::bytes>>(
                py::make_tuple(r.status, to_dict(r.headers), py::bytes(r.body)));
          },
          "method"_a, "path"_a, "query"_a = py::none(), "body"_a = py::none(), "headers"_a = py::none(),
          "timeout"_a = py::none(),
          "A unary call on /v{api_version}{path}: (status, headers, body bytes). Error statuses raise APIError "
          "subclasses; dict/list bodies are sent as JSON; query values may be lists (repeated keys).");

  m.def(
      "endpoint_from_env",
      [](std::optional<std::map<std::string, std::string>> environ) {
        dind::ClientConfig cfg;
        {
          py::gil_scoped_release release;  // reads the context store and the cert files
          cfg = environ ? dind::ClientConfig::from_env(*environ) : dind::ClientConfig::from_env();
        }
        return dind::py::named<dind::py::JsonObject>(endpoint_kwargs(cfg));
      },
      "environ"_a = py::none(),
      "Where the docker CLI's rules (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, the current context) point: "
      "{'base_url': str, 'version': str or None, 'tls': None or {'ca_cert', 'client_cert': (cert, key), 'verify'}}. "
      "`environ` (a dict) stands in for the process environment.");

  // Each resource group binds itself from its own file (cpp/bindings/<group>.cpp, DIND_BINDINGS).
  dind::py::run_binders(m);
}
