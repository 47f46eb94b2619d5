// Layer 5: the streamed request bodies of the archive and image endpoints (put_archive, load, import, build): each a
// BodySource (dind/http.hpp) that the request writer pulls as the socket takes data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "dind/http.hpp"
#include "dind/tar.hpp"

namespace dind {

// Reads `fd` from `offset` on (pread; -1: read() from the current position) to EOF. The fd stays the caller's and
// must outlive the source.
BodySource body_from_fd(int fd, std::int64_t offset = -1);
// Opens `path` (dind::Error naming it when it cannot) and reads it to EOF; the file is closed with the source.
BodySource body_from_file(const std::filesystem::path& path);
// Bytes in memory (small bodies, tests); the source owns them.
BodySource body_from_memory(std::string data);
// A tar produced as it is sent (build contexts, trees from disk).
BodySource body_from_tar(TarWriter tar);

}  // namespace dind
