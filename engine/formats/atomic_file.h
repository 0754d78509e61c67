// Atomic file writes: a reader sees the old file or the complete new one, never a half-written file.
// The bytes go to a temporary name beside the target, ".<name>.tmp-<pid>-<n>" (unique per process, so two
// writers of one path never share a temporary), and are renamed over it only when every write succeeded;
// on failure the temporary is removed and the error names the target. Temporaries left by a process that
// died (SIGKILL, power loss) are removed by the next write of the same path (docs/training.md,
// "Run directories").
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

namespace lethe::formats {

// Calls write(out) on a binary stream to the temporary, then renames it into place.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);
// The same for bytes already in memory.
void write_file_atomic(const std::string& path, const std::string& bytes);

// Fails (lethe::Error naming `path`) unless a file can be created at `path`: its directory exists (or can be
// created) and accepts a new file. Call it before long work whose result goes to `path`; nothing is left
// behind.
void check_writable(const std::string& path);

// True when `name` is a temporary of write_file_atomic for `target_name` (".<target_name>.tmp-...").
bool is_temporary_of(const std::string& name, const std::string& target_name);

}  // namespace lethe::formats
