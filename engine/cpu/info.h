// What the CPU backend runs on, for benchmark and log headers.
#pragma once

#include <string>

namespace lethe::cpu {

// The BLAS library (OpenBLAS configuration string and threading build) and the thread pool size.
std::string threading_summary();

}  // namespace lethe::cpu
