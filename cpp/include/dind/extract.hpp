// Layer 4: a tar stream extracted to disk, refusing what would land outside the destination.
#pragma once

#include <filesystem>
#include <string>

#include "dind/tar.hpp"

namespace dind {

// Extracts into `dest` (created if missing), refusing absolute names, ".." components and writes through symlinks.
// Modes and mtimes are restored, ownership is not.
void tar_extract(PullFn pull, const std::filesystem::path& dest, const std::string& what = "tar stream");

}  // namespace dind
