// Temporary name + rename (atomic_file.h).
#include "engine/formats/atomic_file.h"

#include <filesystem>
#include <fstream>

#include "engine/error.h"

namespace lethe::formats {

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp";
  bool ok = false;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    LETHE_CHECK(out.good(), path << ": cannot open " << tmp << " for writing");
    try {
      write(out);
    } catch (...) {
      out.close();
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw;
    }
    out.flush();
    ok = out.good();
  }
  std::error_code ec;
  if (!ok) {
    std::filesystem::remove(tmp, ec);
    LETHE_CHECK(false, path << ": write failed (disk full?)");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    std::filesystem::remove(tmp, ec);
    LETHE_CHECK(false, path << ": cannot rename " << tmp << " into place: " << why);
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

}  // namespace lethe::formats
