// What built and ran this binary (build_info.h).
#include "engine/build_info.h"

#include <cblas.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "engine/cpu/pool.h"
#include "lethe_build_info.inc"  // LETHE_VERSION, LETHE_SOURCE_COMMIT: generated in the build tree (cmake/build_info.cmake)

namespace lethe {

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  size_t b = 0;
  while (b < s.size() && s[b] == ' ') ++b;
  return s.substr(b);
}

// The first "model name" of /proc/cpuinfo (x86 Linux), "unknown" elsewhere.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos) return trimmed(line.substr(colon + 1));
  }
  return "unknown";
}

}  // namespace

nlohmann::json build_record() {
  nlohmann::json j;
  j["lethe"] = LETHE_VERSION;
  j["commit"] = LETHE_SOURCE_COMMIT;
#if defined(__clang__)
  j["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  j["compiler"] = std::string("gcc ") + __VERSION__;
#else
  j["compiler"] = "unknown";
#endif
  j["blas"] = trimmed(openblas_get_config());
  j["blas_core"] = trimmed(openblas_get_corename());
  // Set by the user, or by lethe's restart onto the kernels this CPU supports (engine/cpu/info.h).
  if (const char* forced = std::getenv("OPENBLAS_CORETYPE")) j["openblas_coretype"] = forced;
  j["cpu"] = cpu_model();
  j["threads"] = cpu::detail::pool_threads();
  return j;
}

}  // namespace lethe
