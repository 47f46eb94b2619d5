// Streaming tar over libarchive. The writer runs libarchive's push API one small step at a time (one header, or up
// to 64 KiB of one file) into a reused buffer, which turns it into a pull interface with bounded memory.
#include "dind/tar.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <exception>
#include <limits>

#include "codec/libarchive.hpp"
#include "dind/base64.hpp"
#include "dind/errors.hpp"

namespace fs = std::filesystem;

namespace dind {

namespace {

constexpr std::size_t kStep = std::size_t{64} << 10;  // file data per step, and the target size of a chunk

struct WriteDeleter {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct ReadDeleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};
using WriteArchive = std::unique_ptr<archive, WriteDeleter>;
using ReadArchive = std::unique_ptr<archive, ReadDeleter>;
using Entry = std::unique_ptr<archive_entry, EntryDeleter>;

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

std::string la_message(archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "unknown libarchive error";
}

std::string errno_message(int err) {
  return std::strerror(err);
}

// Archive names are relative and '/'-separated; a leading "/" or "./" is dropped.
std::string archive_name(std::string name) {
  std::size_t i = 0;
  while (true) {
    if (name.compare(i, 1, "/") == 0) {
      ++i;
    } else if (name.compare(i, 2, "./") == 0) {
      i += 2;
    } else {
      break;
    }
  }
  name.erase(0, i);
  return name;
}

// For comparing entry names: also without a trailing "/".
std::string comparable_name(std::string_view name) {
  std::string s = archive_name(std::string(name));
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// The entry name as a safe relative path, or nullopt if it is absolute or has a ".." component.
std::optional<std::string> safe_relative(std::string_view name) {
  if (name.empty() || name.front() == '/') return std::nullopt;
  std::string out;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view part = name.substr(start, end - start);
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out.append(part);
    }
    start = end + 1;
  }
  return out;
}

std::int64_t now_or(std::int64_t t) {
  return t >= 0 ? t : static_cast<std::int64_t>(std::time(nullptr));
}

}  // namespace

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

// ---- writer
// ----------------------------------------------------------------------------------------------------------

struct TarWriter::Impl {
  struct Item {
    enum Kind { disk, bytes, directory } kind;
    std::string name;
    fs::path source;   // disk
    std::string data;  // bytes
    std::uint32_t mode = 0;
    std::int64_t mtime = -1;
  };

  std::vector<Item> items;
  std::size_t next_item = 0;
  WriteArchive a;
  std::string out;
  std::exception_ptr callback_error;
  std::string failed;
  bool done = false;
  bool discard = false;
  std::uint64_t written = 0;
  // The entry whose data is being written: from a file, or from an in-memory item.
  const Item* current = nullptr;
  UniqueFd fd;
  std::int64_t left = 0;
  std::size_t mem_off = 0;
  std::vector<char> buf;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // Freeing an unfinished writer makes libarchive write the end-of-archive blocks: drop them here, before the
  // members they would land in are gone.
  ~Impl() {
    discard = true;
    a.reset();
  }

  static la_ssize_t on_write(archive*, void* ctx, const void* data, size_t n) {
    auto* self = static_cast<Impl*>(ctx);
    if (self->discard) return static_cast<la_ssize_t>(n);
    try {
      self->out.append(static_cast<const char*>(data), n);
    } catch (...) {
      self->callback_error = std::current_exception();
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }

  [[noreturn]] void fail_archive(const std::string& what) {
    if (callback_error) std::rethrow_exception(callback_error);
    throw Error(what + ": " + la_message(a.get()));
  }

  void start() {
    a.reset(archive_write_new());
    if (!a) throw Error("cannot create a tar writer: out of memory");
    // pax restricted: plain ustar unless a field needs pax (long names, big sizes, non-ASCII); bytes_per_block 0
    // hands every write straight to on_write instead of re-blocking into 10 KiB records.
    if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
        archive_write_add_filter_none(a.get()) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a.get(), 0) != ARCHIVE_OK ||
        archive_write_open2(a.get(), this, nullptr, &Impl::on_write, nullptr, nullptr) != ARCHIVE_OK)
      fail_archive("cannot open a tar writer");
    buf.resize(kStep);
  }

  void write_header(archive_entry* e, const std::string& name) {
    if (archive_write_header(a.get(), e) < ARCHIVE_WARN) fail_archive("cannot write the tar header of " + name);
  }

  void finish_entry(const std::string& name) {
    current = nullptr;
    fd.reset();
    if (archive_write_finish_entry(a.get()) < ARCHIVE_WARN) fail_archive("cannot finish the tar entry " + name);
  }

  void begin(const Item& item) {
    Entry e(archive_entry_new());
    if (!e) throw Error("cannot archive " + item.name + ": out of memory");
    archive_entry_copy_pathname(e.get(), item.name.c_str());
    if (item.kind == Item::bytes || item.kind == Item::directory) {
      archive_entry_set_filetype(e.get(), item.kind == Item::bytes ? AE_IFREG : AE_IFDIR);
      archive_entry_set_perm(e.get(), item.mode & 07777);
      archive_entry_set_size(e.get(), item.kind == Item::bytes ? static_cast<la_int64_t>(item.data.size()) : 0);
      archive_entry_set_mtime(e.get(), now_or(item.mtime), 0);
      write_header(e.get(), item.name);
      if (item.kind == Item::bytes && !item.data.empty()) {
        current = &item;
        left = static_cast<std::int64_t>(item.data.size());
        mem_off = 0;
      } else {
        finish_entry(item.name);
      }
      return;
    }
    const std::string src = item.source.string();
    struct stat st {};
    if (::lstat(src.c_str(), &st) != 0) throw Error("cannot archive " + src + ": " + errno_message(errno));
    if (S_ISSOCK(st.st_mode)) return;  // as docker does: a socket cannot be archived
    archive_entry_copy_stat(e.get(), &st);
    archive_entry_copy_pathname(e.get(), item.name.c_str());
    archive_entry_set_nlink(e.get(), 1);  // no hardlink detection: every file is stored with its data
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
      const ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
      if (n < 0) throw Error("cannot read the symlink " + src + ": " + errno_message(errno));
      target.resize(static_cast<std::size_t>(n));
      archive_entry_copy_symlink(e.get(), target.c_str());
      archive_entry_set_size(e.get(), 0);
    } else if (S_ISREG(st.st_mode)) {
      // Open before the header goes out, so an unreadable file fails cleanly instead of leaving half an entry.
      UniqueFd f(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (f.get() < 0) throw Error("cannot open " + src + " to archive it: " + errno_message(errno));
      fd = std::move(f);
    } else {
      archive_entry_set_size(e.get(), 0);
    }
    write_header(e.get(), item.name);
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
      current = &item;
      left = st.st_size;
    } else {
      finish_entry(item.name);
    }
  }

  void write_data() {
    const std::size_t want = static_cast<std::size_t>(std::min<std::int64_t>(left, static_cast<std::int64_t>(kStep)));
    const char* data;
    std::size_t n;
    if (current->kind == Item::bytes) {
      data = current->data.data() + mem_off;
      n = want;
      mem_off += n;
    } else {
      ssize_t r;
      do {
        r = ::read(fd.get(), buf.data(), want);
      } while (r < 0 && errno == EINTR);
      if (r < 0) throw Error("cannot read " + current->source.string() + " to archive it: " + errno_message(errno));
      if (r == 0)
        throw Error("cannot archive " + current->source.string() + ": it shrank while being read (" +
                    std::to_string(left) + " bytes missing)");
      data = buf.data();
      n = static_cast<std::size_t>(r);
    }
    if (archive_write_data(a.get(), data, n) < 0) fail_archive("cannot write the data of " + current->name);
    left -= static_cast<std::int64_t>(n);
    if (left == 0) finish_entry(current->name);
  }

  void step() {
    if (current) return write_data();
    if (next_item < items.size()) return begin(items[next_item++]);
    if (archive_write_close(a.get()) != ARCHIVE_OK) fail_archive("cannot finish the tar archive");
    done = true;
  }

  std::string_view next_chunk() {
    if (!failed.empty()) throw Error("the tar writer failed earlier: " + failed);
    out.clear();
    try {
      if (!a && !done) start();
      while (!done && out.size() < kStep) step();
    } catch (const std::exception& e) {
      failed = e.what();
      throw;
    }
    written += out.size();
    return out;
  }

  void check_not_started() const {
    if (a || done) throw Error("cannot add entries to a tar archive that is already being read");
  }

  void add_tree(const fs::path& dir, const std::string& prefix) {
    std::vector<fs::path> children;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) children.push_back(it->path());
    if (ec) throw Error("cannot list " + dir.string() + " to archive it: " + ec.message());
    std::sort(children.begin(), children.end());
    for (const auto& child : children) {
      const std::string name = prefix + "/" + child.filename().string();
      items.push_back(Item{Item::disk, name, child, {}, 0, -1});
      if (fs::symlink_status(child, ec).type() == fs::file_type::directory) add_tree(child, name);
    }
  }
};

TarWriter::TarWriter() : impl_(std::make_unique<Impl>()) {}
TarWriter::~TarWriter() = default;
TarWriter::TarWriter(TarWriter&&) noexcept = default;
TarWriter& TarWriter::operator=(TarWriter&&) noexcept = default;

TarWriter& TarWriter::add_path(const fs::path& source, std::string name) {
  impl_->check_not_started();
  if (name.empty()) {
    fs::path p = source.lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    name = p.filename().string();
  }
  name = archive_name(std::move(name));
  while (!name.empty() && name.back() == '/') name.pop_back();
  if (name.empty() || name == "." || name == "..")
    throw Error("cannot archive " + source.string() + ": give it a name inside the archive");
  std::error_code ec;
  const auto status = fs::symlink_status(source, ec);
  if (ec) throw Error("cannot archive " + source.string() + ": " + ec.message());
  impl_->items.push_back(Impl::Item{Impl::Item::disk, name, source, {}, 0, -1});
  if (status.type() == fs::file_type::directory) impl_->add_tree(source, name);
  return *this;
}

TarWriter& TarWriter::add_path_entry(const fs::path& source, std::string name) {
  impl_->check_not_started();
  name = archive_name(std::move(name));
  if (name.empty()) throw Error("cannot archive " + source.string() + ": empty name inside the archive");
  impl_->items.push_back(Impl::Item{Impl::Item::disk, std::move(name), source, {}, 0, -1});
  return *this;
}

TarWriter& TarWriter::add_bytes(std::string name, std::string data, std::uint32_t mode, std::int64_t mtime) {
  impl_->check_not_started();
  name = archive_name(std::move(name));
  if (name.empty()) throw Error("cannot add an in-memory file with an empty name to a tar archive");
  impl_->items.push_back(Impl::Item{Impl::Item::bytes, std::move(name), {}, std::move(data), mode, mtime});
  return *this;
}

TarWriter& TarWriter::add_directory(std::string name, std::uint32_t mode, std::int64_t mtime) {
  impl_->check_not_started();
  name = archive_name(std::move(name));
  if (name.empty()) throw Error("cannot add a directory with an empty name to a tar archive");
  impl_->items.push_back(Impl::Item{Impl::Item::directory, std::move(name), {}, {}, mode, mtime});
  return *this;
}

std::string_view TarWriter::next_chunk() {
  return impl_->next_chunk();
}

void TarWriter::write_to(const std::function<void(std::string_view)>& push) {
  for (auto c = next_chunk(); !c.empty(); c = next_chunk()) push(c);
}

std::string TarWriter::to_string() {
  std::string all;
  write_to([&](std::string_view c) { all.append(c); });
  return all;
}

std::uint64_t TarWriter::bytes_written() const noexcept {
  return impl_->written;
}

// ---- reader
// ----------------------------------------------------------------------------------------------------------

struct TarReader::Impl {
  PullFn pull;
  std::string what;
  ReadArchive a;
  std::exception_ptr callback_error;
  std::string current;  // name of the current entry, for messages
  archive_entry* entry = nullptr;
  bool at_end = false;

  Impl(PullFn p, std::string w) : pull(std::move(p)), what(std::move(w)) {}

  static la_ssize_t on_read(archive* ar, void* ctx, const void** out) {
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

  [[noreturn]] void fail(const std::string& doing) {
    if (callback_error) std::rethrow_exception(callback_error);
    throw Error(doing + ": " + la_message(a.get()));
  }

  void open() {
    a.reset(archive_read_new());
    if (!a) throw Error("cannot create a tar reader for " + what + ": out of memory");
    archive_read_support_format_tar(a.get());
    archive_read_support_format_empty(a.get());
    archive_read_support_filter_none(a.get());
    archive_read_support_filter_gzip(a.get());
    if (archive_read_open(a.get(), this, nullptr, &Impl::on_read, nullptr) != ARCHIVE_OK)
      fail("cannot read " + what + " as a tar archive");
  }

  bool next() {
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

  std::size_t read(char* buf, std::size_t n) {
    if (!entry) return 0;
    const la_ssize_t r = archive_read_data(a.get(), buf, n);
    if (r < 0) fail("cannot read the data of " + current + " in " + what);
    return static_cast<std::size_t>(r);
  }

  static TarEntry describe(archive_entry* e) {
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
};

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
  const std::string want = comparable_name(name);
  TarReader r(std::move(pull), what);
  for (TarEntry e; r.next(e);) {
    if (comparable_name(e.name) == want) return r.read_all(max_size);
  }
  return std::nullopt;
}

void tar_extract(PullFn pull, const fs::path& dest, const std::string& what) {
  std::error_code ec;
  fs::create_directories(dest, ec);
  if (ec) throw Error("cannot create " + dest.string() + " to extract " + what + ": " + ec.message());
  // A canonical root has no symlink or ".." in it, so the SECURE flags only judge what comes from the archive.
  const fs::path root = fs::canonical(dest, ec);
  if (ec) throw Error("cannot resolve " + dest.string() + " to extract " + what + ": " + ec.message());

  WriteArchive disk(archive_write_disk_new());
  if (!disk) throw Error("cannot create a disk writer to extract " + what + ": out of memory");
  // Entry names are checked and rebased under root below (they become absolute, so NOABSOLUTEPATHS cannot be
  // used); NODOTDOT and SYMLINKS stay on as a second line of defence.
  archive_write_disk_set_options(disk.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                 ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  TarReader::Impl r(std::move(pull), what);
  auto disk_fail = [&](const std::string& doing) -> void {
    throw Error(doing + " into " + root.string() + ": " + la_message(disk.get()));
  };
  while (r.next()) {
    archive_entry* e = r.entry;
    const std::string name = r.current;
    const auto rel = safe_relative(name);
    if (!rel)
      throw Error("refusing to extract \"" + name + "\" from " + what +
                  ": absolute names and \"..\" components would escape " + root.string());
    if (rel->empty()) continue;  // "." itself
    archive_entry_copy_pathname(e, (root / *rel).c_str());
    if (const char* hl = archive_entry_hardlink(e)) {
      const auto target = safe_relative(hl);
      if (!target || target->empty())
        throw Error("refusing to extract the hardlink \"" + name + "\" -> \"" + hl + "\" from " + what +
                    ": its target would escape " + root.string());
      archive_entry_copy_hardlink(e, (root / *target).c_str());
    }
    if (archive_write_header(disk.get(), e) < ARCHIVE_WARN) disk_fail("cannot extract " + name + " from " + what);
    if (archive_entry_size(e) > 0) {
      const void* block;
      size_t size;
      la_int64_t offset;
      int rr;
      while ((rr = archive_read_data_block(r.a.get(), &block, &size, &offset)) == ARCHIVE_OK) {
        if (archive_write_data_block(disk.get(), block, size, offset) < ARCHIVE_WARN)
          disk_fail("cannot write the data of " + name + " from " + what);
      }
      if (rr != ARCHIVE_EOF) r.fail("cannot read the data of " + name + " in " + what);
    }
    if (archive_write_finish_entry(disk.get()) < ARCHIVE_WARN) disk_fail("cannot finish " + name + " from " + what);
  }
  if (archive_write_close(disk.get()) != ARCHIVE_OK) disk_fail("cannot finish extracting " + what);
}

// ---- build context
// ---------------------------------------------------------------------------------------------------

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

}  // namespace

TarWriter build_context(const fs::path& dir, const std::string& dockerfile) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("the build context " + dir.string() + " is not a directory");
  std::vector<std::string> patterns;
  const fs::path ignore_file = dir / ".dockerignore";
  if (fs::exists(ignore_file, ec)) {
    UniqueFd f(::open(ignore_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (f.get() < 0) throw Error("cannot read " + ignore_file.string() + ": " + errno_message(errno));
    std::string text;
    char buf[8192];
    for (ssize_t n; (n = ::read(f.get(), buf, sizeof buf)) != 0;) {
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error("cannot read " + ignore_file.string() + ": " + errno_message(errno));
      }
      text.append(buf, static_cast<std::size_t>(n));
    }
    patterns = DockerIgnore::parse(text);
  }
  // Always sent, whatever the rules say: the daemon needs the Dockerfile, and docker's CLI sends .dockerignore too.
  patterns.push_back("!.dockerignore");
  patterns.push_back("!" + comparable_name(dockerfile));
  DockerIgnore ignore(patterns);
  TarWriter w;
  walk_context(w, ignore, dir, "");
  return w;
}

// ---- X-Docker-Container-Path-Stat
// --------------------------------------------------------------------------------------

nlohmann::json PathStat::to_json() const {
  return {{"name", name}, {"size", size}, {"mode", mode}, {"mtime", mtime}, {"linkTarget", link_target}};
}

PathStat decode_path_stat(std::string_view header_value) {
  auto fail = [&](const std::string& why) -> PathStat {
    throw Error("cannot decode the X-Docker-Container-Path-Stat header \"" + std::string(header_value.substr(0, 120)) +
                "\": " + why);
  };
  std::string text;
  try {
    text = base64_decode(header_value);
  } catch (const Error& e) {
    return fail(e.what());
  }
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return fail("not a JSON object: " + text.substr(0, 120));
  // Numbers are checked by hand: nlohmann converts a float or an out-of-range integer with a plain cast (1e300 into
  // an int64 is undefined behaviour; -1 silently became mode 0xffffffff). Found by fuzz_path_stat.
  auto integer = [&](const char* key, auto zero) -> decltype(zero) {
    using T = decltype(zero);
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return zero;
    if (it->is_number_unsigned() &&
        it->template get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
      return static_cast<T>(it->template get<std::uint64_t>());
    if (it->is_number_integer() && !it->is_number_unsigned()) {
      const auto v = it->template get<std::int64_t>();
      if (v >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
          (v < 0 || static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())))
        return static_cast<T>(v);
    }
    fail(std::string("\"") + key + "\" is not an integer in range: " + it->dump());
    return zero;
  };
  PathStat s;
  try {
    s.name = j.value("name", "");
    s.size = integer("size", std::int64_t{0});
    s.mode = integer("mode", std::uint32_t{0});
    s.mtime = j.value("mtime", "");
    s.link_target = j.value("linkTarget", "");
  } catch (const nlohmann::json::exception& e) {
    return fail(std::string("unexpected field type: ") + e.what());
  }
  return s;
}

}  // namespace dind
