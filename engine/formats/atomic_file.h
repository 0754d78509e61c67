// Atomic file writes: a reader sees the old file or the complete new one, never a half-written file.
// The bytes go to a temporary name beside the target ("<path>.tmp") and are renamed over it only when every
// write succeeded; on failure the temporary is removed and the error names the target (docs/formats.md,
// "Atomic writes").
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

namespace lethe::formats {

// Calls write(out) on a binary stream to the temporary, then renames it into place.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);
// The same for bytes already in memory.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace lethe::formats
