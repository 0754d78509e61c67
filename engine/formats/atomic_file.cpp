// Temporary name + rename (atomic_file.h).
#include "engine/formats/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "engine/error.h"

namespace fs = std::filesystem;

namespace lethe::formats {

namespace {

std::atomic<uint64_t> g_counter{0};

std::string temp_prefix(const std::string& name) { return "." + name + ".tmp-"; }

// True when the process `pid` is gone (its temporaries are leftovers).
bool process_gone(long pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH; }

// Removes ".<name>.tmp-<pid>-<n>" files beside `path` whose writer process no longer exists.
void remove_dead_temporaries(const fs::path& path) {
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const std::string prefix = temp_prefix(path.filename().string());
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.compare(0, prefix.size(), prefix) != 0) continue;
    const long pid = std::strtol(n.c_str() + prefix.size(), nullptr, 10);
    std::error_code ignored;
    if (process_gone(pid)) fs::remove(it->path(), ignored);
  }
}

}  // namespace

bool is_temporary_of(const std::string& name, const std::string& target_name) {
  const std::string prefix = temp_prefix(target_name);
  return name.compare(0, prefix.size(), prefix) == 0;
}

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const fs::path p(path);
  LETHE_CHECK(!p.filename().empty(), path << ": not a file name");
  remove_dead_temporaries(p);
  const std::string tmp = (p.parent_path() / (temp_prefix(p.filename().string()) +
                                              std::to_string(::getpid()) + "-" + std::to_string(g_counter++)))
                              .string();
  bool ok = false;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    LETHE_CHECK(out.good(), path << ": cannot create a file in "
                                 << (p.parent_path().empty() ? "." : p.parent_path().string())
                                 << " (missing directory or no permission)");
    try {
      write(out);
    } catch (...) {
      out.close();
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw;
    }
    out.flush();
    ok = out.good();
    out.close();
    ok = ok && out.good();
  }
  std::error_code ec;
  if (!ok) {
    fs::remove(tmp, ec);
    LETHE_CHECK(false, path << ": write failed (disk full or file size limit?); nothing was changed");
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    LETHE_CHECK(false, path << ": cannot rename the temporary file into place: " << why);
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(
      path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

void check_writable(const std::string& path) {
  const fs::path p(path);
  LETHE_CHECK(!p.filename().empty(), path << ": not a file name");
  std::error_code ec;
  LETHE_CHECK(!fs::is_directory(p, ec), path << ": is a directory, expected a file name");
  // The nearest existing ancestor must accept a new entry (a directory the write would create, or the file).
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  while (!fs::exists(dir, ec) && dir.has_parent_path() && dir.parent_path() != dir) dir = dir.parent_path();
  LETHE_CHECK(fs::is_directory(dir, ec), path << ": " << dir.string() << " is not a directory");
  const fs::path probe = dir / (temp_prefix(p.filename().string()) + std::to_string(::getpid()) + "-probe" +
                                std::to_string(g_counter++));
  {
    std::ofstream out(probe, std::ios::binary | std::ios::trunc);
    LETHE_CHECK(out.good(),
                path << ": cannot create files in " << dir.string() << " (no permission or read-only)");
  }
  fs::remove(probe, ec);
}

}  // namespace lethe::formats
