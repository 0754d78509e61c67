// The two backends, declared from one list (engine/backend_api.inc) so that they stay in step.
// CPU: engine/cpu/*.cpp (OpenBLAS + OpenMP). CUDA: engine/cuda/*.cu (cuBLAS, cuSPARSE, own kernels),
// compiled when LETHE_WITH_CUDA is defined.
#pragma once

#include "engine/sparse.h"
#include "engine/tensor.h"
#include "engine/unary.h"

#define LETHE_KERNEL(ret, name, params) ret name params;

namespace lethe::cpu {
#include "engine/backend_api.inc"
}  // namespace lethe::cpu

namespace lethe::cuda {
#include "engine/backend_api.inc"
// Device memory (caching allocator) and copies, used by Storage and copy_bytes.
void* device_alloc(size_t bytes, int device);
void device_free(void* ptr, int device);
void memcpy_h2d(void* dst, const void* src, size_t bytes);
void memcpy_d2h(void* dst, const void* src, size_t bytes);
void memcpy_d2d(void* dst, const void* src, size_t bytes);
int device_count();
void synchronize();
// Allocator statistics: bytes in use, bytes cached, high-water mark.
struct AllocStats {
  size_t in_use = 0, cached = 0, peak = 0;
};
AllocStats alloc_stats();
}  // namespace lethe::cuda

#undef LETHE_KERNEL
