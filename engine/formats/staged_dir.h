// Output directories written whole or not at all (docs/training.md, "Run directories").
//
// A StagedDir for target T (say runs/a):
//   * takes an exclusive lock on T: the file runs/.a.lock, held with flock(2) for the StagedDir's life (a
//     second writer of T fails at once and names the holder's pid). The kernel drops the lock when the
//     holder dies, so a killed writer never blocks the next one; the file is removed on release.
//   * refuses a T that exists and is not empty unless `replace` is set (a file at T is always refused);
//   * removes what earlier writers of T left behind (they cannot be running: we hold the lock): the staging
//     directory runs/.a.partial (unless it is kept to resume from) and runs/.a.old;
//   * creates the staging directory runs/.a.partial at once, so an unwritable output fails before any work;
//   * commit(): swaps the staging directory and T in one rename (renameat2 RENAME_EXCHANGE; a plain rename
//     when T does not exist), then deletes the old T. A reader of T sees the old directory or the new one,
//     never a mix. Without commit (an error, an exception) the destructor removes the staging directory
//     and T is untouched.
// Where the file system lacks RENAME_EXCHANGE the swap is two renames (T -> runs/.a.old, staging -> T); a
// writer killed between them leaves T missing and runs/.a.old holding it, which the next writer of T puts
// back before anything else.
#pragma once

#include <string>
#include <vector>

#include "engine/error.h"

namespace lethe::formats {

// Thrown when the target exists and replacing it was not asked for (callers may add how to ask).
class OutputExists : public Error {
 public:
  using Error::Error;
};

// An exclusive lock on an output path (see above); released (and its file removed) by the destructor.
class OutputLock {
 public:
  // Throws lethe::Error when another process holds the lock on `target` or the lock file cannot be made.
  explicit OutputLock(const std::string& target);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

struct StageOptions {
  bool replace = false;       // an existing non-empty target may be replaced (whole: no stale file survives)
  bool keep_partial = false;  // reuse an interrupted staging directory (resume) instead of removing it
};

class StagedDir {
 public:
  StagedDir(const std::string& target, const StageOptions& opt = {});
  ~StagedDir();  // without commit(): the staging directory is removed, the target is untouched
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;

  const std::string& path() const { return staging_; }  // write the new directory's files here
  const std::string& target() const { return target_; }
  bool target_existed() const { return target_existed_; }
  bool reused_partial() const { return reused_partial_; }  // keep_partial found an interrupted directory
  // Leftovers of earlier writers removed by the constructor (for a message).
  const std::vector<std::string>& removed() const { return removed_; }
  // Puts the staging directory in place of the target (see above). Call once, after every file is written.
  void commit();

  // The staging directory of `target` (where an interrupted writer's files are).
  static std::string partial_path(const std::string& target);
  // True when `dir` is a staging directory left by an interrupted writer (it holds the marker file).
  static bool is_interrupted_partial(const std::string& dir);

 private:
  std::string target_, staging_, old_;
  OutputLock lock_;
  bool target_existed_ = false, reused_partial_ = false, committed_ = false;
  std::vector<std::string> removed_;
};

// The lock, staging and backup names of `target` live beside it: ".<name>.lock", ".<name>.partial",
// ".<name>.old". True when `name` (a file name) is one of them for some target.
bool is_staging_name(const std::string& name);

}  // namespace lethe::formats
