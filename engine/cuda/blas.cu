// GEMM on CUDA through cuBLAS. Tensors are row-major; cuBLAS is column-major. A row-major [r, c] buffer is
// the column-major [c, r] matrix X^T, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T: swap the
// operands, keep each one's transpose flag, and pass each row length as the leading dimension.
#include <climits>

#include "engine/cuda/common.cuh"
#include "engine/error.h"

namespace lethe::cuda {

void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha,
          double beta) {
  NvtxRange range("cuda::gemm");
  const int64_t m = trans_a ? a.cols() : a.rows();
  const int64_t k = trans_a ? a.rows() : a.cols();
  const int64_t n = trans_b ? b.rows() : b.cols();
  if (m == 0 || n == 0) return;
  LETHE_CHECK(
      m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && a.cols() <= INT_MAX && b.cols() <= INT_MAX,
      "cuda::gemm: dimensions beyond 2^31 are not supported (" << m << " x " << k << " x " << n << ")");
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  // Leading dimensions must be >= 1 even for empty operands.
  const int lda = static_cast<int>(a.cols() > 0 ? a.cols() : 1);
  const int ldb = static_cast<int>(b.cols() > 0 ? b.cols() : 1);
  const int ldc = static_cast<int>(n);
  cublasHandle_t h = cublas_handle();
  if (c.dtype() == DType::F32) {
    const float al = static_cast<float>(alpha), be = static_cast<float>(beta);
    LETHE_CUBLAS_CHECK(cublasSgemm(h, op_b, op_a, static_cast<int>(n), static_cast<int>(m),
                                   static_cast<int>(k), &al, ptr<float>(b), ldb, ptr<float>(a), lda, &be,
                                   ptr<float>(c), ldc));
  } else if (c.dtype() == DType::F64) {
    LETHE_CUBLAS_CHECK(cublasDgemm(h, op_b, op_a, static_cast<int>(n), static_cast<int>(m),
                                   static_cast<int>(k), &alpha, ptr<double>(b), ldb, ptr<double>(a), lda,
                                   &beta, ptr<double>(c), ldc));
  } else {
    LETHE_ASSERT(false, "cuda::gemm: expected F32 or F64, got " << dtype_name(c.dtype()));
  }
}

}  // namespace lethe::cuda
