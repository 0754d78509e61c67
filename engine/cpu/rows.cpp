// CPU row kernels (the CUDA twin is engine/cuda/rows.cu): gather / scatter-add of rows (bounds-checked,
// deterministic with duplicate indices), column-block copies, and row-wise L2 normalisation, softmax and
// log-sum-exp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/cpu/common.h"
#include "engine/cpu/vmath.h"
#include "engine/error.h"

namespace lethe::cpu {

using detail::dispatch_float;
using detail::dispatch_index;
using detail::kParallelMin;

namespace {
// Throws when any index lies outside [0, n) (checked up front: no exceptions inside parallel regions).
template <class I>
void check_indices(const char* op, const I* idx, int64_t count, int64_t n) {
  for (int64_t i = 0; i < count; ++i) {
    LETHE_CHECK(idx[i] >= 0 && static_cast<int64_t>(idx[i]) < n,
                op << ": index " << static_cast<int64_t>(idx[i]) << " at position " << i
                   << " out of range [0, " << n << ")");
  }
}
}  // namespace

void gather_rows(const Tensor& src, const Tensor& idx, Tensor& out) {
  const int64_t n = src.rows();
  const size_t row_bytes = static_cast<size_t>(src.cols()) * dtype_size(src.dtype());
  const char* ps = static_cast<const char*>(src.raw());
  char* po = static_cast<char*>(out.raw());
  dispatch_index(idx.dtype(), "gather_rows", [&](auto ti) {
    using I = decltype(ti);
    const I* pi = idx.data<I>();
    const int64_t count = idx.numel();
    check_indices("gather_rows", pi, count, n);
    // A batch gather is a few hundred KiB: threads only pay off for much larger copies (feature rows).
    const bool parallel = count * static_cast<int64_t>(row_bytes) > (int64_t{8} << 20);
    const int64_t grain =
        std::max<int64_t>(1, (int64_t{256} << 10) / static_cast<int64_t>(std::max<size_t>(row_bytes, 1)));
    detail::parallel_blocks(count, grain, parallel, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        std::memcpy(po + i * row_bytes, ps + static_cast<int64_t>(pi[i]) * row_bytes, row_bytes);
    });
  });
}

// Each part owns a contiguous block of destination rows and applies, in index order, every update that
// lands there: no atomics, and the same result for any thread count.
void scatter_add_rows(Tensor& dst, const Tensor& idx, const Tensor& src) {
  const int64_t n = dst.rows(), cols = dst.cols();
  dispatch_float(dst.dtype(), "scatter_add_rows", [&](auto tv) {
    using T = decltype(tv);
    T* pd = dst.data<T>();
    const T* ps = src.data<T>();
    dispatch_index(idx.dtype(), "scatter_add_rows", [&](auto ti) {
      using I = decltype(ti);
      const I* pi = idx.data<I>();
      const int64_t count = idx.numel();
      check_indices("scatter_add_rows", pi, count, n);
      detail::parallel_parts(count * cols > (int64_t{1} << 21), [&](int part, int parts) {
        const int64_t lo = n * part / parts, hi = n * (part + 1) / parts;
        for (int64_t i = 0; i < count; ++i) {
          const int64_t r = pi[i];
          if (r < lo || r >= hi) continue;
          T* d = pd + r * cols;
          const T* s = ps + i * cols;
#pragma omp simd
          for (int64_t c = 0; c < cols; ++c) d[c] += s[c];
        }
      });
    });
  });
}

void copy_cols(const Tensor& src, int64_t src_col, Tensor& dst, int64_t dst_col, int64_t width) {
  const int64_t rows = src.rows();
  const size_t es = dtype_size(src.dtype());
  const int64_t sw = src.cols(), dw = dst.cols();
  const char* ps = static_cast<const char*>(src.raw());
  char* pd = static_cast<char*>(dst.raw());
  const size_t bytes = static_cast<size_t>(width) * es;
  detail::parallel_rows(rows, width, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      std::memcpy(pd + (r * dw + dst_col) * es, ps + (r * sw + src_col) * es, bytes);
  });
}

void l2norm_rows(const Tensor& x, double eps, Tensor& y, Tensor& norms) {
  dispatch_float(x.dtype(), "l2norm_rows", [&](auto t) {
    using T = decltype(t);
    const int64_t rows = x.rows(), cols = x.cols();
    const T* px = x.data<T>();
    T* py = y.data<T>();
    T* pn = norms.data<T>();
    detail::parallel_rows(rows, cols, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* xr = px + r * cols;
        double s = 0.0;
        for (int64_t c = 0; c < cols; ++c) s += static_cast<double>(xr[c]) * xr[c];
        const T n = static_cast<T>(std::max(std::sqrt(s), eps));
        pn[r] = n;
        for (int64_t c = 0; c < cols; ++c) py[r * cols + c] = xr[c] / n;
      }
    });
  });
}

namespace {

constexpr int kLanes = 8;  // independent partial results per row (fixed: the same sums for any thread count)

// Largest element of a row, ignoring NaN (a NaN row still ends as NaN through the exponentials).
template <class T>
T row_max(const T* x, int64_t cols) {
  T mx = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : mx)
  for (int64_t c = 0; c < cols; ++c) mx = x[c] > mx ? x[c] : mx;
  return mx;
}

// e[c] = exp(x[c] - shift) (vectorised exp for f32; e may alias x); returns their sum in double, as
// kLanes partial sums (lane j takes the columns c = j mod kLanes) added in lane order.
template <class T>
double exp_shift_sum(const T* x, T shift, T* e, int64_t cols) {
  if constexpr (std::is_same_v<T, float>) {
    detail::exp_shift_f32(x, shift, e, cols);
  } else {
    for (int64_t c = 0; c < cols; ++c) e[c] = detail::vexp(static_cast<T>(x[c] - shift));
  }
  double acc[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= cols; c += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(e[c + j]);
  for (int j = 0; c < cols; ++c, ++j) acc[j] += static_cast<double>(e[c]);
  double s = 0.0;
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  return s;
}

// A per-thread row buffer of at least n elements.
template <class T>
T* scratch(int64_t n) {
  thread_local std::vector<T> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

}  // namespace

void softmax_rows(const Tensor& x, Tensor& y) {
  dispatch_float(x.dtype(), "softmax_rows", [&](auto t) {
    using T = decltype(t);
    const int64_t rows = x.rows(), cols = x.cols();
    const T* px = x.data<T>();
    T* py = y.data<T>();
    detail::parallel_rows(rows, cols, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* xr = px + r * cols;
        T* yr = py + r * cols;
        T mx = row_max(xr, cols);
        if (mx == -std::numeric_limits<T>::infinity()) mx = T(0);  // all -inf: avoid inf - inf
        const T inv = static_cast<T>(1.0 / exp_shift_sum(xr, mx, yr, cols));
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) yr[c] *= inv;
      }
    });
  });
}

void logsumexp_rows(const Tensor& x, Tensor& out) {
  dispatch_float(x.dtype(), "logsumexp_rows", [&](auto t) {
    using T = decltype(t);
    const int64_t rows = x.rows(), cols = x.cols();
    const T* px = x.data<T>();
    T* o = out.data<T>();
    detail::parallel_rows(rows, cols, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* xr = px + r * cols;
        const T mx = row_max(xr, cols);
        if (!std::isfinite(mx)) {  // all -inf (or +inf present): the max is the answer
          o[r] = mx;
          continue;
        }
        o[r] = static_cast<T>(mx + std::log(exp_shift_sum<T>(xr, mx, scratch<T>(cols), cols)));
      }
    });
  });
}

}  // namespace lethe::cpu
