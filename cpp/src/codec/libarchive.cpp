#include "codec/libarchive.hpp"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "dind/errors.hpp"

namespace dind::detail {

namespace {
constexpr const char* kLibrary = "libarchive.so.13";
}

const LibArchive& libarchive() {
  static LibArchive table;
  static std::string failure;
  static std::once_flag once;
  std::call_once(once, [] {
    // Never unloaded: the table lives as long as the process.
    void* lib = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = ::dlerror();
      failure = std::string("loading ") + kLibrary + " (libarchive, for tar streams) failed: " + (why ? why : "?") +
                " (install libarchive13)";
      return;
    }
#define DIND_LIBARCHIVE_RESOLVE(f)                                 \
  table.f = reinterpret_cast<decltype(table.f)>(::dlsym(lib, #f)); \
  if (!table.f && failure.empty()) failure = std::string(kLibrary) + " has no symbol " #f " (too old?)";
    DIND_LIBARCHIVE_FUNCTIONS(DIND_LIBARCHIVE_RESOLVE)
#undef DIND_LIBARCHIVE_RESOLVE
  });
  if (!failure.empty()) throw Error(failure);
  return table;
}

}  // namespace dind::detail
