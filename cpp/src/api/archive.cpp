#include "dind/archive.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "api/routes.hpp"
#include "dind/errors.hpp"

namespace dind {

// ---- bodies --------------------------------------------------------------------------------------------------------

namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::size_t read_fd(int fd, std::int64_t* offset, char* buf, std::size_t cap, const std::string& what) {
  for (;;) {
    const ssize_t n = *offset >= 0 ? ::pread(fd, buf, cap, static_cast<off_t>(*offset)) : ::read(fd, buf, cap);
    if (n >= 0) {
      if (*offset >= 0) *offset += n;
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) throw Error("cannot read " + what + ": " + std::strerror(errno));
  }
}

}  // namespace

BodySource body_from_fd(int fd, std::int64_t offset) {
  auto pos = std::make_shared<std::int64_t>(offset);
  const std::string what = "file descriptor " + std::to_string(fd);
  return [fd, pos, what](char* buf, std::size_t cap) { return read_fd(fd, pos.get(), buf, cap, what); };
}

BodySource body_from_file(const std::filesystem::path& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw Error("cannot open " + path.string() + " for reading: " + std::strerror(errno));
  auto file = std::make_shared<Fd>(fd);
  auto pos = std::make_shared<std::int64_t>(0);
  const std::string what = path.string();
  return [file, pos, what](char* buf, std::size_t cap) { return read_fd(file->fd, pos.get(), buf, cap, what); };
}

BodySource body_from_memory(std::string data) {
  struct State {
    std::string data;
    std::size_t pos = 0;
  };
  auto s = std::make_shared<State>(State{std::move(data), 0});
  return [s](char* buf, std::size_t cap) {
    const std::size_t n = std::min(cap, s->data.size() - s->pos);
    std::memcpy(buf, s->data.data() + s->pos, n);
    s->pos += n;
    return n;
  };
}

BodySource body_from_tar(TarWriter tar) {
  // next_chunk() hands out pieces of its own size: keep the unsent rest of one for the next call.
  struct State {
    TarWriter tar;
    std::string_view rest;
    bool done = false;
  };
  auto s = std::make_shared<State>(State{std::move(tar), {}, false});
  return [s](char* buf, std::size_t cap) -> std::size_t {
    std::size_t n = 0;
    while (n < cap && !s->done) {
      if (s->rest.empty()) {
        s->rest = s->tar.next_chunk();
        if (s->rest.empty()) {
          s->done = true;
          break;
        }
      }
      const std::size_t k = std::min(cap - n, s->rest.size());
      std::memcpy(buf + n, s->rest.data(), k);
      s->rest.remove_prefix(k);
      n += k;
    }
    return n;
  };
}

// ---- archive endpoints ---------------------------------------------------------------------------------------------

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
