// Streaming tar writer over libarchive. It runs libarchive's push API one small step at a time (one header, or up to
// 64 KiB of one file) into a reused buffer, which turns it into a pull interface with bounded memory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <exception>

#include "codec/archive_handles.hpp"
#include "codec/tar_names.hpp"
#include "codec/unique_fd.hpp"
#include "dind/errors.hpp"
#include "dind/tar.hpp"

namespace fs = std::filesystem;

namespace dind {

using detail::archive_name;
using detail::Entry;
using detail::la_message;
using detail::UniqueFd;
using detail::WriteArchive;

namespace {

constexpr std::size_t kStep = std::size_t{64} << 10;  // file data per step, and the target size of a chunk

std::int64_t now_or(std::int64_t t) {
  return t >= 0 ? t : static_cast<std::int64_t>(std::time(nullptr));
}

}  // namespace

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
    if (item.kind == Item::disk) return begin_disk(item, e.get());
    begin_memory(item, e.get());
  }

  // An in-memory file or a directory: the header says it all.
  void begin_memory(const Item& item, archive_entry* e) {
    archive_entry_set_filetype(e, item.kind == Item::bytes ? AE_IFREG : AE_IFDIR);
    archive_entry_set_perm(e, item.mode & 07777);
    archive_entry_set_size(e, item.kind == Item::bytes ? static_cast<la_int64_t>(item.data.size()) : 0);
    archive_entry_set_mtime(e, now_or(item.mtime), 0);
    write_header(e, item.name);
    if (item.kind == Item::bytes && !item.data.empty()) {
      current = &item;
      left = static_cast<std::int64_t>(item.data.size());
      mem_off = 0;
    } else {
      finish_entry(item.name);
    }
  }

  // An entry from disk, as lstat() sees it: a regular file's data follows in write_data().
  void begin_disk(const Item& item, archive_entry* e) {
    const std::string src = item.source.string();
    struct stat st {};
    if (::lstat(src.c_str(), &st) != 0) throw Error("cannot archive " + src + ": " + std::strerror(errno));
    if (S_ISSOCK(st.st_mode)) return;  // as docker does: a socket cannot be archived
    archive_entry_copy_stat(e, &st);
    archive_entry_copy_pathname(e, item.name.c_str());
    archive_entry_set_nlink(e, 1);  // no hardlink detection: every file is stored with its data
    if (S_ISLNK(st.st_mode)) {
      archive_entry_copy_symlink(e, read_link(src, st).c_str());
      archive_entry_set_size(e, 0);
    } else if (S_ISREG(st.st_mode)) {
      // Open before the header goes out, so an unreadable file fails cleanly instead of leaving half an entry.
      UniqueFd f(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (f.get() < 0) throw Error("cannot open " + src + " to archive it: " + std::strerror(errno));
      fd = std::move(f);
    } else {
      archive_entry_set_size(e, 0);
    }
    write_header(e, item.name);
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
      current = &item;
      left = st.st_size;
    } else {
      finish_entry(item.name);
    }
  }

  static std::string read_link(const std::string& src, const struct stat& st) {
    std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
    const ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
    if (n < 0) throw Error("cannot read the symlink " + src + ": " + std::strerror(errno));
    target.resize(static_cast<std::size_t>(n));
    return target;
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
      if (r < 0) throw Error("cannot read " + current->source.string() + " to archive it: " + std::strerror(errno));
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

}  // namespace dind
