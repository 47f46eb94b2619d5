// _core.Images(client): the image endpoints. Progress streams are _core.ImageProgress iterators (dicts, or the
// lines as bytes); they, the byte streams and the streamed Python bodies come from common.hpp.
#include "dind/images.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "dind/credentials.hpp"

namespace pyb = pybind11;
using namespace pybind11::literals;

namespace {

using dind::py::from_python;
using dind::py::json_call;
using dind::py::opt_json;
using dind::py::opt_str;
using dind::py::str_list;
using dind::py::str_map;
using dind::py::without_gil;
using nlohmann::json;

dind::py::ImageProgressObject progress(const std::function<dind::JsonStream()>& f, bool decode) {
  return dind::py::wrap_progress(without_gil(f), decode);
}

}  // namespace

DIND_BINDINGS(images) {
  m.def("parse_repository_tag", &dind::parse_repository_tag, "name"_a,
        "\"repo[:tag]\" or \"repo@digest\" -> (repo, tag or digest, \"\" when none): the core's rule.");
  m.def("registry_of_image", &dind::registry_of_image, "image"_a,
        "The registry an image reference names (docker.io when it names none): the core's rule.");
  m.def(
      "resolve_authconfig",
      [](const std::string& registry, const std::optional<std::string>& config_dir) {
        std::optional<json> found;
        {
          pyb::gil_scoped_release release;  // a helper may take its time
          auto creds = config_dir ? dind::Credentials::load(*config_dir) : dind::Credentials::from_env();
          if (auto a = creds.get(registry)) found = a->auth_config();
        }
        std::optional<dind::py::JsonObject> r;
        if (found) r = dind::py::to_python_as<dind::py::JsonObject>(*found);
        return r;
      },
      "registry"_a, "config_dir"_a = pyb::none(),
      "The credentials for `registry` from config_dir/config.json (None: $DOCKER_CONFIG, else ~/.docker): auths, "
      "credsStore and credHelpers as the docker CLI reads them; None when there are none.");
  pyb::class_<dind::Images>(m, "Images", "The image endpoints of one client.")
      .def(pyb::init<dind::Client>(), "client"_a, "The image endpoints of `client`.")
      .def(
          "list",
          [](dind::Images& im, bool all, const pyb::object& filters) {
            json f = from_python(filters);
            return json_call<dind::py::JsonObjects>([&] { return im.list(all, f); });
          },
          "all"_a = false, "filters"_a = pyb::none(), "GET /images/json, filters in docker-py's shape.")
      .def(
          "inspect",
          [](dind::Images& im, const std::string& name) {
            return json_call<dind::py::JsonObject>([&] { return im.inspect(name); });
          },
          "name"_a, "GET /images/{name}/json (ImageNotFound when there is none).")
      .def(
          "history",
          [](dind::Images& im, const std::string& name) {
            return json_call<dind::py::JsonObjects>([&] { return im.history(name); });
          },
          "name"_a, "GET /images/{name}/history.")
      .def(
          "pull",
          [](dind::Images& im, const std::string& name, const pyb::object& tag, const pyb::object& auth,
             const pyb::object& platform, bool all_tags, bool decode) {
            auto a = opt_json(auth);
            std::string t = opt_str(tag), p = opt_str(platform);
            return progress([&] { return im.pull(name, t, a, p, all_tags); }, decode);
          },
          "name"_a, "tag"_a = pyb::none(), "auth_config"_a = pyb::none(), "platform"_a = pyb::none(),
          "all_tags"_a = false, "decode"_a = true, "POST /images/create (a pull) as an ImageProgress stream.")
      .def(
          "push",
          [](dind::Images& im, const std::string& name, const pyb::object& tag, const pyb::object& auth, bool decode) {
            auto a = opt_json(auth);
            std::string t = opt_str(tag);
            return progress([&] { return im.push(name, t, a); }, decode);
          },
          "name"_a, "tag"_a = pyb::none(), "auth_config"_a = pyb::none(), "decode"_a = true,
          "POST /images/{name}/push as an ImageProgress stream.")
      .def(
          "tag",
          [](dind::Images& im, const std::string& name, const std::string& repository, const pyb::object& tag,
             bool force) {
            std::string t = opt_str(tag);
            pyb::gil_scoped_release release;
            return im.tag(name, repository, t, force);
          },
          "name"_a, "repository"_a, "tag"_a = pyb::none(), "force"_a = false,
          "POST /images/{name}/tag; True when the engine tagged it.")
      .def(
          "remove",
          [](dind::Images& im, const std::string& name, bool force, bool noprune) {
            return json_call<dind::py::JsonObjects>([&] { return im.remove(name, force, noprune); });
          },
          "name"_a, "force"_a = false, "noprune"_a = false,
          "DELETE /images/{name}: [{'Untagged': ...} or {'Deleted': ...}].")
      .def(
          "prune",
          [](dind::Images& im, const pyb::object& filters) {
            json f = from_python(filters);
            return json_call<dind::py::JsonObject>([&] { return im.prune(f); });
          },
          "filters"_a = pyb::none(), "POST /images/prune; returns {'ImagesDeleted': [...], 'SpaceReclaimed': n}.")
      .def(
          "load",
          [](dind::Images& im, const pyb::object& data, bool quiet) {
            std::optional<dind::JsonStream> s;
            dind::py::with_python_body(data, "image load",
                                       [&](dind::BodySource src) { s.emplace(im.load(std::move(src), quiet)); });
            return dind::py::wrap_progress(std::move(*s), true);
          },
          "data"_a, "quiet"_a = false,
          "POST /images/load from bytes, a binary file or an iterable of bytes (streamed).")
      .def(
          "load_file",
          [](dind::Images& im, const std::string& path, bool quiet) {
            return progress([&] { return im.load(std::filesystem::path(path), quiet); }, true);
          },
          "path"_a, "quiet"_a = false, "POST /images/load from the tar file at `path` (read by the core).")
      .def(
          "save",
          [](dind::Images& im, const pyb::object& names, std::size_t chunk_size) {
            auto n = str_list(names);
            return dind::py::wrap_byte_stream(without_gil([&] { return im.save(n); }), chunk_size);
          },
          "names"_a, "chunk_size"_a = std::size_t{2} << 20, "GET /images/get: the images' tar as a ByteStream.")
      .def(
          "import_image",
          [](dind::Images& im, const pyb::object& data, const pyb::object& repository, const pyb::object& tag,
             const pyb::object& changes, const pyb::object& message, const pyb::object& platform) {
            std::string r = opt_str(repository), t = opt_str(tag), msg = opt_str(message), p = opt_str(platform);
            auto c = str_list(changes);
            std::optional<dind::JsonStream> s;
            dind::py::with_python_body(data, "image import", [&](dind::BodySource src) {
              s.emplace(im.import_image(std::move(src), r, t, c, msg, p));
            });
            return dind::py::wrap_progress(std::move(*s), true);
          },
          "data"_a, "repository"_a = pyb::none(), "tag"_a = pyb::none(), "changes"_a = pyb::none(),
          "message"_a = pyb::none(), "platform"_a = pyb::none(),
          "POST /images/create?fromSrc=-: a root file system tar (streamed) as an image.")
      .def(
          "build",
          [](dind::Images& im, const pyb::object& context, const pyb::object& path, const pyb::object& tag,
             const pyb::object& dockerfile, const pyb::object& buildargs, const pyb::object& labels, bool nocache,
             bool rm, bool forcerm, bool pull, bool quiet, const pyb::object& target, const pyb::object& network_mode,
             const pyb::object& platform, const pyb::object& cache_from, const pyb::object& extra_hosts,
             const pyb::object& shmsize, const pyb::object& container_limits, bool squash, const pyb::object& isolation,
             const pyb::object& remote, const pyb::object& registry_config, const pyb::object& extra_tags,
             bool raise_on_error) {
            dind::BuildOptions o;
            o.tag = opt_str(tag);
            o.extra_tags = str_list(extra_tags);
            o.dockerfile = opt_str(dockerfile);
            o.buildargs = str_map(buildargs, "buildargs");
            o.labels = str_map(labels, "labels");
            o.nocache = nocache;
            o.rm = rm;
            o.forcerm = forcerm;
            o.pull = pull;
            o.quiet = quiet;
            o.squash = squash;
            o.target = opt_str(target);
            o.network_mode = opt_str(network_mode);
            o.platform = opt_str(platform);
            o.isolation = opt_str(isolation);
            o.remote = opt_str(remote);
            o.cache_from = str_list(cache_from);
            if (pyb::isinstance<pyb::dict>(extra_hosts)) {
              for (auto kv : extra_hosts.cast<pyb::dict>())
                o.extra_hosts.push_back(pyb::str(kv.first).cast<std::string>() + ":" +
                                        pyb::str(kv.second).cast<std::string>());
            } else {
              o.extra_hosts = str_list(extra_hosts);
            }
            if (!shmsize.is_none()) o.shmsize = shmsize.cast<std::int64_t>();
            if (!container_limits.is_none()) o.container_limits = from_python(container_limits);
            o.registry_config = opt_json(registry_config);
            std::optional<dind::JsonStream> s;
            if (!path.is_none()) {
              const std::string dir = pyb::str(path).cast<std::string>();
              pyb::gil_scoped_release release;
              s.emplace(im.build(std::filesystem::path(dir), o));
            } else if (!context.is_none()) {
              dind::py::with_python_body(context, "build" + (o.tag.empty() ? std::string() : " of " + o.tag),
                                         [&](dind::BodySource src) { s.emplace(im.build(std::move(src), o)); });
            } else if (!o.remote.empty()) {
              pyb::gil_scoped_release release;
              s.emplace(im.build(dind::BodySource(), o));
            } else {
              throw pyb::type_error("build needs a path, a context (tar) or a remote");
            }
            s->raise_on_error(raise_on_error);
            return dind::py::wrap_progress(std::move(*s), true);
          },
          "context"_a = pyb::none(), "path"_a = pyb::none(), "tag"_a = pyb::none(), "dockerfile"_a = pyb::none(),
          "buildargs"_a = pyb::none(), "labels"_a = pyb::none(), "nocache"_a = false, "rm"_a = true,
          "forcerm"_a = false, "pull"_a = false, "quiet"_a = false, "target"_a = pyb::none(),
          "network_mode"_a = pyb::none(), "platform"_a = pyb::none(), "cache_from"_a = pyb::none(),
          "extra_hosts"_a = pyb::none(), "shmsize"_a = pyb::none(), "container_limits"_a = pyb::none(),
          "squash"_a = false, "isolation"_a = pyb::none(), "remote"_a = pyb::none(), "registry_config"_a = pyb::none(),
          "extra_tags"_a = pyb::none(), "raise_on_error"_a = true,
          "POST /build from a directory (`path`, .dockerignore applied) or a tar context (streamed).")
      .def(
          "commit",
          [](dind::Images& im, const std::string& container, const pyb::object& repository, const pyb::object& tag,
             const pyb::object& message, const pyb::object& author, bool pause, const pyb::object& changes,
             const pyb::object& conf) {
            dind::CommitOptions o;
            o.repository = opt_str(repository);
            o.tag = opt_str(tag);
            o.message = opt_str(message);
            o.author = opt_str(author);
            o.pause = pause;
            o.changes = str_list(changes);
            if (!conf.is_none()) o.config = from_python(conf);
            pyb::gil_scoped_release release;
            return im.commit(container, o);
          },
          "container"_a, "repository"_a = pyb::none(), "tag"_a = pyb::none(), "message"_a = pyb::none(),
          "author"_a = pyb::none(), "pause"_a = true, "changes"_a = pyb::none(), "conf"_a = pyb::none(),
          "POST /commit; returns the new image's id.");
}
