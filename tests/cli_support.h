// Shared by the tests that run the `lethe` binary (tests/apps, tests/faults, tests/mpi): the binary under
// test, a shell command with its output captured, and reading back what a run left on disk.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace lethe::testing {

// The binary the CLI tests run: this build's, or the one named by LETHE_TEST_BIN (to check that a test
// fails against another build, e.g. one from before a fix).
inline std::string lethe_bin() {
  const char* env = std::getenv("LETHE_TEST_BIN");
  return env && *env ? std::string(env) : std::string(LETHE_BIN_PATH);
}

// Runs `cmd` through the shell; returns its exit status (-1 if it did not exit normally) and fills `out`
// with stdout + stderr.
inline int run_command(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// The bytes of a file ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file under `dir` (relative path -> bytes); empty when `dir` does not exist.
inline std::map<std::string, std::string> snapshot(const std::filesystem::path& dir) {
  std::map<std::string, std::string> m;
  if (!std::filesystem::exists(dir)) return m;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) m[std::filesystem::relative(e.path(), dir).string()] = slurp(e.path());
  return m;
}

// The number of non-empty lines of a text file.
inline int64_t lines_of(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string l;
  int64_t n = 0;
  while (std::getline(in, l))
    if (!l.empty()) ++n;
  return n;
}

}  // namespace lethe::testing
