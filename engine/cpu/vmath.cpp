// The f32 loops of engine/cpu/vmath.h, with instruction-set clones on x86-64 (GCC target_clones: one body,
// compiled per target, dispatched once through an ifunc).
#include "engine/cpu/vmath.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LETHE_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LETHE_SIMD_CLONES
#endif

namespace lethe::cpu::detail {

LETHE_SIMD_CLONES void exp_f32(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = vexp(x[i]);
}

LETHE_SIMD_CLONES void exp_shift_f32(const float* x, float shift, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = vexp(x[i] - shift);
}

LETHE_SIMD_CLONES void sigmoid_f32(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = vsigmoid(x[i]);
}

LETHE_SIMD_CLONES void tanh_f32(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = vtanh(x[i]);
}

LETHE_SIMD_CLONES int64_t first_block_above(const float* x, int64_t from, int64_t n, float t) {
  int64_t c = from;
  for (; c + kScanBlock <= n; c += kScanBlock) {
    float m = x[c];
    int nan = 0;
    // (the max is exact in any order; NaN, which a max may drop or keep, is flagged on its own)
#pragma omp simd reduction(max : m) reduction(| : nan)
    for (int64_t j = 0; j < kScanBlock; ++j) {
      const float v = x[c + j];
      m = v > m ? v : m;
      nan |= v != v;
    }
    if (m > t || nan != 0) return c;
  }
  return c;
}

}  // namespace lethe::cpu::detail
