#include "dind/images.hpp"

#include "api/request_json.hpp"
#include "api/routes.hpp"
#include "dind/base64.hpp"
#include "dind/build_context.hpp"
#include "dind/credentials.hpp"
#include "dind/errors.hpp"
#include "dind/filters.hpp"

namespace dind {

namespace {

using detail::flag;

std::string image_path(const std::string& name, const char* suffix) {
  return "/images/" + http::url_encode(name, http::kImageReferenceChars) + suffix;
}

std::string json_of(const std::map<std::string, std::string>& m) {
  return nlohmann::json(m).dump();
}

std::string strip_newline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

// ---- helpers -------------------------------------------------------------------------------------------------------

std::pair<std::string, std::string> parse_repository_tag(const std::string& name) {
  if (auto at = name.rfind('@'); at != std::string::npos) return {name.substr(0, at), name.substr(at + 1)};
  if (auto colon = name.rfind(':'); colon != std::string::npos && name.find('/', colon) == std::string::npos)
    return {name.substr(0, colon), name.substr(colon + 1)};
  return {name, ""};
}

// ---- Images --------------------------------------------------------------------------------------------------------

nlohmann::json Images::list(bool all, const nlohmann::json& filters) {
  Query q;
  if (all) q.emplace_back("all", "1");
  if (std::string f = encode_filters(filters); !f.empty()) q.emplace_back("filters", std::move(f));
  return detail::request_json(client_, "GET", "/images/json", q);
}

nlohmann::json Images::inspect(const std::string& name) {
  try {
    return detail::request_json(client_, "GET", image_path(name, "/json"));
  } catch (const ApiError&) {
    rethrow_doing("inspect of image " + name);
  }
}

nlohmann::json Images::history(const std::string& name) {
  try {
    return detail::request_json(client_, "GET", image_path(name, "/history"));
  } catch (const ApiError&) {
    rethrow_doing("history of image " + name);
  }
}

JsonStream Images::pull(const std::string& name, const std::string& tag, const std::optional<nlohmann::json>& auth,
                        const std::string& platform, bool all_tags) {
  auto [repo, parsed_tag] = parse_repository_tag(name);
  std::string t = tag.empty() ? parsed_tag : tag;
  // Without a tag the engine pulls every tag of the repository: only on request.
  if (t.empty() && !all_tags) t = "latest";
  const std::string ref = t.empty() ? repo : repo + (t.rfind("sha256:", 0) == 0 ? "@" : ":") + t;
  Query q{{"fromImage", repo}};
  if (!t.empty()) q.emplace_back("tag", t);
  if (!platform.empty()) q.emplace_back("platform", platform);
  Headers h;
  std::optional<nlohmann::json> found;
  if (!auth && !client_.config().docker_config.empty())
    if (auto a = Credentials::load(client_.config().docker_config).for_image(repo)) found = a->auth_config();
  if (auth || found) h.emplace_back("X-Registry-Auth", encode_registry_auth(auth ? *auth : *found));
  try {
    return JsonStream(client_.stream("POST", "/images/create", q, std::nullopt, h),
                      "pull of " + ref + " from " + client_.host());
  } catch (const ApiError&) {
    rethrow_doing("pull of " + ref);
  }
}

JsonStream Images::push(const std::string& name, const std::string& tag, const std::optional<nlohmann::json>& auth) {
  Query q;
  if (!tag.empty()) q.emplace_back("tag", tag);
  const std::string ref = tag.empty() ? name : name + ":" + tag;
  // The engine wants the header even without credentials (an empty config, as the docker CLI sends).
  Headers h{{"X-Registry-Auth", encode_registry_auth(auth ? *auth : nlohmann::json::object())}};
  try {
    return JsonStream(client_.stream("POST", image_path(name, "/push"), q, std::nullopt, h),
                      "push of " + ref + " to its registry via " + client_.host());
  } catch (const ApiError&) {
    rethrow_doing("push of " + ref);
  }
}

bool Images::tag(const std::string& name, const std::string& repository, const std::string& tag, bool force) {
  Query q{{"repo", repository}};
  if (!tag.empty()) q.emplace_back("tag", tag);
  if (force) q.emplace_back("force", "1");
  try {
    return client_.request("POST", image_path(name, "/tag"), q).status == 201;
  } catch (const ApiError&) {
    rethrow_doing("tag of image " + name + " as " + repository + (tag.empty() ? "" : ":" + tag));
  }
}

nlohmann::json Images::remove(const std::string& name, bool force, bool noprune) {
  Query q;
  if (force) q.emplace_back("force", "1");
  if (noprune) q.emplace_back("noprune", "1");
  try {
    return detail::request_json(client_, "DELETE", image_path(name, ""), q, std::nullopt, nlohmann::json::array());
  } catch (const ApiError&) {
    rethrow_doing("remove of image " + name);
  }
}

nlohmann::json Images::prune(const nlohmann::json& filters) {
  Query q;
  if (std::string f = encode_filters(filters); !f.empty()) q.emplace_back("filters", std::move(f));
  return detail::request_json(client_, "POST", "/images/prune", q);
}

JsonStream Images::load(BodySource tar, bool quiet) {
  Query q{{"quiet", flag(quiet)}};
  try {
    return JsonStream(client_.upload("POST", "/images/load", q, std::move(tar), "application/x-tar"),
                      "image load into " + client_.host());
  } catch (const ApiError&) {
    rethrow_doing("image load");
  }
}

JsonStream Images::load(const std::filesystem::path& tar_file, bool quiet) {
  try {
    return load(body_from_file(tar_file), quiet);
  } catch (const ApiError&) {
    rethrow_doing("load of " + tar_file.string());
  }
}

std::vector<std::string> Images::loaded_images(const std::vector<nlohmann::json>& messages) {
  static const std::string kName = "Loaded image: ", kId = "Loaded image ID: ";
  std::vector<std::string> out;
  for (const auto& m : messages) {
    if (!m.is_object()) continue;
    auto s = m.find("stream");
    if (s == m.end() || !s->is_string()) continue;
    const std::string& text = s->get_ref<const std::string&>();
    if (text.rfind(kName, 0) == 0)
      out.push_back(strip_newline(text.substr(kName.size())));
    else if (text.rfind(kId, 0) == 0)
      out.push_back(strip_newline(text.substr(kId.size())));
  }
  return out;
}

BodyReader Images::save(const std::vector<std::string>& names) {
  if (names.empty()) throw Error("image save on " + client_.host() + ": no image names given");
  Query q;
  std::string all;
  for (const auto& n : names) {
    q.emplace_back("names", n);
    all += (all.empty() ? "" : ", ") + n;
  }
  try {
    return client_.stream("GET", "/images/get", q, std::nullopt, {{"Accept-Encoding", "identity"}});
  } catch (const ApiError&) {
    rethrow_doing("save of " + all);
  }
}

JsonStream Images::import_image(BodySource tar, const std::string& repository, const std::string& tag,
                                const std::vector<std::string>& changes, const std::string& message,
                                const std::string& platform) {
  Query q{{"fromSrc", "-"}};
  if (!repository.empty()) q.emplace_back("repo", repository);
  if (!tag.empty()) q.emplace_back("tag", tag);
  if (!message.empty()) q.emplace_back("message", message);
  if (!platform.empty()) q.emplace_back("platform", platform);
  for (const auto& c : changes) q.emplace_back("changes", c);
  const std::string what = "import" + (repository.empty() ? std::string() : " of " + repository);
  try {
    return JsonStream(client_.upload("POST", "/images/create", q, std::move(tar), "application/x-tar"),
                      what + " into " + client_.host());
  } catch (const ApiError&) {
    rethrow_doing(what);
  }
}

JsonStream Images::build(BodySource context, const BuildOptions& options) {
  if (!context) return build_stream(std::nullopt, options);  // a remote context
  return build_stream(std::move(context), options);
}

JsonStream Images::build(const std::filesystem::path& dir, const BuildOptions& options) {
  if (!std::filesystem::is_directory(dir))
    throw Error("build on " + client_.host() + ": the context " + dir.string() + " is not a directory");
  return build_stream(body_from_tar(build_context(dir, options.dockerfile.empty() ? "Dockerfile" : options.dockerfile)),
                      options);
}

JsonStream Images::build_stream(std::optional<BodySource> context, const BuildOptions& o) {
  Query q;
  if (!o.tag.empty()) q.emplace_back("t", o.tag);
  for (const auto& t : o.extra_tags) q.emplace_back("t", t);
  if (!o.dockerfile.empty()) q.emplace_back("dockerfile", o.dockerfile);
  if (!o.remote.empty()) q.emplace_back("remote", o.remote);
  if (o.quiet) q.emplace_back("q", "1");
  if (o.nocache) q.emplace_back("nocache", "1");
  q.emplace_back("rm", flag(o.rm));
  if (o.forcerm) q.emplace_back("forcerm", "1");
  if (o.pull) q.emplace_back("pull", "1");
  if (o.squash) q.emplace_back("squash", "1");
  if (!o.buildargs.empty()) q.emplace_back("buildargs", json_of(o.buildargs));
  if (!o.labels.empty()) q.emplace_back("labels", json_of(o.labels));
  if (!o.target.empty()) q.emplace_back("target", o.target);
  if (!o.network_mode.empty()) q.emplace_back("networkmode", o.network_mode);
  if (!o.platform.empty()) q.emplace_back("platform", o.platform);
  if (!o.isolation.empty()) q.emplace_back("isolation", o.isolation);
  if (!o.cache_from.empty()) q.emplace_back("cachefrom", nlohmann::json(o.cache_from).dump());
  for (const auto& h : o.extra_hosts) q.emplace_back("extrahosts", h);
  if (o.shmsize > 0) q.emplace_back("shmsize", std::to_string(o.shmsize));
  if (o.container_limits.is_object()) {
    for (const auto& [k, v] : o.container_limits.items())
      q.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  Headers h;
  if (o.registry_config) h.emplace_back("X-Registry-Config", base64url_encode(o.registry_config->dump()));
  const std::string what = "build" + (o.tag.empty() ? std::string() : " of " + o.tag);
  try {
    BodyReader r = context ? client_.upload("POST", "/build", q, std::move(*context), "application/x-tar", h)
                           : client_.stream("POST", "/build", q, std::nullopt, h);
    return JsonStream(std::move(r), what + " on " + client_.host());
  } catch (const ApiError&) {
    rethrow_doing(what);
  }
}

std::string Images::built_image_id(const nlohmann::json& m) {
  if (!m.is_object()) return {};
  if (auto aux = m.find("aux"); aux != m.end() && aux->is_object()) {
    if (auto id = aux->find("ID"); id != aux->end() && id->is_string()) return id->get<std::string>();
  }
  if (auto s = m.find("stream"); s != m.end() && s->is_string()) {
    static const std::string kBuilt = "Successfully built ";
    const std::string& text = s->get_ref<const std::string&>();
    if (text.rfind(kBuilt, 0) == 0) return strip_newline(text.substr(kBuilt.size()));
  }
  return {};
}

std::string Images::commit(const std::string& container, const CommitOptions& o) {
  Query q{{"container", container}, {"pause", flag(o.pause)}};
  if (!o.repository.empty()) q.emplace_back("repo", o.repository);
  if (!o.tag.empty()) q.emplace_back("tag", o.tag);
  if (!o.message.empty()) q.emplace_back("comment", o.message);
  if (!o.author.empty()) q.emplace_back("author", o.author);
  for (const auto& c : o.changes) q.emplace_back("changes", c);
  try {
    const Body body = Body::json(o.config.is_object() ? o.config : nlohmann::json::object());
    return detail::request_json(client_, "POST", "/commit", q, body).at("Id").get<std::string>();
  } catch (const ApiError&) {
    rethrow_doing("commit of container " + container);
  }
}

}  // namespace dind
