// Dropout masks on CUDA from the counter-based Philox stream of engine/rng.h: element i is kept when
// philox_uniform(seed, offset, i) >= p and then holds 1/(1-p), else 0, exactly as the CPU twin, so the two
// devices draw bit-identical masks for the same (seed, offset).
#include "engine/cuda/common.cuh"
#include "engine/rng.h"

namespace lethe::cuda {
namespace {

template <class T>
__global__ void dropout_mask_kernel(double p, T keep, uint64_t seed, uint64_t offset, T* mask, int64_t n) {
  LETHE_KERNEL_LOOP(i, n) {
    const float u = philox_uniform(seed, offset, static_cast<uint64_t>(i));
    mask[i] = static_cast<double>(u) >= p ? keep : T(0);
  }
}

}  // namespace

void dropout_mask(double p, uint64_t seed, uint64_t offset, Tensor& mask) {
  const int64_t n = mask.numel();
  if (n == 0) return;
  dispatch_float(mask.dtype(), "dropout_mask", [&](auto tag) {
    using T = decltype(tag);
    const T keep = static_cast<T>(1.0 / (1.0 - p));  // computed in double on the host, like the CPU twin
    dropout_mask_kernel<T><<<grid_for(n), kThreads>>>(p, keep, seed, offset, ptr<T>(mask), n);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

}  // namespace lethe::cuda
