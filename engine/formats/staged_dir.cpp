// Staged output directories and output locks (staged_dir.h).
#include "engine/formats/staged_dir.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2 (glibc >= 2.28, _GNU_SOURCE)
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/error.h"

namespace fs = std::filesystem;

namespace lethe::formats {

namespace {

constexpr const char* kMarker = ".lethe-partial";  // inside a staging directory until commit

// The target as a clean path with a file name ("runs/a/" -> "runs/a").
fs::path clean_target(const std::string& target) {
  LETHE_CHECK(!target.empty(), "output directory: no path given");
  fs::path p = fs::path(target).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  const std::string name = p.filename().string();
  LETHE_CHECK(!name.empty() && name != "." && name != "..", target << ": need a directory name");
  return p;
}

fs::path sibling(const fs::path& target, const char* suffix) {
  const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  return parent / ("." + target.filename().string() + suffix);
}

std::string read_small(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool is_empty_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec) && fs::is_empty(p, ec);
}

}  // namespace

bool is_staging_name(const std::string& name) {
  if (name.size() < 2 || name[0] != '.') return false;
  for (const char* s : {".lock", ".partial", ".old"}) {
    const size_t n = std::strlen(s);
    if (name.size() > n + 1 && name.compare(name.size() - n, n, s) == 0) return true;
  }
  return false;
}

OutputLock::OutputLock(const std::string& target) {
  const fs::path t = clean_target(target);
  const fs::path parent = t.parent_path().empty() ? fs::path(".") : t.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  LETHE_CHECK(fs::is_directory(parent), target << ": cannot create the directory " << parent.string()
                                               << (ec ? ": " + ec.message() : std::string()));
  path_ = sibling(t, ".lock").string();
  // The holder removes the lock file on release. A process that opened the old file before the removal
  // may lock an unlinked inode; after locking, check that the path still names our inode, else retry.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    LETHE_CHECK(fd >= 0, target << ": cannot create the lock file " << path_ << ": " << std::strerror(errno)
                                << " (is the directory writable?)");
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      LETHE_CHECK(err == EWOULDBLOCK, target << ": cannot lock " << path_ << ": " << std::strerror(err));
      std::string holder = read_small(path_);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      LETHE_CHECK(false, target << " is being written by another process"
                                << (holder.empty() ? "" : " (" + holder + ")")
                                << "; wait for it to finish or choose another output");
    }
    struct stat a {
    }, b{};
    if (::fstat(fd, &a) == 0 && ::stat(path_.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev) {
      fd_ = fd;
      const std::string who = "pid " + std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd, 0) == 0) {
        const ssize_t w = ::pwrite(fd, who.data(), who.size(), 0);
        (void)w;  // the pid is a courtesy for the message above; the lock itself is the flock
      }
      return;
    }
    ::close(fd);  // the file was removed (and maybe re-created) under us: try again
  }
  LETHE_CHECK(false, target << ": could not take the lock " << path_ << " (it keeps being replaced)");
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still holding the lock (see the constructor)
  ::close(fd_);
}

std::string StagedDir::partial_path(const std::string& target) {
  return sibling(clean_target(target), ".partial").string();
}

bool StagedDir::is_interrupted_partial(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / kMarker, ec);
}

StagedDir::StagedDir(const std::string& target, const StageOptions& opt)
    : target_(clean_target(target).string()),
      staging_(sibling(clean_target(target), ".partial").string()),
      old_(sibling(clean_target(target), ".old").string()),
      lock_(target) {
  std::error_code ec;
  // 1. A swap interrupted between its two renames: the target is missing and .old holds it. Put it back.
  if (fs::exists(old_, ec)) {
    if (!fs::exists(target_, ec)) {
      fs::rename(old_, target_, ec);
      LETHE_CHECK(!ec, target_ << ": cannot restore " << old_
                               << " (left by an interrupted writer): " << ec.message());
      removed_.push_back(old_ + " (restored to " + target_ + ")");
    } else {
      fs::remove_all(old_, ec);
      removed_.push_back(old_);
    }
  }
  // 2. The target itself.
  if (fs::exists(target_, ec) || fs::is_symlink(target_, ec)) {
    LETHE_CHECK(fs::is_directory(target_, ec), target_ << " exists and is not a directory");
    target_existed_ = !is_empty_dir(target_);
    if (target_existed_ && !opt.replace)
      throw OutputExists(target_ +
                         " already exists; refusing to replace it (ask for the replacement, or choose "
                         "another output)");
  }
  // 3. The staging directory of an earlier writer: reuse it to resume, or remove it.
  if (fs::exists(staging_, ec)) {
    if (opt.keep_partial && is_interrupted_partial(staging_)) {
      reused_partial_ = true;
    } else {
      fs::remove_all(staging_, ec);
      LETHE_CHECK(!ec, target_ << ": cannot remove the leftover " << staging_ << ": " << ec.message());
      removed_.push_back(staging_);
    }
  }
  // 4. A fresh staging directory with its marker: the output is known to be writable before any work.
  if (!reused_partial_) {
    fs::create_directory(staging_, ec);
    LETHE_CHECK(!ec, target_ << ": cannot create " << staging_ << ": " << ec.message());
  }
  {
    std::ofstream m(fs::path(staging_) / kMarker, std::ios::trunc);
    m << "staging directory of " << fs::path(target_).filename().string() << ", written by pid " << ::getpid()
      << "; removed or renamed into place when the writer finishes\n";
    m.close();
    if (!m.good()) {
      if (!reused_partial_) fs::remove_all(staging_, ec);
      LETHE_CHECK(false, target_ << ": cannot write into " << staging_ << " (disk full or read-only?)");
    }
  }
}

StagedDir::~StagedDir() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);  // nothing was published; the target is as it was
}

void StagedDir::commit() {
  LETHE_ASSERT(!committed_, "StagedDir::commit called twice for " << target_);
  std::error_code ec;
  fs::remove(fs::path(staging_) / kMarker, ec);
  const bool swap = fs::exists(target_, ec);
  if (!swap) {
    fs::rename(staging_, target_, ec);
    LETHE_CHECK(!ec, target_ << ": cannot rename " << staging_ << " into place: " << ec.message());
  } else if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) != 0) {
    const int err = errno;
    LETHE_CHECK(err == EINVAL || err == ENOSYS || err == ENOTSUP,
                target_ << ": cannot swap " << staging_ << " into place: " << std::strerror(err));
    // No atomic exchange on this file system: two renames, recoverable by the next writer (header).
    fs::rename(target_, old_, ec);
    LETHE_CHECK(!ec, target_ << ": cannot move the old directory aside: " << ec.message());
    fs::rename(staging_, target_, ec);
    if (ec) {
      const std::string why = ec.message();
      fs::rename(old_, target_, ec);
      LETHE_CHECK(false, target_ << ": cannot rename " << staging_ << " into place: " << why);
    }
    fs::remove_all(old_, ec);
    committed_ = true;
    return;
  }
  committed_ = true;
  // After the exchange the staging path holds the old target.
  fs::remove_all(staging_, ec);
}

}  // namespace lethe::formats
