// CPU reductions (the CUDA twin is engine/cuda/reduce.cu): sums (double accumulators, fixed chunks so
// results do not depend on the thread count) and row dots.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/cpu/common.h"

namespace lethe::cpu {

using detail::dispatch_float;
using detail::kParallelMin;

namespace {

constexpr int64_t kChunk = 8192;    // elements per partial sum (fixed: determinism)
constexpr int64_t kRowChunk = 512;  // rows per partial column sum

// Sum of f(p[i]) over n elements, as fixed-size chunk partials added in order.
template <class T, class F>
double chunked_sum(const T* p, int64_t n, F f) {
  const int64_t nchunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<size_t>(nchunks), 0.0);
  detail::parallel_blocks(nchunks, 1, n >= kParallelMin, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t lo = c * kChunk, hi = std::min(n, lo + kChunk);
      double s = 0.0;
      for (int64_t i = lo; i < hi; ++i) s += f(static_cast<double>(p[i]));
      part[c] = s;
    }
  });
  double s = 0.0;
  for (double v : part) s += v;
  return s;
}

}  // namespace

void sum(const Tensor& a, Tensor& out) {
  dispatch_float(a.dtype(), "sum", [&](auto t) {
    using T = decltype(t);
    out.data<T>()[0] = static_cast<T>(chunked_sum(a.data<T>(), a.numel(), [](double v) { return v; }));
  });
}

void sumsq(const Tensor& a, Tensor& out) {
  dispatch_float(a.dtype(), "sumsq", [&](auto t) {
    using T = decltype(t);
    out.data<T>()[0] = static_cast<T>(chunked_sum(a.data<T>(), a.numel(), [](double v) { return v * v; }));
  });
}

void sum_cols(const Tensor& a, Tensor& out) {
  dispatch_float(a.dtype(), "sum_cols", [&](auto t) {
    using T = decltype(t);
    const int64_t rows = a.rows(), cols = a.cols();
    const T* p = a.data<T>();
    const int64_t nchunks = (rows + kRowChunk - 1) / kRowChunk;
    std::vector<double> part(static_cast<size_t>(std::max<int64_t>(nchunks, 1) * cols), 0.0);
    detail::parallel_blocks(nchunks, 1, a.numel() >= kParallelMin, [&](int64_t ch0, int64_t ch1) {
      for (int64_t ch = ch0; ch < ch1; ++ch) {
        double* acc = part.data() + ch * cols;
        const int64_t lo = ch * kRowChunk, hi = std::min(rows, lo + kRowChunk);
        for (int64_t r = lo; r < hi; ++r)
          for (int64_t c = 0; c < cols; ++c) acc[c] += p[r * cols + c];
      }
    });
    T* o = out.data<T>();
    for (int64_t c = 0; c < cols; ++c) {
      double s = 0.0;
      for (int64_t ch = 0; ch < nchunks; ++ch) s += part[ch * cols + c];
      o[c] = static_cast<T>(s);
    }
  });
}

void rowdot(const Tensor& a, const Tensor& b, Tensor& out) {
  dispatch_float(a.dtype(), "rowdot", [&](auto t) {
    using T = decltype(t);
    const int64_t rows = a.rows(), cols = a.cols();
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* o = out.data<T>();
    detail::parallel_rows(rows, cols, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        double s = 0.0;
        for (int64_t c = 0; c < cols; ++c) s += static_cast<double>(pa[r * cols + c]) * pb[r * cols + c];
        o[r] = static_cast<T>(s);
      }
    });
  });
}

}  // namespace lethe::cpu
