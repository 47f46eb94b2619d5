#include "dind/private_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "dind/errors.hpp"

namespace dind {
namespace {

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// Closes a descriptor on every path out of write_new_file.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

void write_new_file(const std::string& path, std::string_view contents, unsigned mode) {
  const auto perms = static_cast<mode_t>(mode & 07777);
  // The mode is given to open() itself, so the file never exists with wider permissions; the umask can only narrow
  // it, and fchmod below makes it exact.
  Fd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perms)};
  if (fd.get() < 0) throw Error("creating file " + path + " failed: " + errno_text(errno));
  auto fail = [&](const char* what) {
    const int err = errno;
    ::unlink(path.c_str());  // no half-written file is left behind
    throw Error(std::string(what) + " " + path + " failed: " + errno_text(err));
  };
  if (::fchmod(fd.get(), perms) != 0) fail("setting the mode of");
  const char* p = contents.data();
  std::size_t left = contents.size();
  while (left > 0) {
    const ssize_t n = ::write(fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("writing");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::close(fd.release()) != 0) fail("closing");
}

std::string user_state_dir(const std::string& sub) {
  namespace fs = std::filesystem;
  const auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
  };
  fs::path base;
  if (!env("DIND_STATE_DIR").empty()) {
    base = env("DIND_STATE_DIR");
  } else if (!env("XDG_STATE_HOME").empty()) {
    base = fs::path(env("XDG_STATE_HOME")) / "dind";
  } else if (!env("HOME").empty()) {
    base = fs::path(env("HOME")) / ".local" / "state" / "dind";
  } else {
    throw Error(
        "finding the per-user state directory of dind failed: none of DIND_STATE_DIR, XDG_STATE_HOME, HOME is set");
  }
  const fs::path dir = base / sub;
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);  // the usual parents (~/.local/state) may be shared: left as made
  if (ec) throw Error("creating " + dir.parent_path().string() + " failed: " + ec.message());
  if (::mkdir(dir.c_str(), S_IRWXU) != 0 && errno != EEXIST)
    throw Error("creating " + dir.string() + " failed: " + errno_text(errno));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) throw Error("reading " + dir.string() + " failed: " + errno_text(errno));
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::getuid() || (st.st_mode & 077) != 0)
    throw Error(dir.string() + " is not a private directory of this user (it must be a directory, owned by uid " +
                std::to_string(::getuid()) + ", mode 0700): it would hold client keys");
  return dir.string();
}

PrivateDir::PrivateDir(std::string_view prefix, std::string base) {
  if (prefix.find('/') != std::string_view::npos)
    throw Error("making a private temporary directory failed: prefix \"" + std::string(prefix) + "\" contains '/'");
  const char* tmp = std::getenv("TMPDIR");
  if (base.empty()) base = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string templ = base + "/" + std::string(prefix) + "XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr)
    throw Error("making a private temporary directory " + templ + " failed: " + errno_text(errno));
  path_ = buf.data();
  // mkdtemp asks for 0700 but a umask can take bits away (0500 would make it unwritable): set it exactly.
  if (::chmod(path_.c_str(), S_IRWXU) != 0) {
    const int err = errno;
    ::rmdir(path_.c_str());
    throw Error("setting mode 0700 on " + path_ + " failed: " + errno_text(err));
  }
}

PrivateDir::~PrivateDir() {
  if (path_.empty() || keep_) return;
  std::error_code ec;  // a destructor must not throw; remove() is there for callers who want the error
  std::filesystem::remove_all(path_, ec);
}

PrivateDir::PrivateDir(PrivateDir&& other) noexcept
    : path_(std::exchange(other.path_, std::string())), keep_(other.keep_) {}

PrivateDir& PrivateDir::operator=(PrivateDir&& other) noexcept {
  if (this != &other) {
    PrivateDir old(std::move(*this));  // the directory this object held is removed (unless kept)
    path_ = std::exchange(other.path_, std::string());
    keep_ = other.keep_;
  }
  return *this;
}

std::string PrivateDir::file(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

std::string PrivateDir::write(std::string_view name, std::string_view contents, unsigned mode) const {
  if (path_.empty()) throw Error("writing " + std::string(name) + " into a private directory failed: it was released");
  std::string p = file(name);
  write_new_file(p, contents, mode);
  return p;
}

std::string PrivateDir::release() noexcept {
  keep_ = false;
  return std::exchange(path_, std::string());
}

void PrivateDir::remove() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  if (ec) throw Error("removing the private directory " + path_ + " failed: " + ec.message());
  path_.clear();
}

}  // namespace dind
