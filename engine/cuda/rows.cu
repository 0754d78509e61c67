// Row-oriented kernels on CUDA: gather / scatter-add of rows by index (embedding lookups and their
// backward), row L2-normalisation, row softmax, row log-sum-exp and column-block copies (concat / slice).
// The row-wise normalisations use one warp per row; gather/scatter are flat grid-stride loops over the
// output. Scatter-add uses atomicAdd, so with duplicate indices the F32 sum order (and last bits) can vary.
#include <cmath>

#include "engine/cuda/common.cuh"

namespace lethe::cuda {
namespace {

constexpr int kRowWarps = 8;

template <class T, class I>
__global__ void gather_kernel(const T* src, const I* idx, T* out, int64_t n, int64_t cols) {
  LETHE_KERNEL_LOOP(i, n) {
    const int64_t r = row_of(i, cols), c = i - r * cols;
    out[i] = src[static_cast<int64_t>(idx[r]) * cols + c];
  }
}

template <class T, class I>
__global__ void scatter_add_kernel(T* dst, const I* idx, const T* src, int64_t n, int64_t cols) {
  LETHE_KERNEL_LOOP(i, n) {
    const int64_t r = row_of(i, cols), c = i - r * cols;
    atomicAdd(dst + static_cast<int64_t>(idx[r]) * cols + c, src[i]);
  }
}

// y[r] = x[r] / max(||x[r]||, eps); norms[r] = max(||x[r]||, eps) (norms may be null).
template <class T>
__global__ void l2norm_kernel(const T* x, double eps, T* y, T* norms, int64_t rows, int64_t cols) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / kWarp;
  if (r >= rows) return;
  const int lane = threadIdx.x % kWarp;
  const T* xr = x + r * cols;
  double ss = 0;
  for (int64_t c = lane; c < cols; c += kWarp) ss += static_cast<double>(xr[c]) * static_cast<double>(xr[c]);
  ss = warp_sum(ss);
  const T norm = static_cast<T>(fmax(sqrt(ss), eps));
  T* yr = y + r * cols;
  for (int64_t c = lane; c < cols; c += kWarp) yr[c] = xr[c] / norm;
  if (norms && lane == 0) norms[r] = norm;
}

// Row maximum and sum of exp(x - max) over the row, computed by one warp.
template <class T>
__device__ __forceinline__ void row_max_sumexp(const T* xr, int64_t cols, int lane, T& mx, double& se) {
  T m = -INFINITY;
  for (int64_t c = lane; c < cols; c += kWarp) m = max(m, xr[c]);
  mx = warp_max(m);
  double s = 0;
  if (mx != T(-INFINITY))
    for (int64_t c = lane; c < cols; c += kWarp) s += static_cast<double>(exp(xr[c] - mx));
  se = warp_sum(s);
}

template <class T>
__global__ void softmax_kernel(const T* x, T* y, int64_t rows, int64_t cols) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / kWarp;
  if (r >= rows) return;
  const int lane = threadIdx.x % kWarp;
  const T* xr = x + r * cols;
  T mx;
  double se;
  row_max_sumexp(xr, cols, lane, mx, se);
  const T inv = static_cast<T>(1.0 / se);  // an all -inf row gives 1/0 * 0 = NaN, as torch does
  T* yr = y + r * cols;
  for (int64_t c = lane; c < cols; c += kWarp) yr[c] = exp(xr[c] - mx) * inv;
}

template <class T>
__global__ void logsumexp_kernel(const T* x, T* out, int64_t rows, int64_t cols) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / kWarp;
  if (r >= rows) return;
  const int lane = threadIdx.x % kWarp;
  T mx;
  double se;
  row_max_sumexp(x + r * cols, cols, lane, mx, se);
  // An all -inf row: log(sum) = -inf, as torch.logsumexp returns.
  if (lane == 0) out[r] = mx == T(-INFINITY) ? mx : static_cast<T>(static_cast<double>(mx) + log(se));
}

}  // namespace

void gather_rows(const Tensor& src, const Tensor& idx, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const int64_t cols = src.cols();
  dispatch_float(src.dtype(), "gather_rows", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(idx.dtype(), "gather_rows", [&](auto itag) {
      using I = decltype(itag);
      gather_kernel<T, I><<<grid_for(n), kThreads>>>(ptr<T>(src), ptr<I>(idx), ptr<T>(out), n, cols);
      LETHE_CUDA_LAUNCH_CHECK();
    });
  });
}

void scatter_add_rows(Tensor& dst, const Tensor& idx, const Tensor& src) {
  const int64_t n = src.numel();
  if (n == 0) return;
  const int64_t cols = dst.cols();
  dispatch_float(dst.dtype(), "scatter_add_rows", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(idx.dtype(), "scatter_add_rows", [&](auto itag) {
      using I = decltype(itag);
      scatter_add_kernel<T, I><<<grid_for(n), kThreads>>>(ptr<T>(dst), ptr<I>(idx), ptr<T>(src), n, cols);
      LETHE_CUDA_LAUNCH_CHECK();
    });
  });
}

void l2norm_rows(const Tensor& x, double eps, Tensor& y, Tensor& norms) {
  const int64_t rows = x.rows(), cols = x.cols();
  if (rows == 0) return;
  dispatch_float(x.dtype(), "l2norm_rows", [&](auto tag) {
    using T = decltype(tag);
    l2norm_kernel<T><<<grid_rows(rows, kRowWarps), kRowWarps * kWarp>>>(
        ptr<T>(x), eps, ptr<T>(y), norms.defined() ? ptr<T>(norms) : nullptr, rows, cols);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

void softmax_rows(const Tensor& x, Tensor& y) {
  const int64_t rows = x.rows(), cols = x.cols();
  if (rows == 0 || cols == 0) return;
  dispatch_float(x.dtype(), "softmax_rows", [&](auto tag) {
    using T = decltype(tag);
    softmax_kernel<T><<<grid_rows(rows, kRowWarps), kRowWarps * kWarp>>>(ptr<T>(x), ptr<T>(y), rows, cols);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

void logsumexp_rows(const Tensor& x, Tensor& out) {
  const int64_t rows = x.rows(), cols = x.cols();
  if (rows == 0) return;
  dispatch_float(x.dtype(), "logsumexp_rows", [&](auto tag) {
    using T = decltype(tag);
    logsumexp_kernel<T>
        <<<grid_rows(rows, kRowWarps), kRowWarps * kWarp>>>(ptr<T>(x), ptr<T>(out), rows, cols);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

// A strided 2-D copy: `rows` runs of `width` elements, one per row, on the default stream.
void copy_cols(const Tensor& src, int64_t src_col, Tensor& dst, int64_t dst_col, int64_t width) {
  const int64_t rows = src.rows();
  if (rows == 0 || width == 0) return;
  const size_t es = dtype_size(src.dtype());
  const char* s = static_cast<const char*>(src.raw()) + src_col * es;
  char* d = static_cast<char*>(dst.raw()) + dst_col * es;
  LETHE_CUDA_CHECK(cudaMemcpy2DAsync(d, dst.cols() * es, s, src.cols() * es, width * es, rows,
                                     cudaMemcpyDeviceToDevice, 0));
}

}  // namespace lethe::cuda
