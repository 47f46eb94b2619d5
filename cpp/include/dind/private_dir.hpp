// A private temporary directory for key material, and a file writer that never exposes a key.
#pragma once

#include <string>
#include <string_view>

namespace dind {

// Creates `path`, which must not exist yet, with exactly `mode` (umask ignored) and writes `contents`.
// O_CREAT|O_EXCL|O_NOFOLLOW: never follows or reuses a planted file, and the mode is set at open, so a key file is
// never readable by others, not even briefly. Throws dind::Error naming the path.
void write_new_file(const std::string& path, std::string_view contents, unsigned mode = 0600);

// The per-user directory `sub` for what outlives a process (a reused daemon's client certs): under $DIND_STATE_DIR,
// else $XDG_STATE_HOME/dind, else $HOME/.local/state/dind. Made (0700) if absent. Throws Error naming the path when it
// is not a real directory of this user that only this user can enter.
std::string user_state_dir(const std::string& sub);

// A fresh directory made with mkdtemp under `base` (default $TMPDIR, or /tmp), mode 0700, removed with everything in it
// when the object is destroyed, also while an exception unwinds. keep()/release() leave it on disk (e.g. --dind-keep).
class PrivateDir {
 public:
  // `prefix` starts the directory's name (no '/'); six random characters follow it.
  explicit PrivateDir(std::string_view prefix = "dind-", std::string base = {});
  ~PrivateDir();

  PrivateDir(PrivateDir&& other) noexcept;
  PrivateDir& operator=(PrivateDir&& other) noexcept;
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;

  // Absolute path; empty after release() or remove().
  const std::string& path() const noexcept { return path_; }
  // path() + "/" + name.
  std::string file(std::string_view name) const;
  // Writes a new file `name` inside the directory (see write_new_file) and returns its path.
  std::string write(std::string_view name, std::string_view contents, unsigned mode = 0600) const;

  // Whether the destructor leaves the directory on disk.
  void keep(bool keep = true) noexcept { keep_ = keep; }
  bool kept() const noexcept { return keep_; }
  // Gives up ownership: the directory stays, this object becomes empty. Returns the path.
  std::string release() noexcept;
  // Removes the directory now (even if kept); throws dind::Error naming the path if that fails.
  void remove();

 private:
  std::string path_;
  bool keep_ = false;
};

}  // namespace dind
