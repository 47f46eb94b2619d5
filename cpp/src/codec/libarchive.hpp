// libarchive, loaded on first use instead of at load time. libarchive brings libxml2 and ICU with it (about 3 MB of
// memory once mapped and relocated), and most users of the Python module never touch a tar: they should not pay
// for it at `import`. Code that includes this header calls archive_*() exactly as with <archive.h>; each name below
// resolves to a function object (found before libarchive's own declaration, so no ambiguity) that calls through a
// table filled the first time any of them is used: through libdind_archive.so beside the Python extension (which
// carries libarchive in a wheel), else dlopen("libarchive.so.13") (libarchive.cpp).
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <utility>

#define DIND_LIBARCHIVE_FUNCTIONS(X)                                                                                \
  X(archive_entry_copy_hardlink)                                                                                    \
  X(archive_entry_copy_pathname) X(archive_entry_copy_stat) X(archive_entry_copy_symlink) X(archive_entry_filetype) \
      X(archive_entry_free) X(archive_entry_hardlink) X(archive_entry_mtime) X(archive_entry_new)                   \
          X(archive_entry_pathname) X(archive_entry_perm) X(archive_entry_set_filetype) X(archive_entry_set_mtime)  \
              X(archive_entry_set_nlink) X(archive_entry_set_perm) X(archive_entry_set_size) X(archive_entry_size)  \
                  X(archive_entry_symlink) X(archive_error_string) X(archive_read_data) X(archive_read_data_block)  \
                      X(archive_read_free) X(archive_read_new) X(archive_read_next_header) X(archive_read_open)     \
                          X(archive_read_support_filter_gzip) X(archive_read_support_filter_none)                   \
                              X(archive_read_support_format_empty) X(archive_read_support_format_tar)               \
                                  X(archive_set_error) X(archive_write_add_filter_none) X(archive_write_close)      \
                                      X(archive_write_data) X(archive_write_data_block) X(archive_write_disk_new)   \
                                          X(archive_write_disk_set_options) X(archive_write_finish_entry)           \
                                              X(archive_write_free) X(archive_write_header) X(archive_write_new)    \
                                                  X(archive_write_open2) X(archive_write_set_bytes_per_block)       \
                                                      X(archive_write_set_format_pax_restricted)

namespace dind {
namespace detail {

struct LibArchive {
#define DIND_LIBARCHIVE_POINTER(f) decltype(&::f) f = nullptr;
  DIND_LIBARCHIVE_FUNCTIONS(DIND_LIBARCHIVE_POINTER)
#undef DIND_LIBARCHIVE_POINTER
};

// Loads libarchive once (thread-safe); throws dind::Error naming the library and the loader's reason.
const LibArchive& libarchive();

}  // namespace detail

#define DIND_LIBARCHIVE_CALL(f)                             \
  inline constexpr struct f##_call {                        \
    template <class... A>                                   \
    auto operator()(A&&... a) const {                       \
      return detail::libarchive().f(std::forward<A>(a)...); \
    }                                                       \
  } f{};
DIND_LIBARCHIVE_FUNCTIONS(DIND_LIBARCHIVE_CALL)
#undef DIND_LIBARCHIVE_CALL

}  // namespace dind
