// Device memory for the CUDA backend: a caching allocator (size-bucketed free lists, cudaMalloc only on a
// miss), host<->device copies, the device query, and the process-wide cuBLAS / cuSPARSE handles.
//
// Blocks are rounded (512 B below 1 MiB, 2 MiB above) and kept per (device, rounded size) when freed, so the
// steady-state training step allocates nothing from the driver. Frees never call CUDA (they only park the
// block), which keeps Storage destructors noexcept-safe and lets tensors die after CUDA's static teardown.
// Reuse is safe without events because every kernel and copy runs on the legacy default stream.
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/cuda/common.cuh"
#include "engine/error.h"

namespace lethe::cuda {
namespace {

size_t round_size(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t{2} << 20, kSplit = size_t{1} << 20;
  if (bytes < kSplit) return (bytes + kSmall - 1) / kSmall * kSmall;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

struct Pool {
  std::mutex mu;
  // Key: (device << 48) | rounded size. Sizes above 2^48 bytes do not exist on any GPU.
  std::unordered_map<uint64_t, std::vector<void*>> free_lists;
  std::unordered_map<void*, std::pair<int, size_t>> live;  // ptr -> (device, rounded size)
  AllocStats stats;
};

// Leaked on purpose: tensors held in statics may be freed after every other static is gone.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

uint64_t key_of(int device, size_t rounded) { return (static_cast<uint64_t>(device) << 48) | rounded; }

// Makes `device` current for the lifetime of the guard.
struct DeviceGuard {
  int prev = -1;
  explicit DeviceGuard(int device) {
    LETHE_CUDA_CHECK(cudaGetDevice(&prev));
    if (prev != device)
      LETHE_CUDA_CHECK(cudaSetDevice(device));
    else
      prev = -1;
  }
  ~DeviceGuard() {
    // A destructor cannot throw: best effort, and the next checked call reports any failure.
    if (prev >= 0) (void)cudaSetDevice(prev);
  }
};

// Returns every cached block of `device` to the driver (used when cudaMalloc runs out of memory).
void release_cached_locked(Pool& p, int device) {
  for (auto it = p.free_lists.begin(); it != p.free_lists.end();) {
    if (static_cast<int>(it->first >> 48) != device) {
      ++it;
      continue;
    }
    for (void* q : it->second) {
      LETHE_CUDA_CHECK(cudaFree(q));
      p.stats.cached -= it->first & ((uint64_t{1} << 48) - 1);
    }
    it = p.free_lists.erase(it);
  }
}

}  // namespace

void* device_alloc(size_t bytes, int device) {
  if (bytes == 0) return nullptr;
  const size_t rounded = round_size(bytes);
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  void* ptr = nullptr;
  auto it = p.free_lists.find(key_of(device, rounded));
  if (it != p.free_lists.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
    p.stats.cached -= rounded;
  } else {
    DeviceGuard guard(device);
    cudaError_t e = cudaMalloc(&ptr, rounded);
    if (e == cudaErrorMemoryAllocation) {  // give the cache back to the driver and try once more
      (void)cudaGetLastError();            // clears the (non-sticky) allocation error we just handled
      release_cached_locked(p, device);
      e = cudaMalloc(&ptr, rounded);
    }
    if (e != cudaSuccess) {
      (void)cudaGetLastError();  // reported just below, with the sizes
      LETHE_CHECK(false, "cuda::device_alloc: cudaMalloc of "
                             << rounded << " bytes on cuda:" << device << " failed: " << cudaGetErrorString(e)
                             << " (in use " << p.stats.in_use << " B, cached " << p.stats.cached << " B)");
    }
  }
  p.live[ptr] = {device, rounded};
  p.stats.in_use += rounded;
  if (p.stats.in_use > p.stats.peak) p.stats.peak = p.stats.in_use;
  return ptr;
}

void device_free(void* ptr, int device) {
  if (!ptr) return;
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  auto it = p.live.find(ptr);
  if (it == p.live.end()) return;  // not ours (never happens); ignore rather than throw from a destructor
  const auto [dev, rounded] = it->second;
  p.live.erase(it);
  p.stats.in_use -= rounded;
  p.stats.cached += rounded;
  p.free_lists[key_of(dev, rounded)].push_back(ptr);
}

AllocStats alloc_stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  return p.stats;
}

// Host -> device and device -> host copies are synchronous (pageable host memory); device -> device is
// queued on the default stream after the kernels that produced the source.
void memcpy_h2d(void* dst, const void* src, size_t bytes) {
  if (bytes) LETHE_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
void memcpy_d2h(void* dst, const void* src, size_t bytes) {
  if (bytes) LETHE_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
void memcpy_d2d(void* dst, const void* src, size_t bytes) {
  if (bytes) LETHE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0));
}

// 0 when there is no driver, no device, or the driver is too old: "no CUDA" is not an error.
int device_count() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // "no device" is an answer here, not an error: clear it
    return 0;
  }
  return n;
}

void synchronize() { LETHE_CUDA_CHECK(cudaDeviceSynchronize()); }

cublasHandle_t cublas_handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t x = nullptr;
    LETHE_CUBLAS_CHECK(cublasCreate(&x));
    LETHE_CUBLAS_CHECK(cublasSetStream(x, 0));
    // Full FP32 (no TF32) so that results match the CPU twin to ~1e-5.
    LETHE_CUBLAS_CHECK(cublasSetMathMode(x, CUBLAS_DEFAULT_MATH));
    return x;
  }();
  return h;
}

cusparseHandle_t cusparse_handle() {
  static cusparseHandle_t h = [] {
    cusparseHandle_t x = nullptr;
    LETHE_CUSPARSE_CHECK(cusparseCreate(&x));
    LETHE_CUSPARSE_CHECK(cusparseSetStream(x, 0));
    return x;
  }();
  return h;
}

int sm_count() {
  static int n = [] {
    int dev = 0, sms = 0;
    LETHE_CUDA_CHECK(cudaGetDevice(&dev));
    LETHE_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    return sms;
  }();
  return n;
}

}  // namespace lethe::cuda
