// CSR sparse matrices (int32 indices, float values) and sparse x dense products.
//
// Built on the host from COO triplets (duplicates summed, columns sorted within each row), then moved to a
// device with `to`. SpMM multiplies by a row-major dense matrix: OpenMP over rows on CPU, cuSPARSE SpMM on
// CUDA.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace lethe {

struct Csr {
  int64_t rows = 0, cols = 0;
  Tensor indptr;   // I32 [rows + 1]
  Tensor indices;  // I32 [nnz]
  Tensor values;   // F32 (or F64 for gradient checks) [nnz]

  int64_t nnz() const { return indices.defined() ? indices.numel() : 0; }
  Device device() const { return indptr.defined() ? indptr.device() : Device::cpu(); }
  DType dtype() const { return values.defined() ? values.dtype() : DType::F32; }

  // COO -> CSR on the host; duplicate (row, col) entries are summed; column order sorted within rows.
  static Csr from_coo(int64_t rows, int64_t cols, const std::vector<int32_t>& r,
                      const std::vector<int32_t>& c, const std::vector<float>& v);
  // Dense (host) -> CSR keeping the non-zeros; for tests.
  static Csr from_dense(const Tensor& dense);

  Csr transpose() const;  // host and device (device: via the host)
  Csr to(Device dev) const;
  Csr astype(DType t) const;
  Tensor to_dense() const;           // [rows, cols], same device and dtype
  Tensor row_sums() const;           // [rows]
  Tensor col_sums() const;           // [cols]
  void scale_rows(const Tensor& s);  // A[r, :] *= s[r]   (in place)
  void scale_cols(const Tensor& s);  // A[:, c] *= s[c]   (in place)
  std::string describe() const;
};

namespace ops {
// Y = alpha * op(A) X + beta * Y, op(A) = A or A^T; X, Y row-major dense.
void spmm(const Csr& a, bool trans_a, const Tensor& x, Tensor& y, double alpha = 1.0, double beta = 0.0);
// Returns A X.
Tensor spmm(const Csr& a, const Tensor& x);
}  // namespace ops

}  // namespace lethe
