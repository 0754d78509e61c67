// Shared plumbing for the CUDA backend (engine/cuda/*.cu): error-check macros that carry file and line,
// launch-size helpers, dtype dispatch, warp reductions, the lazily created cuBLAS/cuSPARSE handles and an
// optional NVTX range. Every kernel runs on the legacy default stream (stream 0), so work is ordered without
// events and the caching allocator can hand a freed block to the next op safely.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include <cstdint>
#include <string>

#include "engine/backend.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/tensor.h"

#if defined(LETHE_WITH_NVTX)
#include <nvtx3/nvToolsExt.h>
#endif

namespace lethe::cuda {

// ---- error checking --------------------------------------------------------------------------------
[[noreturn]] inline void fail(const char* file, int line, const char* what, const std::string& msg) {
  ::lethe::detail::throw_internal(file, line, std::string(what) + ": " + msg);
}

#define LETHE_CUDA_CHECK(expr)                                                                           \
  do {                                                                                                   \
    cudaError_t lethe_e_ = (expr);                                                                       \
    if (lethe_e_ != cudaSuccess)                                                                         \
      ::lethe::cuda::fail(__FILE__, __LINE__, #expr,                                                     \
                          std::string(cudaGetErrorName(lethe_e_)) + " " + cudaGetErrorString(lethe_e_)); \
  } while (0)

#define LETHE_CUBLAS_CHECK(expr)                                                       \
  do {                                                                                 \
    cublasStatus_t lethe_s_ = (expr);                                                  \
    if (lethe_s_ != CUBLAS_STATUS_SUCCESS)                                             \
      ::lethe::cuda::fail(__FILE__, __LINE__, #expr, cublasGetStatusString(lethe_s_)); \
  } while (0)

#define LETHE_CUSPARSE_CHECK(expr)                                                      \
  do {                                                                                  \
    cusparseStatus_t lethe_s_ = (expr);                                                 \
    if (lethe_s_ != CUSPARSE_STATUS_SUCCESS)                                            \
      ::lethe::cuda::fail(__FILE__, __LINE__, #expr, cusparseGetErrorString(lethe_s_)); \
  } while (0)

// After a <<<...>>> launch: reports bad configurations and earlier asynchronous faults at the call site.
#define LETHE_CUDA_LAUNCH_CHECK() LETHE_CUDA_CHECK(cudaGetLastError())

// ---- NVTX ------------------------------------------------------------------------------------------
// Names a host-side span (one backend call) in Nsight Systems; compiles to nothing without NVTX.
struct NvtxRange {
#if defined(LETHE_WITH_NVTX)
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  ~NvtxRange() { nvtxRangePop(); }
#else
  explicit NvtxRange(const char*) {}
#endif
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

// ---- handles (one per process, created on first use, never destroyed: they outlive static teardown) ----
cublasHandle_t cublas_handle();
cusparseHandle_t cusparse_handle();
int sm_count();  // multiprocessors of the current device (cached)

// ---- launch helpers --------------------------------------------------------------------------------
constexpr int kThreads = 256;
constexpr int kWarp = 32;

// Blocks for a grid-stride loop over n elements: enough to fill the GPU, never more than needed.
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t want = (n + threads - 1) / threads;
  int64_t cap = static_cast<int64_t>(sm_count()) * 32;
  if (want > cap) want = cap;
  return static_cast<unsigned>(want < 1 ? 1 : want);
}

// Blocks for one warp per row with `warps` warps per block.
inline unsigned grid_rows(int64_t rows, int warps) {
  int64_t b = (rows + warps - 1) / warps;
  if (b > 0x7fffffff) b = 0x7fffffff;
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

// Grid-stride loop index (64-bit so that tensors beyond 2^31 elements work).
#define LETHE_KERNEL_LOOP(i, n)                                                          \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

template <class T>
inline T* ptr(const Tensor& t) {
  return static_cast<T*>(t.raw());
}

// ---- dtype dispatch --------------------------------------------------------------------------------
// engine/ops.cpp has validated dtypes before a kernel runs: another dtype here is a bug (LETHE_ASSERT).
// f(T{}) with T = float or double according to `t`.
template <class F>
void dispatch_float(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::F32:
      f(float{});
      return;
    case DType::F64:
      f(double{});
      return;
    default:
      LETHE_ASSERT(false, "cuda::" << op << ": expected a floating dtype, got " << dtype_name(t));
  }
}
// f(I{}) with I = int32_t or int64_t.
template <class F>
void dispatch_index(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::I32:
      f(int32_t{});
      return;
    case DType::I64:
      f(int64_t{});
      return;
    default:
      LETHE_ASSERT(false, "cuda::" << op << ": expected an index dtype, got " << dtype_name(t));
  }
}
// f(T{}) for any of the four dtypes.
template <class F>
void dispatch_all(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::F32:
      f(float{});
      return;
    case DType::F64:
      f(double{});
      return;
    case DType::I32:
      f(int32_t{});
      return;
    case DType::I64:
      f(int64_t{});
      return;
  }
  LETHE_ASSERT(false, "cuda::" << op << ": unknown dtype");
}

// ---- device-side helpers ---------------------------------------------------------------------------
template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <class T>
__device__ __forceinline__ T warp_max(T v) {
  for (int o = kWarp / 2; o > 0; o >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Row of flat element i in a [*, cols] matrix. 64-bit division is a long software sequence on the GPU;
// the 32-bit one is a few instructions, and all Lethe tensors below 2^32 elements take that path.
__device__ __forceinline__ int64_t row_of(int64_t i, int64_t cols) {
  if (i <= 0xffffffffll && cols <= 0xffffffffll)
    return static_cast<int64_t>(static_cast<uint32_t>(i) / static_cast<uint32_t>(cols));
  return i / cols;
}

// Scratch device memory from the caching allocator, released (to the cache) at scope exit. Safe because
// all work is on one stream: a later op that reuses the block runs after the kernels that used it.
class Scratch {
 public:
  Scratch() = default;
  explicit Scratch(size_t bytes) : bytes_(bytes) {
    if (bytes_) {
      LETHE_CUDA_CHECK(cudaGetDevice(&dev_));
      ptr_ = device_alloc(bytes_, dev_);
    }
  }
  ~Scratch() {
    if (ptr_) device_free(ptr_, dev_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class T = void>
  T* get() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  int dev_ = 0;
};

}  // namespace lethe::cuda
