// Layer 5: the image endpoints (list, inspect, pull, push, tag, remove, load, save, import, history, prune, build,
// commit). Progress streams are JsonStreams (dind/json_stream.hpp) that raise on "errorDetail"; tars go both ways
// streamed, never buffered whole.
// Registry credentials travel only in X-Registry-Auth / X-Registry-Config and never appear in a message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dind/archive.hpp"
#include "dind/client.hpp"
#include "dind/filters.hpp"  // encode_filters(): list() and prune() take its shapes
#include "dind/http.hpp"
#include "dind/json_stream.hpp"

namespace dind {

struct BuildOptions {
  std::string tag;  // t: "name:tag"
  std::vector<std::string> extra_tags;
  std::string dockerfile;  // path inside the context; empty: "Dockerfile"
  std::map<std::string, std::string> buildargs;
  std::map<std::string, std::string> labels;
  bool nocache = false;
  bool rm = true;  // the engine's own default (docker-py sends rm=False unless told)
  bool forcerm = false;
  bool pull = false;
  bool quiet = false;
  bool squash = false;
  std::string target;
  std::string network_mode;
  std::string platform;
  std::string isolation;
  std::string remote;  // a URL or git repository instead of a context body
  std::vector<std::string> cache_from;
  std::vector<std::string> extra_hosts;  // "host:ip"
  std::int64_t shmsize = 0;
  nlohmann::json container_limits;  // {"memory","memswap","cpushares","cpusetcpus","cpuperiod","cpuquota"}
  std::optional<nlohmann::json> registry_config;  // X-Registry-Config: {"registry": {auth config}, ...}
};

struct CommitOptions {
  std::string repository;
  std::string tag;
  std::string message;
  std::string author;
  bool pause = true;
  std::vector<std::string> changes;  // Dockerfile instructions
  nlohmann::json config;             // container config merged into the image's (e.g. {"Labels": {...}})
};

class Images {
 public:
  explicit Images(Client client) : client_(std::move(client)) {}

  // GET /images/json. `filters`: {"label": ["a=b"], "dangling": true, "reference": "busybox"} (values may be a
  // string, a bool or a list, as docker-py accepts), or empty.
  nlohmann::json list(bool all = false, const nlohmann::json& filters = nullptr);
  // GET /images/{name}/json; NotFound names the image.
  nlohmann::json inspect(const std::string& name);
  nlohmann::json history(const std::string& name);

  // POST /images/create?fromImage. An empty tag means the one in `name`, else "latest" (never all tags unless
  // `all_tags`). `auth`: {"username","password","serveraddress"} or {"identitytoken"}.
  JsonStream pull(const std::string& name, const std::string& tag = "",
                  const std::optional<nlohmann::json>& auth = std::nullopt, const std::string& platform = "",
                  bool all_tags = false);
  JsonStream push(const std::string& name, const std::string& tag = "",
                  const std::optional<nlohmann::json>& auth = std::nullopt);
  // POST /images/{name}/tag. Returns true (201).
  bool tag(const std::string& name, const std::string& repository, const std::string& tag = "", bool force = false);
  // DELETE /images/{name}: the list of {"Untagged"} / {"Deleted"}.
  nlohmann::json remove(const std::string& name, bool force = false, bool noprune = false);
  // POST /images/prune: {"ImagesDeleted", "SpaceReclaimed"}.
  nlohmann::json prune(const nlohmann::json& filters = nullptr);

  // POST /images/load from a tar stream or a file; messages like {"stream": "Loaded image: busybox:latest\n"}.
  JsonStream load(BodySource tar, bool quiet = false);
  JsonStream load(const std::filesystem::path& tar_file, bool quiet = false);
  // The names or ids that a load reported ("Loaded image: X" / "Loaded image ID: sha256:...").
  static std::vector<std::string> loaded_images(const std::vector<nlohmann::json>& messages);
  // GET /images/get?names=...: a tar of the images (with their tags), streamed.
  BodyReader save(const std::vector<std::string>& names);

  // POST /images/create?fromSrc=-: a root file system tar becomes an image; the last message's "status" is its id.
  JsonStream import_image(BodySource tar, const std::string& repository = "", const std::string& tag = "",
                          const std::vector<std::string>& changes = {}, const std::string& message = "",
                          const std::string& platform = "");

  // POST /build with a tar context (streamed), or a directory made into one by build_context (its .dockerignore
  // applied). errorDetail → StreamError carrying the build's error.
  JsonStream build(BodySource context, const BuildOptions& options);
  JsonStream build(const std::filesystem::path& dir, const BuildOptions& options);
  // The image id a build reported ({"aux": {"ID"}} or "Successfully built <id>"), or empty.
  static std::string built_image_id(const nlohmann::json& message);

  // POST /commit: an image from a container; returns its id.
  std::string commit(const std::string& container, const CommitOptions& options = {});

 private:
  JsonStream build_stream(std::optional<BodySource> context, const BuildOptions& options);
  Client client_;
};

// "registry:5000/name:tag" → ("registry:5000/name", "tag"); "name@sha256:..." → ("name", "sha256:..."); no tag → "".
std::pair<std::string, std::string> parse_repository_tag(const std::string& name);

}  // namespace dind
