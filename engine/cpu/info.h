// What the CPU backend runs on, for benchmark and log headers.
#pragma once

#include <string>

namespace lethe::cpu {

// The BLAS library (OpenBLAS configuration string and threading build) and the thread pool size.
std::string threading_summary();

// OpenBLAS's configuration string, and the name of the kernel set it runs on this CPU ("SkylakeX",
// "Prescott", ...), trailing spaces removed. The only places that ask OpenBLAS (run records, the restart).
std::string blas_config();
std::string blas_core();

// The OpenBLAS kernel set this CPU should get when OpenBLAS fell back to its generic one, else "".
// OpenBLAS (a DYNAMIC_ARCH build, as Debian's) picks its kernels by CPU model when it loads, and a model it
// does not know gets the generic Prescott (SSE3) kernels however wide the vector units are; it reads
// OPENBLAS_CORETYPE only at that load. So: "SkylakeX" where the CPU and the OS support AVX-512 (F, CD, BW,
// DQ, VL), "Haswell" where AVX2 and FMA, and "" when OpenBLAS chose a kernel set itself, when
// OPENBLAS_CORETYPE is set (the user's choice stands: OPENBLAS_CORETYPE=Prescott keeps the generic kernels)
// or off x86-64 (docs/architecture.md, "BLAS kernels").
std::string blas_core_to_restart_with();

}  // namespace lethe::cpu
