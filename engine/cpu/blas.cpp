// CPU GEMM through OpenBLAS (row-major cblas_sgemm / cblas_dgemm); the CUDA twin is engine/cuda/blas.cu.
//
// One thread pool: a large GEMM is cut into fixed panels of C (row panels, or column panels when C is wide)
// that our pool's threads claim on demand (engine/cpu/pool.h), each panel one single-threaded BLAS call:
// OpenBLAS is held to one thread, so it never starts workers of its own that spin beside ours, and a GEMM
// slows in proportion to the capacity left when another process takes a core. Panel boundaries depend only
// on the shapes: every element of C is one single-threaded dot product over the whole of k, whatever the
// number of threads.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>
#include <type_traits>

#include "engine/cpu/common.h"
#include "engine/cpu/info.h"
#include "engine/cpu/pool.h"

namespace lethe::cpu {

namespace {

// openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP.
int blas_threading() {
  static const int kind = openblas_get_parallel();
  return kind;
}

// OpenBLAS runs single-threaded: our pool splits the work. The pthread build obeys openblas_set_num_threads
// (its workers then never wake); its OpenMP build also sets the calling thread's OpenMP thread count there,
// which is put back (and held at 1 around each call, OneOpenmpThread).
void single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] {
    const int omp_threads = omp_get_max_threads();
    openblas_set_num_threads(1);
    omp_set_num_threads(omp_threads);
  });
}

constexpr double kPanelFlops = 4e6;  // at least ~4 MFLOP per panel (a few tens of microseconds)
constexpr int64_t kMaxPanels = 16;   // enough blocks to balance two to eight threads

// Panel width along a dimension of `extent` (multiple of `align`), for a GEMM of `flops`: up to
// kMaxPanels panels of at least kPanelFlops each.
int64_t panel_size(int64_t extent, double flops, int64_t align) {
  const int64_t by_flops = static_cast<int64_t>(flops / kPanelFlops);
  const int64_t panels = std::clamp<int64_t>(std::min<int64_t>(by_flops, kMaxPanels), 1, kMaxPanels);
  int64_t size = (extent + panels - 1) / panels;
  size = (size + align - 1) / align * align;
  return std::max<int64_t>(size, 1);
}

// The OpenMP build of OpenBLAS ignores openblas_set_num_threads when it decides how many threads a call
// uses: it takes the calling thread's omp_get_max_threads() (and runs on one thread only inside an OpenMP
// parallel region, which our pool's threads are not). So the calling thread's OpenMP thread count is held
// at 1 for the duration of the call.
class OneOpenmpThread {
 public:
  OneOpenmpThread() : saved_(blas_threading() == 2 ? omp_get_max_threads() : 1) {
    if (saved_ != 1) omp_set_num_threads(1);
  }
  ~OneOpenmpThread() {
    if (saved_ != 1) omp_set_num_threads(saved_);
  }
  OneOpenmpThread(const OneOpenmpThread&) = delete;
  OneOpenmpThread& operator=(const OneOpenmpThread&) = delete;

 private:
  int saved_;
};

template <class T>
void blas_call(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
               int lda, const T* b, int ldb, T beta, T* c, int ldc) {
  const OneOpenmpThread one;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha,
                a, lda, b, ldb, beta, c, ldc);
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha,
                a, lda, b, ldb, beta, c, ldc);
  }
}

template <class T>
void gemm_panels(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int lda,
                 const T* b, int ldb, T beta, T* c, int ldc) {
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  single_threaded_blas();
  if (m >= n) {  // row panels of C: rows r0.. of op(A)
    const int64_t rows = panel_size(m, flops, 16);
    detail::parallel_blocks(m, rows, rows < m, [&](int64_t r0, int64_t r1) {
      const T* ap = trans_a ? a + r0 : a + r0 * lda;
      blas_call<T>(ta, tb, r1 - r0, n, k, alpha, ap, lda, b, ldb, beta, c + r0 * ldc, ldc);
    });
  } else {  // column panels of C: columns c0.. of op(B)
    const int64_t cols = panel_size(n, flops, 16);
    detail::parallel_blocks(n, cols, cols < n, [&](int64_t c0, int64_t c1) {
      const T* bp = trans_b ? b + c0 * ldb : b + c0;
      blas_call<T>(ta, tb, m, c1 - c0, k, alpha, a, lda, bp, ldb, beta, c + c0, ldc);
    });
  }
}

}  // namespace

void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha,
          double beta) {
  const int64_t m = c.dim(0), n = c.dim(1);
  const int64_t k = trans_a ? a.dim(0) : a.dim(1);
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0) {  // C = beta * C; BLAS is not called with an empty inner dimension
    if (beta == 0.0) {
      fill(c, 0.0);
    } else if (beta != 1.0) {
      scale(c, beta, c);
    }
    return;
  }
  const int lda = static_cast<int>(std::max<int64_t>(1, a.dim(1)));
  const int ldb = static_cast<int>(std::max<int64_t>(1, b.dim(1)));
  const int ldc = static_cast<int>(std::max<int64_t>(1, n));
  // OpenBLAS writes C without reading it when beta == 0, so an uninitialised C is fine.
  if (c.dtype() == DType::F32) {
    gemm_panels<float>(trans_a, trans_b, m, n, k, static_cast<float>(alpha), a.data<float>(), lda,
                       b.data<float>(), ldb, static_cast<float>(beta), c.data<float>(), ldc);
  } else {
    gemm_panels<double>(trans_a, trans_b, m, n, k, alpha, a.data<double>(), lda, b.data<double>(), ldb, beta,
                        c.data<double>(), ldc);
  }
}

namespace {
std::string without_trailing_spaces(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}
}  // namespace

std::string blas_config() { return without_trailing_spaces(openblas_get_config()); }
std::string blas_core() { return without_trailing_spaces(openblas_get_corename()); }

std::string threading_summary() {
  single_threaded_blas();
  const std::string cfg = blas_config();
  const int kind = blas_threading();
  const char* build = kind == 2 ? "OpenMP build" : kind == 1 ? "pthread build" : "sequential build";
  return cfg + " (" + build + ", held to 1 thread); " + std::to_string(detail::pool_threads()) +
         " threads (OMP_NUM_THREADS) in Lethe's pool run the kernels and the GEMM panels";
}

std::string blas_core_to_restart_with() {
#if defined(__x86_64__)
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return "";
  if (blas_core() != "Prescott") return "";
  // GCC's and clang's feature bits count AVX and AVX-512 only where the OS saves their registers (XCR0).
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

}  // namespace lethe::cpu
