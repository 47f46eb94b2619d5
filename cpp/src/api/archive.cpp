#include "dind/archive.hpp"

#include "api/routes.hpp"
#include "dind/errors.hpp"

namespace dind {

namespace {
// "/containers/{id}{tail}". The id keeps "/", ":" and "@" unencoded, as these endpoints always sent it.
std::string container_path(const std::string& id, const char* tail) {
  return detail::container_path(id, tail, http::kImageReferenceChars);
}
}  // namespace

bool Archive::put(const std::string& id, const std::string& path, BodySource tar, bool no_overwrite_dir_non_dir,
                  bool copy_uid_gid) {
  Query q{{"path", path}};
  if (no_overwrite_dir_non_dir) q.emplace_back("noOverwriteDirNonDir", "1");
  if (copy_uid_gid) q.emplace_back("copyUIDGID", "1");
  const std::string doing = "put_archive into " + path + " of container " + id;
  try {
    auto reader = client_.upload("PUT", container_path(id, "/archive"), q, std::move(tar), "application/x-tar",
                                 {{"Accept-Encoding", "identity"}});
    const int status = reader.status();
    reader.drain();
    return status == 200;
  } catch (const ApiError&) {
    rethrow_doing(doing);
  }
}

ArchiveDownload Archive::get(const std::string& id, const std::string& path) {
  const std::string doing = "get_archive of " + path + " in container " + id;
  ArchiveDownload d;
  try {
    d.body = client_.stream("GET", container_path(id, "/archive"), {{"path", path}}, std::nullopt,
                            {{"Accept-Encoding", "identity"}});
  } catch (const ApiError&) {
    rethrow_doing(doing);
  }
  if (const std::string* h = d.body.header("X-Docker-Container-Path-Stat")) {
    d.stat = decode_path_stat(*h);
  }
  return d;
}

PathStat Archive::stat(const std::string& id, const std::string& path) {
  const std::string p = container_path(id, "/archive");
  Response r;
  try {
    r = client_.request("HEAD", p, {{"path", path}});
  } catch (const ApiError& e) {
    // HEAD answers carry no body, hence no engine message: say what was missing ourselves.
    if (e.status() == 404)
      throw_api_error(404, "stat of " + path + " in container " + id + ": no such container or path", e.method(),
                      e.path(), e.host());
    rethrow_doing("stat of " + path + " in container " + id);
  }
  const std::string* h = r.header("X-Docker-Container-Path-Stat");
  if (!h)
    throw Error("HEAD " + p + " on " + client_.host() + " for " + path + " in container " + id +
                ": the answer has no X-Docker-Container-Path-Stat header");
  return decode_path_stat(*h);
}

BodyReader Archive::export_container(const std::string& id) {
  try {
    return client_.stream("GET", container_path(id, "/export"), {}, std::nullopt, {{"Accept-Encoding", "identity"}});
  } catch (const ApiError&) {
    rethrow_doing("export of container " + id);
  }
}

}  // namespace dind
