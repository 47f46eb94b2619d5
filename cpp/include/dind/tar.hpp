// Layer 4: tar for the archive, build and load endpoints, via libarchive, streaming both ways: an archive is never
// held whole in memory. Extraction to disk is in dind/extract.hpp, build contexts in dind/build_context.hpp.
//
// Writing is a PULL interface: TarWriter::next_chunk() returns the next piece of the archive (at most ~128 KiB,
// reusing one buffer), so an HTTP body writer asks for data when the socket can take it, and a slow peer never makes
// the archive pile up. Reading is fed by a PullFn that returns the next piece of the body.
//
// Errors: libarchive and file-system failures throw dind::Error naming the file or entry and libarchive's message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dind/errors.hpp"

namespace dind {

// The source a reader pulls from: each call returns the next piece of the archive, an empty view at its end.
// It may block for data; the view must stay valid until the next call. It may throw (the error propagates).
using PullFn = std::function<std::string_view()>;
// A PullFn over bytes in memory, in pieces of `piece` bytes (tests, small archives). `data` must outlive it.
PullFn pull_from_memory(std::string_view data, std::size_t piece = std::size_t{64} << 10);

enum class TarEntryType { file, directory, symlink, hardlink, other };
const char* to_string(TarEntryType t) noexcept;

// One archive member as read.
struct TarEntry {
  std::string name;
  std::int64_t size = 0;
  std::uint32_t mode = 0;  // permission bits (07777)
  TarEntryType type = TarEntryType::file;
  std::string link_target;  // symlink or hardlink target
  std::int64_t mtime = 0;   // seconds since the epoch
};

class TarWriter {
 public:
  TarWriter();
  ~TarWriter();
  TarWriter(TarWriter&&) noexcept;
  TarWriter& operator=(TarWriter&&) noexcept;

  // Adds a file, symlink (kept as a symlink) or directory (recursively, in name order) from disk, stored as
  // `name` (default: the source's file name). Sockets are skipped. Modes, uid/gid and mtimes are kept.
  // Nothing is read until next_chunk() reaches it.
  TarWriter& add_path(const std::filesystem::path& source, std::string name = {});
  // Adds one disk entry, not recursing into a directory.
  TarWriter& add_path_entry(const std::filesystem::path& source, std::string name);
  // Adds a regular file with the given contents; mtime -1 means now.
  TarWriter& add_bytes(std::string name, std::string data, std::uint32_t mode = 0644, std::int64_t mtime = -1);
  TarWriter& add_directory(std::string name, std::uint32_t mode = 0755, std::int64_t mtime = -1);

  // The next piece of the archive, valid until the next call; empty once the archive is complete. Adding entries
  // after the first call throws.
  std::string_view next_chunk();
  // Drives next_chunk() to the end, handing each piece to `push`.
  void write_to(const std::function<void(std::string_view)>& push);
  // The whole archive in memory (small archives and tests only).
  std::string to_string();
  // Archive bytes produced so far.
  std::uint64_t bytes_written() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Reads an archive entry by entry from a pull source (plain or gzip tar: ustar, pax, GNU).
class TarReader {
 public:
  explicit TarReader(PullFn pull, std::string what = "tar stream");
  ~TarReader();
  TarReader(TarReader&&) noexcept;
  TarReader& operator=(TarReader&&) noexcept;

  // Advances to the next entry (skipping the rest of the current one); false at the end of the archive.
  bool next(TarEntry& entry);
  // Reads up to n bytes of the current entry's data; 0 at its end.
  std::size_t read(char* buf, std::size_t n);
  // The rest of the current entry's data; throws if it exceeds max_size.
  std::string read_all(std::size_t max_size = std::size_t{256} << 20);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Every entry's header, without keeping data.
std::vector<TarEntry> tar_list(PullFn pull, const std::string& what = "tar stream");
// The content of entry `name` (a leading "./" or "/" on either side is ignored), or nullopt if absent.
std::optional<std::string> tar_read_file(PullFn pull, std::string_view name,
                                         std::size_t max_size = std::size_t{256} << 20,
                                         const std::string& what = "tar stream");

}  // namespace dind
