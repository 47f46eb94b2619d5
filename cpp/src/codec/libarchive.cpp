#include "codec/libarchive.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include "dind/errors.hpp"

namespace dind::detail {

namespace {
constexpr const char* kLibrary = "libarchive.so.13";
// Installed beside the Python extension (CMakeLists.txt, cpp/shim/): an object whose one dependency is libarchive.
// In a wheel its RPATH points at the vendored copy in dind.libs/; in a source build, at the system's.
constexpr const char* kShim = "libdind_archive.so";

std::string loader_error() {
  const char* why = ::dlerror();
  return why ? why : "?";
}

// The directory (with its slash) of the object this code is linked into: the Python extension, or a program.
std::string own_directory() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&libarchive), &info) == 0 || !info.dli_fname) return {};
  std::string path = info.dli_fname;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// libarchive's handle: through the shim beside this object when there is one (a dlsym on its handle searches its
// dependencies), else libarchive.so.13 by name (a C++ program linking libdind). Null with `failure` set if neither.
void* open_libarchive(std::string& failure) {
  const std::string dir = own_directory();
  const std::string shim = dir + kShim;
  if (!dir.empty() && ::access(shim.c_str(), F_OK) == 0) {
    if (void* lib = ::dlopen(shim.c_str(), RTLD_NOW | RTLD_LOCAL)) return lib;
    failure = std::string("loading libarchive (for tar streams) through ") + shim + " failed: " + loader_error() +
              " (the installed dind package is damaged or was built for another system: reinstall it, e.g. "
              "pip install --force-reinstall dind)";
    return nullptr;
  }
  if (void* lib = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL)) return lib;
  failure = std::string("loading ") + kLibrary + " (libarchive, for tar streams) failed: " + loader_error() +
            " (install libarchive13, e.g. apt-get install libarchive13, or install dind from its wheel, which " +
            "carries libarchive; no " + shim + " was found)";
  return nullptr;
}
}  // namespace

const LibArchive& libarchive() {
  static LibArchive table;
  static std::string failure;
  static std::once_flag once;
  std::call_once(once, [] {
    // Never unloaded: the table lives as long as the process.
    void* lib = open_libarchive(failure);
    if (!lib) return;
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
