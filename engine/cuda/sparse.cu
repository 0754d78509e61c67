// Sparse x dense products on CUDA through cuSPARSE's generic API: Y = alpha op(A) X + beta Y with A in CSR
// (int32 indices) and X, Y row-major dense (CUSPARSE_ORDER_ROW). op(A) = A^T is done by an explicit
// transpose (cusparseCsr2cscEx2: the CSC arrays of A are the CSR arrays of A^T) followed by a plain SpMM,
// because cuSPARSE's transposed SpMM uses atomics and is neither deterministic nor fast. Workspaces come
// from the caching allocator; descriptors are cheap host objects, created per call.
#include <climits>

#include "engine/cuda/common.cuh"
#include "engine/error.h"

namespace lethe::cuda {
namespace {

cudaDataType cuda_dtype(DType t) {
  switch (t) {
    case DType::F32:
      return CUDA_R_32F;
    case DType::F64:
      return CUDA_R_64F;
    default:
      LETHE_ASSERT(false, "cuda::spmm: expected F32 or F64 values, got " << dtype_name(t));
  }
  return CUDA_R_32F;
}

// Descriptor owners: destroyed on every path, including exceptions.
struct SpMat {
  cusparseConstSpMatDescr_t d = nullptr;
  ~SpMat() {
    if (d) (void)cusparseDestroySpMat(d);  // destructor: cannot throw; only frees host memory
  }
};
struct DnMat {
  cusparseConstDnMatDescr_t d = nullptr;
  ~DnMat() {
    if (d) (void)cusparseDestroyDnMat(d);  // destructor: cannot throw; only frees host memory
  }
};
struct DnMatMut {
  cusparseDnMatDescr_t d = nullptr;
  ~DnMatMut() {
    if (d) (void)cusparseDestroyDnMat(d);  // destructor: cannot throw; only frees host memory
  }
};

// Y = alpha A X + beta Y for a CSR matrix A [rows, cols] given by raw device arrays.
void csr_spmm(int64_t rows, int64_t cols, int64_t nnz, const void* indptr, const void* indices,
              const void* vals, DType dt, const Tensor& x, Tensor& y, double alpha, double beta) {
  const cudaDataType vt = cuda_dtype(dt);
  const int64_t n = x.cols();
  cusparseHandle_t h = cusparse_handle();
  SpMat a;
  DnMat xd;
  DnMatMut yd;
  LETHE_CUSPARSE_CHECK(cusparseCreateConstCsr(&a.d, rows, cols, nnz, indptr, indices, vals,
                                              CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                                              CUSPARSE_INDEX_BASE_ZERO, vt));
  LETHE_CUSPARSE_CHECK(cusparseCreateConstDnMat(&xd.d, cols, n, n, x.raw(), vt, CUSPARSE_ORDER_ROW));
  LETHE_CUSPARSE_CHECK(cusparseCreateDnMat(&yd.d, rows, n, n, y.raw(), vt, CUSPARSE_ORDER_ROW));
  const float af = static_cast<float>(alpha), bf = static_cast<float>(beta);
  const void* al = dt == DType::F32 ? static_cast<const void*>(&af) : static_cast<const void*>(&alpha);
  const void* be = dt == DType::F32 ? static_cast<const void*>(&bf) : static_cast<const void*>(&beta);
  const auto op = CUSPARSE_OPERATION_NON_TRANSPOSE;
  // CSR_ALG2: the row-major algorithm with bit-wise deterministic results. If this cuSPARSE declines it for
  // some shape, fall back to its default choice (whose status is then checked).
  cusparseSpMMAlg_t alg = CUSPARSE_SPMM_CSR_ALG2;
  size_t ws = 0;
  cusparseStatus_t st = cusparseSpMM_bufferSize(h, op, op, al, a.d, xd.d, be, yd.d, vt, alg, &ws);
  if (st == CUSPARSE_STATUS_NOT_SUPPORTED || st == CUSPARSE_STATUS_INVALID_VALUE) {
    alg = CUSPARSE_SPMM_ALG_DEFAULT;
    LETHE_CUSPARSE_CHECK(cusparseSpMM_bufferSize(h, op, op, al, a.d, xd.d, be, yd.d, vt, alg, &ws));
  } else {
    LETHE_CUSPARSE_CHECK(st);
  }
  Scratch work(ws);
  LETHE_CUSPARSE_CHECK(cusparseSpMM(h, op, op, al, a.d, xd.d, be, yd.d, vt, alg, work.get()));
}

}  // namespace

void spmm(const Csr& a, bool trans_a, const Tensor& x, Tensor& y, double alpha, double beta) {
  NvtxRange range(trans_a ? "cuda::spmm_t" : "cuda::spmm");
  if (y.numel() == 0) return;
  const int64_t nnz = a.nnz();
  if (nnz == 0) {  // op(A) = 0: Y = beta Y (beta == 0 overwrites, so NaN garbage in Y does not survive)
    if (beta == 0.0)
      fill(y, 0.0);
    else if (beta != 1.0)
      scale(y, beta, y);
    return;
  }
  // Csr keeps I32 indices and fewer than 2^31 rows, columns and entries (engine/sparse.cpp checks on
  // building).
  LETHE_ASSERT(a.indptr.dtype() == DType::I32 && a.indices.dtype() == DType::I32,
               "cuda::spmm: CSR indices must be I32, got " << dtype_name(a.indptr.dtype()) << " / "
                                                           << dtype_name(a.indices.dtype()));
  LETHE_ASSERT(a.rows <= INT_MAX && a.cols <= INT_MAX && nnz <= INT_MAX,
               "cuda::spmm: matrix too large for int32 CSR (" << a.describe() << ")");
  const DType dt = a.dtype();
  if (!trans_a) {
    csr_spmm(a.rows, a.cols, nnz, a.indptr.raw(), a.indices.raw(), a.values.raw(), dt, x, y, alpha, beta);
    return;
  }
  // A^T in CSR = A in CSC.
  const cudaDataType vt = cuda_dtype(dt);
  Scratch t_ptr(sizeof(int) * (a.cols + 1)), t_idx(sizeof(int) * nnz), t_val(dtype_size(dt) * nnz);
  cusparseHandle_t h = cusparse_handle();
  const int m = static_cast<int>(a.rows), n = static_cast<int>(a.cols), z = static_cast<int>(nnz);
  size_t ws = 0;
  LETHE_CUSPARSE_CHECK(cusparseCsr2cscEx2_bufferSize(
      h, m, n, z, a.values.raw(), static_cast<const int*>(a.indptr.raw()),
      static_cast<const int*>(a.indices.raw()), t_val.get(), t_ptr.get<int>(), t_idx.get<int>(), vt,
      CUSPARSE_ACTION_NUMERIC, CUSPARSE_INDEX_BASE_ZERO, CUSPARSE_CSR2CSC_ALG1, &ws));
  Scratch work(ws);
  LETHE_CUSPARSE_CHECK(cusparseCsr2cscEx2(h, m, n, z, a.values.raw(), static_cast<const int*>(a.indptr.raw()),
                                          static_cast<const int*>(a.indices.raw()), t_val.get(),
                                          t_ptr.get<int>(), t_idx.get<int>(), vt, CUSPARSE_ACTION_NUMERIC,
                                          CUSPARSE_INDEX_BASE_ZERO, CUSPARSE_CSR2CSC_ALG1, work.get()));
  csr_spmm(a.cols, a.rows, nnz, t_ptr.get(), t_idx.get(), t_val.get(), dt, x, y, alpha, beta);
}

}  // namespace lethe::cuda
