// _core.Daemon, _core.DaemonOptions, _core.Reach and _core.reap: the dind lifecycle (layer 6). Options cross as a plain
// struct built by keyword; every call that talks to an engine runs without the GIL.
#include "dind/daemon.hpp"

#include <pybind11/chrono.h>
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "common.hpp"
#include "dind/cache.hpp"
#include "dind/session.hpp"

namespace {

namespace pyb = pybind11;
using namespace pybind11::literals;

// A start abandoned from another thread: Python's handlers run on the main thread only, so a start on a background
// thread (the pytest plugin's session daemon, python/dind/daemon.py) is cancelled by setting this flag.
struct CancelFlag {
  std::shared_ptr<std::atomic<bool>> flag = std::make_shared<std::atomic<bool>>(false);
};

double seconds(std::chrono::microseconds us) {
  return static_cast<double>(us.count()) / 1e6;
}

// A str names the member (`ReachKind("tunnel")`, or `reach="tunnel"` in DaemonOptions), through the core's own
// parser; a bad name is a ValueError with its message.
template <class E, class Parse>
void def_enum_from_name(pyb::enum_<E>& e, Parse parse) {
  e.def(pyb::init([parse](const std::string& name) {
          try {
            return parse(name);
          } catch (const dind::Error& err) {
            throw pyb::value_error(err.what());
          }
        }),
        "name"_a);
  // In place of pybind11's own __str__ (this one ran first anyway), so that the stubs show one signature.
  e.attr("__str__") =
      pyb::cpp_function([](E v) { return std::string(dind::to_string(v)); }, pyb::name("__str__"), pyb::is_method(e),
                        "The name, as the core writes it (\"auto\", \"missing\", ...).");
  pyb::implicitly_convertible<std::string, E>();
}

}  // namespace

DIND_BINDINGS(daemon) {
  pyb::class_<dind::Owner>(m, "Owner", "A process whose death orphans what dind made for it (pid and start time).")
      .def_readonly("pid", &dind::Owner::pid, "The process id.")
      .def_readonly("start", &dind::Owner::start, "The process's start time (what tells a reused pid apart).")
      .def_readonly("host", &dind::Owner::host, "The machine it runs on.")
      .def_static("this_process", &dind::Owner::self, "This process.")
      .def_static("parent_process", &dind::Owner::parent, "This process's parent.")
      .def_static("session_leader", &dind::Owner::session_leader,
                  "This process's session leader (or the ancestor standing in for it), None when there is none.")
      .def("alive", &dind::Owner::alive, "False once this machine can tell the process is gone.");

  pyb::enum_<dind::PullPolicy> pull(m, "PullPolicy",
                                    "When Daemon.start() pulls the dind image: missing, always or never.");
  pull.value("missing", dind::PullPolicy::missing)
      .value("always", dind::PullPolicy::always)
      .value("never", dind::PullPolicy::never);
  def_enum_from_name(pull, &dind::parse_pull_policy);

  pyb::enum_<dind::ReachKind> reach_kind(
      m, "ReachKind", "How a daemon is dialled: auto (decided from where this process stands), or one kind.");
  reach_kind.value("auto", dind::ReachKind::automatic)
      .value("loopback", dind::ReachKind::loopback)
      .value("network", dind::ReachKind::network)
      .value("published", dind::ReachKind::published)
      .value("tunnel", dind::ReachKind::tunnel);
  def_enum_from_name(reach_kind, &dind::parse_reach_kind);

  pyb::class_<dind::Reach>(m, "Reach", "How a daemon is dialled (kind, address) and why (reason).")
      .def_property_readonly(
          "kind", [](const dind::Reach& r) { return std::string(dind::to_string(r.kind)); },
          "loopback, network, published or tunnel.")
      .def_readonly("address", &dind::Reach::address, "What is dialled (host:port, or the tunnel's name).")
      .def_readonly("reason", &dind::Reach::reason, "Why this reach was chosen, in words.")
      .def("__str__", [](const dind::Reach& r) { return std::string(dind::to_string(r.kind)) + ": " + r.reason; })
      .def("__repr__", [](const dind::Reach& r) {
        return "<Reach " + std::string(dind::to_string(r.kind)) + " " + r.address + ">";
      });

  pyb::enum_<dind::Backend> backend(m, "Backend", "Where a daemon runs: docker (a container) or kubernetes (a pod).");
  backend.value("docker", dind::Backend::docker).value("kubernetes", dind::Backend::kubernetes);
  def_enum_from_name(backend, &dind::parse_backend);

  pyb::class_<dind::KubeOptions> kube(m, "KubeOptions",
                                      "The Kubernetes backend's place and pod shape (cpp/include/dind/daemon.hpp).");
  kube.def_readwrite("kubeconfig", &dind::KubeOptions::kubeconfig,
                     "A kubeconfig file (empty: KUBECONFIG, ~/.kube/config, the in-cluster service account).")
      .def_readwrite("context", &dind::KubeOptions::context, "A context of it (empty: its current-context).")
      .def_readwrite("namespace", &dind::KubeOptions::namespace_, "The namespace (empty: the context's).")
      .def_readwrite("node", &dind::KubeOptions::node,
                     "spec.nodeName, for a cluster without a scheduler (empty: the scheduler places the pod).")
      .def_readwrite("runtime_class", &dind::KubeOptions::runtime_class,
                     "runtimeClassName instead of a privileged container (e.g. a sysbox class).")
      .def_readwrite("requests", &dind::KubeOptions::requests, "The dind container's resource requests.")
      .def_readwrite("limits", &dind::KubeOptions::limits, "The dind container's resource limits.");
  dind::py::def_keyword_init(kube);

  pyb::class_<dind::DaemonOptions> opts(m, "DaemonOptions",
                                        "What Daemon.start() starts (cpp/include/dind/daemon.hpp).");
  opts.def_readwrite("image", &dind::DaemonOptions::image, "The dind image (docker:dind).")
      .def_readwrite("privileged", &dind::DaemonOptions::privileged, "Run the container privileged (the default).")
      .def_readwrite("runtime", &dind::DaemonOptions::runtime,
                     "An OCI runtime (e.g. sysbox-runc) instead of privileges; empty: the engine's default.")
      .def_readwrite("tls", &dind::DaemonOptions::tls, "Mutual TLS on 2376 (the default), else plain TCP on 2375.")
      .def_readwrite("tls_sans", &dind::DaemonOptions::tls_sans,
                     "Extra names and addresses for the server certificate (\"DNS:x\", \"IP:y\" or bare).")
      .def_readwrite("network", &dind::DaemonOptions::network, "A user network the daemon joins (empty: none).")
      .def_readwrite("aliases", &dind::DaemonOptions::aliases, "Its aliases on `network`.")
      .def_readwrite("host_port", &dind::DaemonOptions::host_port, "The host port to publish (0: a free one).")
      .def_readwrite("dockerd_args", &dind::DaemonOptions::dockerd_args, "Appended to dockerd's flags.")
      .def_readwrite("env", &dind::DaemonOptions::env, "The dind container's environment.")
      .def_readwrite("mounts", &dind::DaemonOptions::mounts, "Extra mounts, \"source:target[:ro]\".")
      .def_readwrite("name", &dind::DaemonOptions::name, "The container's name (empty: dind-<random>).")
      .def_readwrite("labels", &dind::DaemonOptions::labels, "Extra labels on the container.")
      .def_readwrite("pull", &dind::DaemonOptions::pull, "When to pull the image (PullPolicy).")
      .def_readwrite("outer", &dind::DaemonOptions::outer,
                     "The engine that runs the container (None: Client.from_env()).")
      .def_readwrite("start_timeout", &dind::DaemonOptions::start_timeout,
                     "How long start() waits for the daemon to answer.")
      .def_readwrite("owner", &dind::DaemonOptions::owner,
                     "Whose death orphans the daemon for reap() (None: this process).")
      .def_readwrite("reach", &dind::DaemonOptions::reach, "How the daemon is dialled (ReachKind).")
      .def_readwrite("host", &dind::DaemonOptions::host,
                     "Dial a published port at this host instead (empty: $DIND_HOST if set).")
      .def_readwrite("insecure_publish", &dind::DaemonOptions::insecure_publish,
                     "Allow a plain-TCP port to be published beyond loopback.")
      .def_readwrite("reuse", &dind::DaemonOptions::reuse,
                     "Reuse key: attach to an earlier run's daemon of this key and these options (empty: none).")
      .def_readwrite("cache", &dind::DaemonOptions::cache,
                     "A named volume for /var/lib/docker that outlives the daemon (empty: none).")
      .def_readwrite("carry_registries", &dind::DaemonOptions::carry_registries,
                     "Carry the outer engine's registry mirrors and insecure registries (the default).")
      .def_readwrite("carry_mtu", &dind::DaemonOptions::carry_mtu,
                     "Carry the MTU of the network the daemon joins when below 1500 (the default).")
      .def_readwrite("carry_proxy", &dind::DaemonOptions::carry_proxy,
                     "Carry this process's HTTP_PROXY/HTTPS_PROXY/NO_PROXY (the default).")
      .def_readwrite("credentials", &dind::DaemonOptions::credentials,
                     "Pull the dind image with $DOCKER_CONFIG/config.json's credentials (the default).")
      .def_readwrite("login", &dind::DaemonOptions::login,
                     "Those credentials also for pulls through the daemon (its client and env()'s docker CLI).")
      .def_readwrite("backend", &dind::DaemonOptions::backend, "Where the daemon runs (Backend): docker or kubernetes.")
      .def_readwrite("kube", &dind::DaemonOptions::kube, "The Kubernetes backend's options (KubeOptions).");
  dind::py::def_keyword_init(opts);

  pyb::class_<CancelFlag>(m, "CancelFlag", "Abandons a Daemon.start() given it when set, from any thread.")
      .def(pyb::init<>())
      .def(
          "set", [](CancelFlag& c) { c.flag->store(true); }, "Abandons the start (it removes what it made).")
      .def_property_readonly(
          "is_set", [](const CancelFlag& c) { return c.flag->load(); }, "True once set() was called.");

  pyb::class_<dind::Daemon>(m, "Daemon",
                            "One dind daemon: start() makes it, remove() ends it (cpp/include/dind/daemon.hpp).")
      .def_static(
          "start",
          [](dind::DaemonOptions o, std::optional<CancelFlag> given) {
            // On a worker thread, so that Ctrl-C (a signal handler that raises) abandons the start at once: the
            // flag makes start() remove what it made, then the KeyboardInterrupt propagates.
            auto cancel = given ? given->flag : std::make_shared<std::atomic<bool>>(false);
            o.cancel = cancel;
            std::optional<dind::Daemon> started;
            dind::py::Interruptible().run([&] { started.emplace(dind::Daemon::start(o)); },
                                          [&] { cancel->store(true); });
            return std::move(*started);
          },
          "options"_a, "cancel"_a = pyb::none(),
          "Starts a daemon and returns once it answers over the transport its client uses; Ctrl-C (on the main "
          "thread) or cancel.set() (from any thread) abandons it, removing what was made.")
      .def_static(
          "attach",
          [](const std::string& name_or_id, std::optional<dind::Client> outer) {
            pyb::gil_scoped_release release;
            return dind::Daemon::attach(name_or_id, std::move(outer));
          },
          "name_or_id"_a, "outer"_a = pyb::none(),
          "Takes over a running daemon made by start() (found by name or id on `outer`), e.g. another process's.")
      .def_property_readonly("id", &dind::Daemon::id, "The container's id.")
      .def_property_readonly("name", &dind::Daemon::name, "The container's name.")
      .def_property_readonly("host", &dind::Daemon::host, "What the client dials (DOCKER_HOST).")
      .def_property_readonly("reach", &dind::Daemon::reach, "How the daemon is dialled, and why (a Reach).")
      .def_property_readonly("cert_path", &dind::Daemon::cert_path,
                             "The directory with the client's ca.pem, cert.pem and key.pem.")
      .def_property_readonly("dir", &dind::Daemon::dir, "The daemon's private directory.")
      .def_property_readonly("tls", &dind::Daemon::tls, "True when the daemon speaks mutual TLS.")
      .def_property_readonly("removed", &dind::Daemon::removed, "True once remove() ran.")
      .def_property_readonly("reused", &dind::Daemon::reused,
                             "True when start() attached to an earlier run's daemon (options.reuse).")
      .def_property_readonly("reuse_note", &dind::Daemon::reuse_note,
                             "With options.reuse: why no earlier daemon served (empty when none was tried).")
      .def_property_readonly(
          "client", [](dind::Daemon& d) { return d.client(); }, "A client of the daemon.")
      .def_property_readonly(
          "outer", [](dind::Daemon& d) { return d.outer(); }, "A client of the engine the daemon runs on.")
      .def_property_readonly("env", &dind::Daemon::env,
                             "DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for the docker CLI.")
      .def_property_readonly(
          "timings",
          [](const dind::Daemon& d) {
            const auto& t = d.timings();
            pyb::typing::Dict<pyb::str, double> out;
            out["certs"] = seconds(t.certs);
            out["create"] = seconds(t.create);
            out["start"] = seconds(t.start);
            out["ready"] = seconds(t.ready);
            out["total"] = seconds(t.total);
            return out;
          },
          "Seconds each phase of the start took: certs, create, start, ready, total.")
      .def(
          "logs",
          [](dind::Daemon& d, int tail) {
            std::string s;
            {
              pyb::gil_scoped_release release;
              s = d.logs(tail);
            }
            return pyb::str(pyb::reinterpret_steal<pyb::object>(
                PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace")));
          },
          "tail"_a = 50, "The last `tail` lines of the container's log (invalid UTF-8 replaced).")
      .def(
          "exec",
          [](dind::Daemon& d, const std::vector<std::string>& cmd) {
            dind::ExecResult r;
            {
              pyb::gil_scoped_release release;
              r = d.exec(cmd);
            }
            return dind::py::named<pyb::typing::Tuple<int, pyb::bytes>>(
                pyb::make_tuple(r.exit_code, pyb::bytes(r.out + r.err)));
          },
          "cmd"_a, "Runs `cmd` in the dind container: (exit code, stdout and stderr).")
      .def(
          "load_images",
          [](dind::Daemon& d, const std::vector<std::string>& names, const pyb::object& progress) {
            std::function<void(std::uint64_t)> cb;
            if (!progress.is_none()) {
              cb = [progress](std::uint64_t n) {
                pyb::gil_scoped_acquire acquire;
                progress(n);
              };
            }
            std::vector<std::string> loaded;
            {
              pyb::gil_scoped_release release;
              loaded = d.load_images(names, cb);
            }
            return dind::py::named<dind::py::BuiltinList<pyb::str>>(pyb::cast(loaded));
          },
          "names"_a, "progress"_a = pyb::none(),
          "Streams images of the outer engine into the daemon; progress(bytes so far) is called as they move. Returns "
          "the names loaded.")
      .def(
          "serve_cli",
          [](dind::Daemon& d) {
            // Until the daemon goes, or Ctrl-C / SIGTERM (a handler that raises) sets the flag.
            auto stop = std::make_shared<std::atomic<bool>>(false);
            dind::py::Interruptible().run([&] { d.serve_cli(stop); }, [&] { stop->store(true); });
          },
          "Tunnel only: serves env's DOCKER_HOST for the docker CLI until the daemon is gone.")
      .def(
          "remove",
          [](dind::Daemon& d, std::optional<double> graceful) {
            std::optional<std::chrono::seconds> g;
            if (graceful) g = std::chrono::seconds(static_cast<long long>(*graceful));
            pyb::gil_scoped_release release;
            d.remove(g);
          },
          "graceful"_a = pyb::none(),
          "Removes the container with its volumes and the private directory (stopping it first, waiting `graceful` "
          "seconds, when given). Idempotent.")
      .def("stop_forwarder", &dind::Daemon::stop_forwarder,
           "Stops this handle's forwarder (tunnel), so that serve_cli() in another process can take its socket over.")
      .def("keep", &dind::Daemon::keep, "keep"_a = true,
           "Leave the daemon running when this handle goes (True), or remove it then (False).")
      .def_static(
          "list",
          [](std::optional<dind::Client> outer) {
            std::vector<dind::DaemonSummary> all;
            {
              pyb::gil_scoped_release release;
              all = dind::Daemon::list(outer ? *outer : dind::Client::from_env());
            }
            dind::py::JsonObjects out;
            for (const auto& d : all) {
              pyb::dict x;
              x["name"] = d.name;
              x["id"] = d.id;
              x["status"] = d.status;
              x["host"] = d.reach.address;
              x["reach"] = std::string(dind::to_string(d.reach.kind));
              x["reason"] = d.reach.reason;
              x["session"] = d.session;
              x["owner_pid"] = d.owner_pid;
              x["owner_alive"] = d.owner_alive;
              x["created"] = d.created;
              x["reuse"] = d.reuse;
              out.append(x);
            }
            return out;
          },
          "outer"_a = pyb::none(), "The dind daemons on the engine (every session, any state), oldest first.");

  m.def(
      "reap",
      [](std::optional<dind::Client> outer, std::optional<double> older_than, bool everything, bool reused) {
        dind::ReapOptions o;
        if (older_than) o.older_than = std::chrono::seconds(static_cast<long long>(*older_than));
        o.everything = everything;
        o.reused = reused;
        dind::ReapResult r;
        {
          pyb::gil_scoped_release release;
          r = dind::reap(outer ? *outer : dind::Client::from_env(), o);
        }
        pyb::typing::Dict<pyb::str, std::vector<std::string>> out;
        out["containers"] = r.containers;
        out["volumes"] = r.volumes;
        out["networks"] = r.networks;
        out["dirs"] = r.dirs;
        return out;
      },
      "outer"_a = pyb::none(), "older_than"_a = pyb::none(), "everything"_a = false, "reused"_a = false,
      "Removes what dind made whose owner is gone (or older than `older_than` seconds, or all with `everything`; "
      "reused daemons too with `reused`): {'containers', 'volumes', 'networks', 'dirs'} removed.");
  m.def(
      "reap_kubernetes",
      [](const dind::KubeOptions& k, std::optional<double> older_than, bool everything) {
        dind::ReapOptions o;
        if (older_than) o.older_than = std::chrono::seconds(static_cast<long long>(*older_than));
        o.everything = everything;
        dind::ReapResult r;
        {
          pyb::gil_scoped_release release;
          dind::KubeClient api(dind::load_kube_target({k.kubeconfig, k.context}));
          const std::string ns = k.namespace_.empty() ? api.target().namespace_ : k.namespace_;
          r = dind::reap_kubernetes(api, ns, o);
        }
        pyb::typing::Dict<pyb::str, std::vector<std::string>> out;
        out["pods"] = r.pods;
        out["secrets"] = r.secrets;
        out["dirs"] = r.dirs;
        return out;
      },
      "kube"_a, "older_than"_a = pyb::none(), "everything"_a = false,
      "Removes the Kubernetes backend's pods and Secrets (in the kubeconfig's namespace, or kube.namespace) whose "
      "owner is gone (or older than `older_than` seconds, or all with `everything`): {'pods', 'secrets', 'dirs'}.");
  m.def(
      "list_caches",
      [](std::optional<dind::Client> outer) {
        std::vector<dind::CacheSummary> all;
        {
          pyb::gil_scoped_release release;
          all = dind::list_caches(outer ? *outer : dind::Client::from_env());
        }
        dind::py::JsonObjects out;
        for (const auto& c : all) {
          pyb::dict x;
          x["name"] = c.name;
          x["created"] = c.created;
          x["users"] = c.users;
          x["mountpoint"] = c.mountpoint;
          out.append(x);
        }
        return out;
      },
      "outer"_a = pyb::none(),
      "The layer caches (volumes for /var/lib/docker) on the engine: name, created, users, mountpoint.");
  m.def(
      "remove_cache",
      [](std::optional<dind::Client> outer, const std::string& name) {
        pyb::gil_scoped_release release;
        return dind::remove_cache(outer ? *outer : dind::Client::from_env(), name);
      },
      "outer"_a, "name"_a, "Removes a layer cache; False if absent, an error while a container uses it.");
  m.def(
      "remove_daemon",
      [](std::optional<dind::Client> outer, const std::string& name_or_id) {
        pyb::gil_scoped_release release;
        return dind::remove_daemon(outer ? *outer : dind::Client::from_env(), name_or_id);
      },
      "outer"_a, "name_or_id"_a,
      "Removes one daemon made by dind, any state: container with volumes, private directory. False if absent.");
  pyb::class_<dind::DaemonRecord>(m, "DaemonRecord",
                                  "What a daemon's private directory records: name, id, dir and its engine's URL.")
      .def_readonly("name", &dind::DaemonRecord::name, "The container's name.")
      .def_readonly("id", &dind::DaemonRecord::id, "The container's id.")
      .def_readonly("dir", &dind::DaemonRecord::dir, "The private directory.")
      .def_readonly("engine", &dind::DaemonRecord::engine, "The URL of the engine the daemon runs on.")
      .def(
          "engine_client",
          [](const dind::DaemonRecord& r) {
            pyb::gil_scoped_release release;  // reads TLS files
            return dind::Client(r.engine_config());
          },
          "A client of the engine the daemon lives on.");
  m.def(
      "local_daemons",
      [] {
        pyb::gil_scoped_release release;
        return dind::local_daemons();
      },
      "The daemons recorded in this user's private dind directories on this machine.");
  m.def("session_id", &dind::session_id, "The id of this process's dind session (the dind.session label).");
  // The labels dind puts on what it makes (cpp/include/dind/session.hpp): one list, for Python too.
  for (const auto& [name, value] : {std::pair{"LABEL_SESSION", dind::kLabelSession},
                                    {"LABEL_OWNER_PID", dind::kLabelOwnerPid},
                                    {"LABEL_OWNER_START", dind::kLabelOwnerStart},
                                    {"LABEL_OWNER_HOST", dind::kLabelOwnerHost},
                                    {"LABEL_OWNER_CONTAINER", dind::kLabelOwnerContainer},
                                    {"LABEL_CREATED", dind::kLabelCreated},
                                    {"LABEL_NAME", dind::kLabelName},
                                    {"LABEL_CERT_PATH", dind::kLabelCertPath},
                                    {"LABEL_TLS", dind::kLabelTls},
                                    {"LABEL_DIR", dind::kLabelDir},
                                    {"LABEL_REACH", dind::kLabelReach},
                                    {"LABEL_REUSE", dind::kLabelReuse},
                                    {"LABEL_REUSE_HASH", dind::kLabelReuseHash},
                                    {"LABEL_CACHE", dind::kLabelCache}})
    m.attr(name) = value;
}
