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

}  // namespace lethe::cpu::detail
