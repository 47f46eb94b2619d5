// Private to the codec layer: the state of a TarReader, shared with tar_extract() (cpp/src/codec/extract.cpp), which
// copies entries straight from it to disk.
#pragma once

#include <exception>
#include <string>

#include "codec/archive_handles.hpp"
#include "dind/tar.hpp"

namespace dind {

struct TarReader::Impl {
  PullFn pull;
  std::string what;
  detail::ReadArchive a;
  std::exception_ptr callback_error;
  std::string current;  // name of the current entry, for messages
  archive_entry* entry = nullptr;
  bool at_end = false;

  Impl(PullFn p, std::string w) : pull(std::move(p)), what(std::move(w)) {}

  // Throws the pull source's own error if it failed, else Error(doing + libarchive's message).
  [[noreturn]] void fail(const std::string& doing);
  // Advances to the next entry; false at the end of the archive.
  bool next();
  // Up to n bytes of the current entry's data; 0 at its end.
  std::size_t read(char* buf, std::size_t n);
  static TarEntry describe(archive_entry* e);

 private:
  static la_ssize_t on_read(archive* ar, void* ctx, const void** out);
  void open();
};

}  // namespace dind
