// What built and ran this binary (build_info.h).
#include "engine/build_info.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "engine/cpu/info.h"
#include "engine/cpu/pool.h"
#include "lethe_build_info.inc"  // LETHE_VERSION, LETHE_SOURCE_COMMIT: generated in the build tree (cmake/build_info.cmake)

namespace lethe {

namespace {

// s without the spaces around it.
std::string trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
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
  j["blas"] = cpu::blas_config();
  j["blas_core"] = cpu::blas_core();
  // Set by the user, or by lethe's restart onto the kernels this CPU supports (engine/cpu/info.h).
  if (const char* forced = std::getenv("OPENBLAS_CORETYPE")) j["openblas_coretype"] = forced;
  j["cpu"] = cpu_model();
  j["threads"] = cpu::detail::pool_threads();
  return j;
}

}  // namespace lethe
