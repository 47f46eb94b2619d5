// Layer 4: a directory made into the tar context of POST /build, filtered as docker's CLI filters it.
#pragma once

#include <filesystem>
#include <string>

#include "dind/tar.hpp"

namespace dind {

// A build context: the tree under `dir` filtered by its .dockerignore. `.dockerignore` and the Dockerfile (a path
// relative to `dir`) are always sent, as docker's CLI does.
TarWriter build_context(const std::filesystem::path& dir, const std::string& dockerfile = "Dockerfile");

}  // namespace dind
