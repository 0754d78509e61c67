// CPU selection kernels (the CUDA twin is engine/cuda/select.cu): per-row top-k and CSR masked fill.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "engine/cpu/common.h"
#include "engine/error.h"

namespace lethe::cpu {

using detail::kParallelMin;
using detail::dispatch_float;
using detail::dispatch_index;

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

// Per row: a k-sized heap keeps the best elements seen so far ("better" = larger value, then lower
// index; NaN counts as the largest, like torch.topk); the survivors are sorted at the end.
void topk_rows(const Tensor& a, int64_t k, Tensor& values, Tensor& indices) {
  dispatch_float(a.dtype(), "topk_rows", [&](auto t) {
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
    // Blocks of 16 rows claimed on demand; each block keeps its own heap.
    detail::parallel_blocks(rows, 16, rows * cols > kParallelMin, [&](int64_t r0, int64_t r1) {
      std::vector<Item> heap;
      heap.reserve(static_cast<size_t>(k));
      for (int64_t r = r0; r < r1; ++r) {
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
    });
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
    dispatch_index(rows.dtype(), "masked_fill_csr_rows", [&](auto ti) {
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
  dispatch_float(a.dtype(), "masked_fill_csr", [&](auto t) {
    using T = decltype(t);
    T* pa = a.data<T>();
    const T v = static_cast<T>(value);
    detail::parallel_blocks(n, 64, n > 256, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t p = prow[r];
        for (int32_t j = ip[p]; j < ip[p + 1]; ++j) pa[r * m + ic[j]] = v;
      }
    });
  });
}

}  // namespace lethe::cpu
