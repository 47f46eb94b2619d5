#include "dind/body_source.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "codec/unique_fd.hpp"
#include "dind/errors.hpp"

namespace dind {

namespace {

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
  auto file = std::make_shared<detail::UniqueFd>(fd);
  auto pos = std::make_shared<std::int64_t>(0);
  const std::string what = path.string();
  return [file, pos, what](char* buf, std::size_t cap) { return read_fd(file->get(), pos.get(), buf, cap, what); };
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

}  // namespace dind
