// CPU GEMM through OpenBLAS (row-major cblas_sgemm / cblas_dgemm); the CUDA twin is engine/cuda/blas.cu.
#include <cblas.h>

#include <algorithm>

#include "engine/cpu/common.h"

namespace lethe::cpu {

void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha, double beta) {
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
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  // OpenBLAS writes C without reading it when beta == 0, so an uninitialised C is fine.
  if (c.dtype() == DType::F32) {
    cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                static_cast<float>(alpha), a.data<float>(), lda, b.data<float>(), ldb, static_cast<float>(beta),
                c.data<float>(), ldc);
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha,
                a.data<double>(), lda, b.data<double>(), ldb, beta, c.data<double>(), ldc);
  }
}

}  // namespace lethe::cpu
