// Layer 5: files in and out of containers (PUT/GET/HEAD /containers/{id}/archive, GET /containers/{id}/export).
// Archives are never held whole in memory: uploads pull from a BodySource (dind/body_source.hpp) as the socket takes
// data, downloads are BodyReaders.
#pragma once

#include <string>

#include "dind/body_source.hpp"
#include "dind/client.hpp"
#include "dind/http.hpp"
#include "dind/path_stat.hpp"

namespace dind {

struct ArchiveDownload {
  BodyReader body;  // the tar, streamed
  PathStat stat;    // from X-Docker-Container-Path-Stat
};

class Archive {
 public:
  explicit Archive(Client client) : client_(std::move(client)) {}

  // Extracts the tar from `tar` into directory `path` of container `id` (PUT, chunked). True on 200.
  // NotFound when the container or the directory is missing; Forbidden on a read-only path.
  bool put(const std::string& id, const std::string& path, BodySource tar, bool no_overwrite_dir_non_dir = false,
           bool copy_uid_gid = false);
  // A tar of `path` in container `id`, streamed, with its stat. NotFound names the container and the path.
  ArchiveDownload get(const std::string& id, const std::string& path);
  // The stat of `path` without its content (HEAD).
  PathStat stat(const std::string& id, const std::string& path);
  // The container's whole file system as a tar, streamed.
  BodyReader export_container(const std::string& id);

 private:
  Client client_;
};

}  // namespace dind
