// Layer 4: the stat of a container path that the archive endpoints send in X-Docker-Container-Path-Stat.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace dind {

// The stat of a container path, as sent in X-Docker-Container-Path-Stat (standard base64 of JSON).
struct PathStat {
  std::string name;
  std::int64_t size = 0;
  std::uint32_t mode = 0;  // Go's os.FileMode: type bits high, permissions low
  std::string mtime;       // RFC 3339, as the daemon wrote it
  std::string link_target;

  bool is_dir() const noexcept { return mode & (1u << 31); }
  bool is_symlink() const noexcept { return mode & (1u << 27); }
  std::uint32_t permissions() const noexcept { return mode & 0777; }
  nlohmann::json to_json() const;
};

// Decodes the header value. Throws dind::Error naming the header if it is not base64 JSON of the expected shape.
PathStat decode_path_stat(std::string_view header_value);

}  // namespace dind
