// Selection kernels on CUDA: per-row top-k (evaluation top-50, similarity-graph top-10) and masked fills
// through a CSR pattern (hide each user's training items before ranking).
//
// Top-k: one warp per row. Each lane scans columns lane, lane+32, ... and keeps its own best-k list sorted
// (in local memory); then the warp merges the 32 sorted lists with k rounds of a shuffle arg-max. The order
// is strict and total: larger value first, NaN above everything (as torch.topk), equal values by lower
// column index. k > 64 runs in passes of 64, each pass taking the best elements strictly after the last
// one already selected in that order, so any k <= cols works without a second algorithm.
#include <cmath>

#include "engine/cuda/common.cuh"
#include "engine/error.h"

namespace lethe::cuda {
namespace {

constexpr int kTopkWarps = 4;  // rows per block
constexpr int kTopkThreads = kTopkWarps * 32;
constexpr int kMaxK = 64;  // per-pass list length

// True when (a, ia) ranks before (b, ib).
template <class T>
__device__ __forceinline__ bool ranks_before(T a, int64_t ia, T b, int64_t ib) {
  const bool an = isnan(a), bn = isnan(b);
  if (an != bn) return an;
  if (!an && a != b) return a > b;
  return ia < ib;
}

// One pass: the best `kk` elements of each row that rank after the element at output column j0 - 1
// (all elements when j0 == 0), written to output columns [j0, j0 + kk). kk <= K.
template <class T, class I, int K>
__global__ void __launch_bounds__(kTopkThreads)
    topk_pass_kernel(const T* a, int64_t rows, int64_t cols, int64_t k_total, int64_t j0, int kk, T* values,
                     I* indices) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kTopkWarps + threadIdx.x / kWarp;
  if (r >= rows) return;
  const int lane = threadIdx.x % kWarp;
  const T* ar = a + r * cols;
  T* vr = values + r * k_total;
  I* ir = indices + r * k_total;

  const bool have_floor = j0 > 0;
  const T floor_v = have_floor ? vr[j0 - 1] : T(0);
  const int64_t floor_i = have_floor ? static_cast<int64_t>(ir[j0 - 1]) : -1;

  // This lane's best elements, best first.
  T lv[K];
  int64_t li[K];
  int cnt = 0;
  for (int64_t c = lane; c < cols; c += kWarp) {
    const T x = ar[c];
    if (have_floor && !ranks_before(floor_v, floor_i, x, c)) continue;  // already selected
    if (cnt == kk && !ranks_before(x, c, lv[kk - 1], li[kk - 1])) continue;
    int pos = cnt < kk ? cnt++ : kk - 1;  // the slot freed (or the worst element, dropped)
    while (pos > 0 && ranks_before(x, c, lv[pos - 1], li[pos - 1])) {
      lv[pos] = lv[pos - 1];
      li[pos] = li[pos - 1];
      --pos;
    }
    lv[pos] = x;
    li[pos] = c;
  }

  // Merge: each round the lane whose head ranks first emits it and advances.
  int head = 0;
  for (int j = 0; j < kk; ++j) {
    int valid = head < cnt;
    T bv = valid ? lv[head] : T(0);
    long long bi = valid ? li[head] : INT64_MAX;
    int blane = lane;
    for (int o = kWarp / 2; o > 0; o >>= 1) {
      const int ov = __shfl_xor_sync(0xffffffffu, valid, o);
      const T obv = __shfl_xor_sync(0xffffffffu, bv, o);
      const long long obi = __shfl_xor_sync(0xffffffffu, bi, o);
      const int ol = __shfl_xor_sync(0xffffffffu, blane, o);
      if (ov && (!valid || ranks_before(obv, obi, bv, bi))) {
        valid = 1;
        bv = obv;
        bi = obi;
        blane = ol;
      }
    }
    if (!valid) break;  // fewer than kk candidates remain (cannot happen when k <= cols)
    if (lane == blane) ++head;
    if (lane == 0) {
      vr[j0 + j] = bv;
      ir[j0 + j] = static_cast<I>(bi);
    }
  }
}

template <class T, class I>
void topk_launch(const Tensor& a, int64_t k, Tensor& values, Tensor& indices) {
  const int64_t rows = a.rows(), cols = a.cols();
  const unsigned grid = grid_rows(rows, kTopkWarps);
  for (int64_t j0 = 0; j0 < k; j0 += kMaxK) {
    const int kk = static_cast<int>(k - j0 < kMaxK ? k - j0 : kMaxK);
    // The smallest list that fits: short lists keep the insertion cheap for k = 10.
    if (kk <= 16)
      topk_pass_kernel<T, I, 16>
          <<<grid, kTopkThreads>>>(ptr<T>(a), rows, cols, k, j0, kk, ptr<T>(values), ptr<I>(indices));
    else if (kk <= 32)
      topk_pass_kernel<T, I, 32>
          <<<grid, kTopkThreads>>>(ptr<T>(a), rows, cols, k, j0, kk, ptr<T>(values), ptr<I>(indices));
    else
      topk_pass_kernel<T, I, 64>
          <<<grid, kTopkThreads>>>(ptr<T>(a), rows, cols, k, j0, kk, ptr<T>(values), ptr<I>(indices));
    LETHE_CUDA_LAUNCH_CHECK();
  }
}

// An index array of either width, read as int64.
struct IdxPtr {
  const void* p = nullptr;
  bool wide = false;
  __device__ __forceinline__ int64_t operator[](int64_t i) const {
    return wide ? static_cast<const int64_t*>(p)[i] : static_cast<int64_t>(static_cast<const int32_t*>(p)[i]);
  }
};
IdxPtr idx_ptr(const Tensor& t) {
  LETHE_ASSERT(t.dtype() == DType::I32 || t.dtype() == DType::I64,
               "cuda::masked_fill_csr_rows: index tensors must be I32 or I64, got " << dtype_name(t.dtype()));
  return {t.raw(), t.dtype() == DType::I64};
}

// One warp per row of `a`: a[r, cols[j]] = value over the pattern row's entries.
template <class T>
__global__ void masked_fill_kernel(T* a, int64_t rows, int64_t width, IdxPtr indptr, IdxPtr cols, IdxPtr prow,
                                   T value) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * 8 + threadIdx.x / kWarp;
  if (r >= rows) return;
  const int lane = threadIdx.x % kWarp;
  const int64_t pr = prow[r];
  const int64_t b = indptr[pr], e = indptr[pr + 1];
  T* ar = a + r * width;
  for (int64_t j = b + lane; j < e; j += kWarp) ar[cols[j]] = value;
}

}  // namespace

void topk_rows(const Tensor& a, int64_t k, Tensor& values, Tensor& indices) {
  NvtxRange range("cuda::topk_rows");
  if (a.rows() == 0 || k == 0) return;
  dispatch_float(a.dtype(), "topk_rows", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype(), "topk_rows", [&](auto itag) {
      using I = decltype(itag);
      topk_launch<T, I>(a, k, values, indices);
    });
  });
}

void masked_fill_csr_rows(Tensor& a, const Tensor& indptr, const Tensor& cols, const Tensor& rows,
                          double value) {
  const int64_t n = a.rows();
  if (n == 0 || !cols.defined() || cols.numel() == 0) return;  // an empty pattern masks nothing
  const IdxPtr ip = idx_ptr(indptr), cp = idx_ptr(cols), rp = idx_ptr(rows);
  dispatch_float(a.dtype(), "masked_fill_csr_rows", [&](auto tag) {
    using T = decltype(tag);
    masked_fill_kernel<T>
        <<<grid_rows(n, 8), 8 * kWarp>>>(ptr<T>(a), n, a.cols(), ip, cp, rp, static_cast<T>(value));
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

}  // namespace lethe::cuda
