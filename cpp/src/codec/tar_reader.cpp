// Streaming tar reader over libarchive, fed by a pull source.
#include "codec/tar_reader.hpp"

#include <algorithm>
#include <cerrno>

#include "codec/tar_names.hpp"
#include "dind/errors.hpp"

namespace dind {

using detail::la_message;

PullFn pull_from_memory(std::string_view data, std::size_t piece) {
  if (piece == 0) piece = 1;
  return [data, piece, off = std::size_t{0}]() mutable {
    const std::string_view out = data.substr(std::min(off, data.size()), piece);
    off += out.size();
    return out;
  };
}

const char* to_string(TarEntryType t) noexcept {
  switch (t) {
    case TarEntryType::file: return "file";
    case TarEntryType::directory: return "directory";
    case TarEntryType::symlink: return "symlink";
    case TarEntryType::hardlink: return "hardlink";
    case TarEntryType::other: return "other";
  }
  return "other";
}

// ---- TarReader::Impl -----------------------------------------------------------------------------------------------

la_ssize_t TarReader::Impl::on_read(archive* ar, void* ctx, const void** out) {
  auto* self = static_cast<Impl*>(ctx);
  try {
    const std::string_view piece = self->pull();
    *out = piece.data();
    return static_cast<la_ssize_t>(piece.size());
  } catch (...) {
    self->callback_error = std::current_exception();
    archive_set_error(ar, EIO, "the source of the archive failed");
    return -1;
  }
}

void TarReader::Impl::fail(const std::string& doing) {
  if (callback_error) std::rethrow_exception(callback_error);
  throw Error(doing + ": " + la_message(a.get()));
}

void TarReader::Impl::open() {
  a.reset(archive_read_new());
  if (!a) throw Error("cannot create a tar reader for " + what + ": out of memory");
  archive_read_support_format_tar(a.get());
  archive_read_support_format_empty(a.get());
  archive_read_support_filter_none(a.get());
  archive_read_support_filter_gzip(a.get());
  if (archive_read_open(a.get(), this, nullptr, &Impl::on_read, nullptr) != ARCHIVE_OK)
    fail("cannot read " + what + " as a tar archive");
}

bool TarReader::Impl::next() {
  if (at_end) return false;
  if (!a) open();
  const int r = archive_read_next_header(a.get(), &entry);
  if (r == ARCHIVE_EOF) {
    at_end = true;
    entry = nullptr;
    return false;
  }
  if (r < ARCHIVE_WARN) {
    entry = nullptr;
    fail("cannot read the next entry of " + what + (current.empty() ? "" : " (after " + current + ")"));
  }
  const char* name = archive_entry_pathname(entry);
  current = name ? name : "";
  return true;
}

std::size_t TarReader::Impl::read(char* buf, std::size_t n) {
  if (!entry) return 0;
  const la_ssize_t r = archive_read_data(a.get(), buf, n);
  if (r < 0) fail("cannot read the data of " + current + " in " + what);
  return static_cast<std::size_t>(r);
}

TarEntry TarReader::Impl::describe(archive_entry* e) {
  TarEntry t;
  const char* name = archive_entry_pathname(e);
  t.name = name ? name : "";
  t.size = archive_entry_size(e);
  t.mode = static_cast<std::uint32_t>(archive_entry_perm(e));
  t.mtime = archive_entry_mtime(e);
  if (const char* hl = archive_entry_hardlink(e)) {
    t.type = TarEntryType::hardlink;
    t.link_target = hl;
    return t;
  }
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: t.type = TarEntryType::file; break;
    case AE_IFDIR: t.type = TarEntryType::directory; break;
    case AE_IFLNK:
      t.type = TarEntryType::symlink;
      if (const char* s = archive_entry_symlink(e)) t.link_target = s;
      break;
    default: t.type = TarEntryType::other;
  }
  return t;
}

// ---- TarReader -----------------------------------------------------------------------------------------------------

TarReader::TarReader(PullFn pull, std::string what) : impl_(std::make_unique<Impl>(std::move(pull), std::move(what))) {}
TarReader::~TarReader() = default;
TarReader::TarReader(TarReader&&) noexcept = default;
TarReader& TarReader::operator=(TarReader&&) noexcept = default;

bool TarReader::next(TarEntry& entry) {
  if (!impl_->next()) return false;
  entry = Impl::describe(impl_->entry);
  return true;
}

std::size_t TarReader::read(char* buf, std::size_t n) {
  return impl_->read(buf, n);
}

std::string TarReader::read_all(std::size_t max_size) {
  std::string out;
  char buf[16384];
  for (std::size_t n; (n = read(buf, sizeof buf)) != 0;) {
    if (out.size() + n > max_size)
      throw Error("entry " + impl_->current + " of " + impl_->what + " is larger than the limit of " +
                  std::to_string(max_size) + " bytes");
    out.append(buf, n);
  }
  return out;
}

std::vector<TarEntry> tar_list(PullFn pull, const std::string& what) {
  TarReader r(std::move(pull), what);
  std::vector<TarEntry> out;
  for (TarEntry e; r.next(e);) out.push_back(std::move(e));
  return out;
}

std::optional<std::string> tar_read_file(PullFn pull, std::string_view name, std::size_t max_size,
                                         const std::string& what) {
  const std::string want = detail::comparable_name(name);
  TarReader r(std::move(pull), what);
  for (TarEntry e; r.next(e);) {
    if (detail::comparable_name(e.name) == want) return r.read_all(max_size);
  }
  return std::nullopt;
}

}  // namespace dind
