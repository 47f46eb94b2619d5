// A tar stream extracted through libarchive's disk writer, every entry name checked and rebased under the
// destination first.
#include "dind/extract.hpp"

#include "codec/archive_handles.hpp"
#include "codec/tar_names.hpp"
#include "codec/tar_reader.hpp"
#include "dind/errors.hpp"

namespace fs = std::filesystem;

namespace dind {

namespace {

// `dest`, created if missing and made canonical: a root with no symlink or ".." in it, so the SECURE flags below only
// judge what comes from the archive.
fs::path extraction_root(const fs::path& dest, const std::string& what) {
  std::error_code ec;
  fs::create_directories(dest, ec);
  if (ec) throw Error("cannot create " + dest.string() + " to extract " + what + ": " + ec.message());
  fs::path root = fs::canonical(dest, ec);
  if (ec) throw Error("cannot resolve " + dest.string() + " to extract " + what + ": " + ec.message());
  return root;
}

// libarchive's disk writer for one extraction under `root`.
class DiskWriter {
 public:
  DiskWriter(fs::path root, const std::string& what) : disk_(archive_write_disk_new()), root_(std::move(root)) {
    if (!disk_) throw Error("cannot create a disk writer to extract " + what + ": out of memory");
    // Entry names are checked and rebased under root (they become absolute, so NOABSOLUTEPATHS cannot be used);
    // NODOTDOT and SYMLINKS stay on as a second line of defence.
    archive_write_disk_set_options(disk_.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                    ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  }

  // Writes the reader's current entry (header, then data) to disk.
  void extract(TarReader::Impl& r) {
    archive_entry* e = r.entry;
    const std::string name = r.current;
    if (!rebase(e, name, r.what)) return;
    if (archive_write_header(disk_.get(), e) < ARCHIVE_WARN) fail("cannot extract " + name + " from " + r.what);
    if (archive_entry_size(e) > 0) copy_data(r, name);
    if (archive_write_finish_entry(disk_.get()) < ARCHIVE_WARN) fail("cannot finish " + name + " from " + r.what);
  }

  void close(const std::string& what) {
    if (archive_write_close(disk_.get()) != ARCHIVE_OK) fail("cannot finish extracting " + what);
  }

 private:
  [[noreturn]] void fail(const std::string& doing) {
    throw Error(doing + " into " + root_.string() + ": " + detail::la_message(disk_.get()));
  }

  // Points the entry (and a hardlink's target) under root; refuses names that would escape it. False: nothing to
  // write ("." itself).
  bool rebase(archive_entry* e, const std::string& name, const std::string& what) {
    const auto rel = detail::safe_relative(name);
    if (!rel)
      throw Error("refusing to extract \"" + name + "\" from " + what +
                  ": absolute names and \"..\" components would escape " + root_.string());
    if (rel->empty()) return false;
    archive_entry_copy_pathname(e, (root_ / *rel).c_str());
    if (const char* hl = archive_entry_hardlink(e)) {
      const auto target = detail::safe_relative(hl);
      if (!target || target->empty())
        throw Error("refusing to extract the hardlink \"" + name + "\" -> \"" + hl + "\" from " + what +
                    ": its target would escape " + root_.string());
      archive_entry_copy_hardlink(e, (root_ / *target).c_str());
    }
    return true;
  }

  void copy_data(TarReader::Impl& r, const std::string& name) {
    const void* block;
    size_t size;
    la_int64_t offset;
    int rr;
    while ((rr = archive_read_data_block(r.a.get(), &block, &size, &offset)) == ARCHIVE_OK) {
      if (archive_write_data_block(disk_.get(), block, size, offset) < ARCHIVE_WARN)
        fail("cannot write the data of " + name + " from " + r.what);
    }
    if (rr != ARCHIVE_EOF) r.fail("cannot read the data of " + name + " in " + r.what);
  }

  detail::WriteArchive disk_;
  fs::path root_;
};

}  // namespace

void tar_extract(PullFn pull, const fs::path& dest, const std::string& what) {
  DiskWriter disk(extraction_root(dest, what), what);
  TarReader::Impl r(std::move(pull), what);
  while (r.next()) disk.extract(r);
  disk.close(what);
}

}  // namespace dind
