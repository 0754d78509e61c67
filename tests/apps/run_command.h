// Shared by the CLI tests: runs a shell command and captures what it prints; the `lethe` binary under test.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
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

}  // namespace lethe::testing
