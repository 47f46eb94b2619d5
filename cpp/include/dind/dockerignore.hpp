// Layer 4: the .dockerignore rules that decide what a build context holds (dind/build_context.hpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dind {

// The .dockerignore rules of docker's Go client (moby/patternmatcher): `*` and `?` within one path segment, `**` any
// number of segments, `[...]` classes, `\` escapes, `!` exceptions where the last matching rule wins, leading `/`
// ignored, `#` comment lines; a path is excluded if it or one of its parent directories matches.
class DockerIgnore {
 public:
  DockerIgnore() = default;
  // Patterns as lines of a .dockerignore (already parsed, i.e. without comments). Throws dind::Error on a bad pattern.
  explicit DockerIgnore(const std::vector<std::string>& patterns);
  ~DockerIgnore();
  DockerIgnore(DockerIgnore&&) noexcept;
  DockerIgnore& operator=(DockerIgnore&&) noexcept;

  // The patterns of a .dockerignore file's text (comments and blank lines dropped, paths cleaned).
  static std::vector<std::string> parse(std::string_view text);

  // Whether `path` (relative, '/'-separated) is excluded.
  bool excluded(std::string_view path) const;
  // Whether an exception pattern could re-include something under the excluded directory `dir`: if not, the walk
  // skips the whole directory.
  bool may_include_below(std::string_view dir) const;

  struct Pattern;

 private:
  std::vector<Pattern> patterns_;
  bool has_exceptions_ = false;
};

}  // namespace dind
