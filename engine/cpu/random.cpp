// CPU random kernels (the CUDA twin is engine/cuda/random.cu): Philox dropout masks.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include <omp.h>

#include "engine/cpu/common.h"
#include "engine/error.h"
#include "engine/rng.h"

namespace lethe::cpu {

using detail::dispatch_float;
using detail::kParallelMin;

// mask[i] = philox_uniform(seed, offset, i) >= p ? 1/(1-p) : 0 (the CUDA kernel uses the same formula);
// one Philox call yields the uniforms of four consecutive elements.
void dropout_mask(double p, uint64_t seed, uint64_t offset, Tensor& mask) {
  dispatch_float(mask.dtype(), "dropout_mask", [&](auto t) {
    using T = decltype(t);
    T* pm = mask.data<T>();
    const int64_t n = mask.numel();
    const T keep = static_cast<T>(1.0 / (1.0 - p));
    const int64_t groups = (n + 3) / 4;
#pragma omp parallel for if (n > kParallelMin) schedule(static)
    for (int64_t g = 0; g < groups; ++g) {
      const Philox4 r = philox4x32(seed, offset + static_cast<uint64_t>(g), 0);
      const int64_t base = g * 4;
      for (int64_t l = 0; l < 4 && base + l < n; ++l) pm[base + l] = u01f(r.v[l]) >= p ? keep : T(0);
    }
  });
}

}  // namespace lethe::cpu
