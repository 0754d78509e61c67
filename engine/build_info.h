// What built and ran this binary, for run records (docs/training.md, "Provenance").
#pragma once

#include <nlohmann/json.hpp>

namespace lethe {

// {"lethe": version, "commit": git describe of the source tree at build time ("-dirty": uncommitted changes),
//  "compiler", "blas": OpenBLAS's configuration, "blas_core": the kernel set OpenBLAS chose for this CPU,
//  "cpu": the CPU model, "threads": Lethe's pool}. Float results follow the BLAS kernels, and OpenBLAS picks
// them per CPU, so the same seed can train to slightly different models on two machines; this says which.
nlohmann::json build_record();

}  // namespace lethe
