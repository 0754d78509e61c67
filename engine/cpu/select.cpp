// CPU selection kernels (the CUDA twin is engine/cuda/select.cu): per-row top-k and CSR masked fill.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
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

// Order: "better" = NaN first (as torch.topk), then larger value, then lower index; the k best of each row,
// sorted.
//
// Wide f32 rows (cols >= 16 k, e.g. a top 50 of 7,050 scores): a threshold t from a strided sample (every
// 16th element; its (2k/16 + 1)-th largest, so that about 2k elements of the row lie above it), then one
// vectorised pass collects the elements above t or NaN (vmath.h skips the blocks without any). When at least
// k are collected, the k best of the row are among them (every other element is <= t, below all of them) and
// an exact selection over the few candidates finishes the row; otherwise (an unlucky sample) the row takes
// the general path. General path: a k-sized heap keeps the best seen so far; once full, a later element
// enters only if it is above the worst kept value or NaN (an equal value has the higher index and loses).
// Both paths give the same result as a full sort.
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
    constexpr int64_t kStride = 16;
    const bool sampled = std::is_same_v<T, float> && k > 0 && cols >= kStride * k;
    // Blocks of 16 rows claimed on demand; each block keeps its own buffers.
    detail::parallel_blocks(rows, 16, rows * cols > kParallelMin, [&](int64_t r0, int64_t r1) {
      std::vector<Item> heap;
      heap.reserve(static_cast<size_t>(k));
      std::vector<T> sample;
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = pa + r * cols;
        heap.clear();
        if constexpr (std::is_same_v<T, float>) {
          if (sampled) {  // heap doubles as the candidate list here
            sample.clear();
            for (int64_t c = 0; c < cols; c += kStride)
              if (!std::isnan(row[c])) sample.push_back(row[c]);
            const int64_t rank = 2 * k / kStride + 1;
            if (static_cast<int64_t>(sample.size()) >= rank) {
              std::nth_element(sample.begin(), sample.begin() + (rank - 1), sample.end(), std::greater<T>());
              const T th = sample[static_cast<size_t>(rank - 1)];
              int64_t c = 0;
              while (c < cols) {
                c = detail::first_block_above(row, c, cols, th);
                const int64_t end = std::min(cols, c + detail::kScanBlock);
                for (; c < end; ++c)
                  if (!(row[c] <= th)) heap.push_back(Item{row[c], static_cast<int32_t>(c)});
              }
              if (static_cast<int64_t>(heap.size()) >= k) {
                std::partial_sort(heap.begin(), heap.begin() + k, heap.end(), better);
                for (int64_t j = 0; j < k; ++j) {
                  pv[r * k + j] = heap[static_cast<size_t>(j)].first;
                  pi[r * k + j] = heap[static_cast<size_t>(j)].second;
                }
                continue;
              }
              heap.clear();
            }
          }
        }
        // std heap with comparator `better` keeps the worst kept item at the front.
        int64_t c = 0;
        for (; c < cols && static_cast<int64_t>(heap.size()) < k; ++c) {
          heap.push_back(Item{row[c], static_cast<int32_t>(c)});
          std::push_heap(heap.begin(), heap.end(), better);
        }
        while (k > 0 && c < cols) {
          int64_t end = cols;
          if constexpr (std::is_same_v<T, float>) {
            c = detail::first_block_above(row, c, cols, heap.front().first);
            end = std::min(cols, c + detail::kScanBlock);
          }
          for (; c < end; ++c) {
            if (row[c] <= heap.front().first) continue;  // neither above the worst kept value nor NaN
            const Item it{row[c], static_cast<int32_t>(c)};
            if (better(it, heap.front())) {
              std::pop_heap(heap.begin(), heap.end(), better);
              heap.back() = it;
              std::push_heap(heap.begin(), heap.end(), better);
            }
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
                          double value) {
  const int64_t n = a.rows(), m = a.cols();
  const int32_t* ip = indptr.data<int32_t>();
  const int32_t* ic = cols.data<int32_t>();
  const int64_t prows = indptr.numel() - 1;  // rows in the pattern
  const int64_t nnz = cols.numel();
  // Pattern row of each row of a, validated up front.
  std::vector<int64_t> prow(static_cast<size_t>(n));
  dispatch_index(rows.dtype(), "masked_fill_csr_rows", [&](auto ti) {
    using I = decltype(ti);
    const I* pr = rows.data<I>();
    for (int64_t r = 0; r < n; ++r) prow[r] = static_cast<int64_t>(pr[r]);
  });
  for (int64_t r = 0; r < n; ++r) {
    const int64_t p = prow[r];
    LETHE_CHECK(p >= 0 && p < prows,
                "masked_fill_csr_rows: pattern row " << p << " out of range [0, " << prows << ")");
    LETHE_CHECK(ip[p] >= 0 && ip[p] <= ip[p + 1] && ip[p + 1] <= nnz,
                "masked_fill_csr_rows: bad indptr at pattern row " << p);
    for (int32_t j = ip[p]; j < ip[p + 1]; ++j)
      LETHE_CHECK(ic[j] >= 0 && ic[j] < m,
                  "masked_fill_csr_rows: column " << ic[j] << " out of range for " << m << " columns");
  }
  dispatch_float(a.dtype(), "masked_fill_csr_rows", [&](auto t) {
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
