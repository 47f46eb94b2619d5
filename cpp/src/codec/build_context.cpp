// A build context as docker's CLI makes it: the directory walked in name order, .dockerignore applied.
#include "dind/build_context.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "codec/tar_names.hpp"
#include "codec/unique_fd.hpp"
#include "dind/dockerignore.hpp"
#include "dind/errors.hpp"

namespace fs = std::filesystem;

namespace dind {

namespace {

void walk_context(TarWriter& w, const DockerIgnore& ignore, const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> children;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) children.push_back(it->path());
  if (ec) throw Error("cannot list " + dir.string() + " for the build context: " + ec.message());
  std::sort(children.begin(), children.end());
  for (const auto& child : children) {
    const std::string rel = prefix.empty() ? child.filename().string() : prefix + "/" + child.filename().string();
    const bool is_dir = fs::symlink_status(child, ec).type() == fs::file_type::directory;
    if (ignore.excluded(rel)) {
      // An excluded directory is still walked if an exception may re-include something below it (as docker does).
      if (is_dir && ignore.may_include_below(rel)) walk_context(w, ignore, child, rel);
      continue;
    }
    w.add_path_entry(child, rel);
    if (is_dir) walk_context(w, ignore, child, rel);
  }
}

// The patterns of the .dockerignore file at `path`; none if there is no such file.
std::vector<std::string> ignore_patterns(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return {};
  detail::UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.get() < 0) throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::string text;
  char buf[8192];
  for (ssize_t n; (n = ::read(f.get(), buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  return DockerIgnore::parse(text);
}

}  // namespace

TarWriter build_context(const fs::path& dir, const std::string& dockerfile) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("the build context " + dir.string() + " is not a directory");
  std::vector<std::string> patterns = ignore_patterns(dir / ".dockerignore");
  // Always sent, whatever the rules say: the daemon needs the Dockerfile, and docker's CLI sends .dockerignore too.
  patterns.push_back("!.dockerignore");
  patterns.push_back("!" + detail::comparable_name(dockerfile));
  DockerIgnore ignore(patterns);
  TarWriter w;
  walk_context(w, ignore, dir, "");
  return w;
}

}  // namespace dind
