// CPU sparse x dense product Y = alpha * op(A) X + beta * Y with A in CSR (the CUDA twin is
// engine/cuda/sparse.cu): blocks of output rows on the pool (claimed on demand: skewed degrees); A^T X by
// output-row ownership (no transpose, no atomics).
#include "engine/cpu/common.h"

namespace lethe::cpu {

using detail::dispatch_float;

namespace {

constexpr int32_t kAhead = 4;  // prefetch distance in non-zeros

template <class T>
void spmm_rows(int64_t rows, const int32_t* ip, const int32_t* ic, const T* av, const T* x, T* y, int64_t m,
               T alpha, T beta) {
  const int32_t nnz = ip[rows];
  // Blocks of 64 rows claimed on demand (skewed degrees: rows cost what their non-zeros cost).
  detail::parallel_blocks(
      rows, 64, static_cast<int64_t>(nnz) * m > (int64_t{1} << 16), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          T* yr = y + r * m;
          if (beta == T(0)) {
            for (int64_t c = 0; c < m; ++c) yr[c] = T(0);
          } else if (beta != T(1)) {
            for (int64_t c = 0; c < m; ++c) yr[c] *= beta;
          }
          const int32_t end = ip[r + 1];
          for (int32_t j = ip[r]; j < end; ++j) {
            if (j + kAhead <
                nnz) {  // X rows are read in random order: fetch a few entries ahead (across rows)
              const char* nx = reinterpret_cast<const char*>(x + static_cast<int64_t>(ic[j + kAhead]) * m);
              for (int64_t b = 0; b < m * static_cast<int64_t>(sizeof(T)); b += 64)
                __builtin_prefetch(nx + b);
            }
            const T w = alpha * av[j];
            const T* xr = x + static_cast<int64_t>(ic[j]) * m;
#pragma omp simd
            for (int64_t c = 0; c < m; ++c) yr[c] += w * xr[c];
          }
        }
      });
}

// Y = alpha A^T X + beta Y without materialising A^T: each thread owns a contiguous block of output rows
// (columns of A), scans all of A and applies the entries that land in its block, in row order. No atomics;
// every output row sums its terms in ascending order of A's row, whatever the thread count.
template <class T>
void spmm_trans(int64_t rows, int64_t cols, const int32_t* ip, const int32_t* ic, const T* av, const T* x,
                T* y, int64_t m, T alpha, T beta) {
  detail::parallel_parts(static_cast<int64_t>(ip[rows]) * m > (int64_t{1} << 16), [&](int part, int parts) {
    const int64_t lo = cols * part / parts, hi = cols * (part + 1) / parts;
    for (int64_t c = lo; c < hi; ++c) {
      T* yc = y + c * m;
      if (beta == T(0)) {
        for (int64_t k = 0; k < m; ++k) yc[k] = T(0);
      } else if (beta != T(1)) {
        for (int64_t k = 0; k < m; ++k) yc[k] *= beta;
      }
    }
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = x + r * m;
      for (int32_t j = ip[r]; j < ip[r + 1]; ++j) {
        const int64_t c = ic[j];
        if (c < lo || c >= hi) continue;
        const T w = alpha * av[j];
        T* yc = y + c * m;
#pragma omp simd
        for (int64_t k = 0; k < m; ++k) yc[k] += w * xr[k];
      }
    }
  });
}

}  // namespace

void spmm(const Csr& a, bool trans_a, const Tensor& x, Tensor& y, double alpha, double beta) {
  dispatch_float(a.dtype(), "spmm", [&](auto t) {
    using T = decltype(t);
    const int64_t m = x.cols();
    const int32_t* ip = a.indptr.data<int32_t>();
    const int32_t* ic = a.indices.data<int32_t>();
    const T* av = a.values.data<T>();
    if (!trans_a) {
      spmm_rows<T>(a.rows, ip, ic, av, x.data<T>(), y.data<T>(), m, static_cast<T>(alpha),
                   static_cast<T>(beta));
      return;
    }
    spmm_trans<T>(a.rows, a.cols, ip, ic, av, x.data<T>(), y.data<T>(), m, static_cast<T>(alpha),
                  static_cast<T>(beta));
  });
}

}  // namespace lethe::cpu
