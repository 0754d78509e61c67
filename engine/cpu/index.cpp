// CPU row indexing and selection kernels: gather / scatter-add of rows (bounds-checked, deterministic
// with duplicate indices), column-block copies, Philox dropout masks, per-row top-k and CSR masked fill.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include <omp.h>

#include "engine/cpu/common.h"
#include "engine/rng.h"

namespace lethe::cpu {

using detail::kParallelMin;
using detail::with_any;
using detail::with_float;
using detail::with_index;

namespace {
// Throws when any index lies outside [0, n) (checked up front: no exceptions inside parallel regions).
template <class I>
void check_indices(const char* op, const I* idx, int64_t count, int64_t n) {
  for (int64_t i = 0; i < count; ++i) {
    LETHE_CHECK(idx[i] >= 0 && static_cast<int64_t>(idx[i]) < n,
                op << ": index " << static_cast<int64_t>(idx[i]) << " at position " << i << " out of range [0, "
                   << n << ")");
  }
}
}  // namespace

void gather_rows(const Tensor& src, const Tensor& idx, Tensor& out) {
  const int64_t n = src.rows();
  const size_t row_bytes = static_cast<size_t>(src.cols()) * dtype_size(src.dtype());
  const char* ps = static_cast<const char*>(src.raw());
  char* po = static_cast<char*>(out.raw());
  with_index(idx.dtype(), "gather_rows", [&](auto ti) {
    using I = decltype(ti);
    const I* pi = idx.data<I>();
    const int64_t count = idx.numel();
    check_indices("gather_rows", pi, count, n);
  // A batch gather is a few hundred KiB: threads only pay off for much larger copies.
#pragma omp parallel for if (count * static_cast<int64_t>(row_bytes) > (int64_t{8} << 20)) schedule(static)
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(po + i * row_bytes, ps + static_cast<int64_t>(pi[i]) * row_bytes, row_bytes);
  });
}

// Each thread owns a contiguous block of destination rows and applies, in index order, every update
// that lands there: no atomics, and the same result for any thread count.
void scatter_add_rows(Tensor& dst, const Tensor& idx, const Tensor& src) {
  const int64_t n = dst.rows(), cols = dst.cols();
  with_float(dst.dtype(), "scatter_add_rows", [&](auto tv) {
    using T = decltype(tv);
    T* pd = dst.data<T>();
    const T* ps = src.data<T>();
    with_index(idx.dtype(), "scatter_add_rows", [&](auto ti) {
      using I = decltype(ti);
      const I* pi = idx.data<I>();
      const int64_t count = idx.numel();
      check_indices("scatter_add_rows", pi, count, n);
#pragma omp parallel if (count * cols > (int64_t{1} << 21))
      {
        const int nt = omp_get_num_threads(), tid = omp_get_thread_num();
        const int64_t lo = n * tid / nt, hi = n * (tid + 1) / nt;
        for (int64_t i = 0; i < count; ++i) {
          const int64_t r = pi[i];
          if (r < lo || r >= hi) continue;
          T* d = pd + r * cols;
          const T* s = ps + i * cols;
#pragma omp simd
          for (int64_t c = 0; c < cols; ++c) d[c] += s[c];
        }
      }
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
#pragma omp parallel for if (rows * width > kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(pd + (r * dw + dst_col) * es, ps + (r * sw + src_col) * es, bytes);
}

// mask[i] = philox_uniform(seed, offset, i) >= p ? 1/(1-p) : 0 (the CUDA kernel uses the same formula);
// one Philox call yields the uniforms of four consecutive elements.
void dropout_mask(double p, uint64_t seed, uint64_t offset, Tensor& mask) {
  with_float(mask.dtype(), "dropout_mask", [&](auto t) {
    using T = decltype(t);
    T* pm = mask.data<T>();
    const int64_t n = mask.numel();
    const T keep = static_cast<T>(1.0 / (1.0 - p));
    const int64_t groups = (n + 3) / 4;
#pragma omp parallel for if (n > kParallelMin) schedule(static)
    for (int64_t g = 0; g < groups; ++g) {
      const Philox4 r = philox4x32(seed, offset + static_cast<uint64_t>(g), 0);
      const int64_t base = g * 4;
      for (int64_t l = 0; l < 4 && base + l < n; ++l) pm[base + l] = u01f(r.v[l]) >= p ? keep : T(0);
    }
  });
}

// Per row: a k-sized heap keeps the best elements seen so far ("better" = larger value, then lower
// index; NaN counts as the largest, like torch.topk); the survivors are sorted at the end.
void topk_rows(const Tensor& a, int64_t k, Tensor& values, Tensor& indices) {
  with_float(a.dtype(), "topk_rows", [&](auto t) {
    using T = decltype(t);
    const int64_t rows = a.rows(), cols = a.cols();
    const T* pa = a.data<T>();
    T* pv = values.data<T>();
    int32_t* pi = indices.data<int32_t>();
    using Item = std::pair<T, int32_t>;
    auto better = [](const Item& x, const Item& y) {
      const bool xn = std::isnan(x.first), yn = std::isnan(y.first);
      if (xn != yn) return xn;
      if (!xn && x.first != y.first) return x.first > y.first;
      return x.second < y.second;
    };
#pragma omp parallel if (rows * cols > kParallelMin)
    {
      std::vector<Item> heap;
      heap.reserve(static_cast<size_t>(k));
#pragma omp for schedule(dynamic, 16)
      for (int64_t r = 0; r < rows; ++r) {
        const T* row = pa + r * cols;
        heap.clear();
        // std heap with comparator `better` keeps the worst kept item at the front.
        for (int64_t c = 0; c < cols; ++c) {
          const Item it{row[c], static_cast<int32_t>(c)};
          if (static_cast<int64_t>(heap.size()) < k) {
            heap.push_back(it);
            std::push_heap(heap.begin(), heap.end(), better);
          } else if (k > 0 && better(it, heap.front())) {
            std::pop_heap(heap.begin(), heap.end(), better);
            heap.back() = it;
            std::push_heap(heap.begin(), heap.end(), better);
          }
        }
        std::sort(heap.begin(), heap.end(), better);
        for (int64_t j = 0; j < k; ++j) {
          pv[r * k + j] = heap[j].first;
          pi[r * k + j] = heap[j].second;
        }
      }
    }
  });
}

void masked_fill_csr_rows(Tensor& a, const Tensor& indptr, const Tensor& cols, const Tensor& rows,
                          int64_t row0, double value) {
  const int64_t n = a.rows(), m = a.cols();
  const int32_t* ip = indptr.data<int32_t>();
  const int32_t* ic = cols.data<int32_t>();
  const int64_t prows = indptr.numel() - 1;  // rows in the pattern
  const int64_t nnz = cols.numel();
  // Pattern row of each row of a, validated up front.
  std::vector<int64_t> prow(static_cast<size_t>(n));
  if (rows.defined()) {
    with_index(rows.dtype(), "masked_fill_csr_rows", [&](auto ti) {
      using I = decltype(ti);
      const I* pr = rows.data<I>();
      for (int64_t r = 0; r < n; ++r) prow[r] = static_cast<int64_t>(pr[r]);
    });
  } else {
    for (int64_t r = 0; r < n; ++r) prow[r] = row0 + r;
  }
  for (int64_t r = 0; r < n; ++r) {
    const int64_t p = prow[r];
    LETHE_CHECK(p >= 0 && p < prows, "masked_fill_csr: pattern row " << p << " out of range [0, " << prows << ")");
    LETHE_CHECK(ip[p] >= 0 && ip[p] <= ip[p + 1] && ip[p + 1] <= nnz,
                "masked_fill_csr: bad indptr at pattern row " << p);
    for (int32_t j = ip[p]; j < ip[p + 1]; ++j)
      LETHE_CHECK(ic[j] >= 0 && ic[j] < m,
                  "masked_fill_csr: column " << ic[j] << " out of range for " << m << " columns");
  }
  with_float(a.dtype(), "masked_fill_csr", [&](auto t) {
    using T = decltype(t);
    T* pa = a.data<T>();
    const T v = static_cast<T>(value);
#pragma omp parallel for if (n > 256) schedule(static)
    for (int64_t r = 0; r < n; ++r) {
      const int64_t p = prow[r];
      for (int32_t j = ip[p]; j < ip[p + 1]; ++j) pa[r * m + ic[j]] = v;
    }
  });
}

}  // namespace lethe::cpu
