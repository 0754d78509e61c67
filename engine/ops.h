// Kernel-level tensor operations (no autograd). Every function checks shapes, dtypes and devices, then
// dispatches to the CPU backend (engine/cpu/) or the CUDA backend (engine/cuda/), which implement the
// same functions under the same names in `lethe::cpu` and `lethe::cuda` (see engine/backend.h).
//
// Conventions: 2-D tensors are row-major [rows, cols]; a 1-D tensor of n elements reads as [n, 1] where a
// column vector is meant (rowdot output, row scales). Floating ops accept F32 (training) and F64 (gradient
// checks, CPU and CUDA). Index tensors are I32 or I64. Inputs must share one device; outputs are created
// on it. Mismatches throw lethe::Error naming the op and both shapes.
#pragma once

#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"
#include "engine/unary.h"

namespace lethe::ops {

// ---- GEMM ------------------------------------------------------------------------------------------
// C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T. C must already have the right shape.
void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha = 1.0,
          double beta = 0.0);
// Returns op(A) * op(B).
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// ---- elementwise -----------------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);  // same shapes
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& a, double s);              // s * a
Tensor add_scalar(const Tensor& a, double s);         // a + s
void axpy(double alpha, const Tensor& x, Tensor& y);  // y += alpha * x   (in place)
void fill(Tensor& a, double value);                   // in place
Tensor add_rowvec(const Tensor& a, const Tensor& v);  // a[r, c] + v[c]; a [n, m], v [m]
Tensor mul_rowvec(const Tensor& a, const Tensor& v);  // a[r, c] * v[c]
Tensor scale_rows(const Tensor& a, const Tensor& s);  // a[r, c] * s[r]; s [n]

// y = f(x) for one of the functions of engine/unary.h (Unary::Neg, Log, Sigmoid, ...).
Tensor unary(Unary op, const Tensor& x);
// Gradient of a unary op: gx = gy * f'(x), given x, y = f(x) and gy.
Tensor unary_backward(Unary op, const Tensor& x, const Tensor& y, const Tensor& gy);

// ---- reductions (results stay on the device: no host synchronisation) ------------------------------
Tensor sum(const Tensor& a);                      // [1]
Tensor sum_cols(const Tensor& a);                 // [cols]: sum over rows of each column
Tensor sumsq(const Tensor& a);                    // [1]: sum of squares
Tensor rowdot(const Tensor& a, const Tensor& b);  // [rows]: <a_r, b_r>

// ---- rows: gather / scatter ------------------------------------------------------------------------
Tensor gather_rows(const Tensor& src, const Tensor& idx);                  // out[i] = src[idx[i]]
void scatter_add_rows(Tensor& dst, const Tensor& idx, const Tensor& src);  // dst[idx[i]] += src[i]

// ---- row-wise normalisations -----------------------------------------------------------------------
// y = x / max(||x_r||, eps) (torch.nn.functional.normalize); also returns the clamped norms [rows].
Tensor l2norm_rows(const Tensor& x, double eps, Tensor* norms = nullptr);
Tensor softmax_rows(const Tensor& x);
Tensor logsumexp_rows(const Tensor& x);  // [rows]

// ---- shape ops -------------------------------------------------------------------------------------
Tensor concat_cols(const std::vector<Tensor>& parts);  // all [n, m_k] -> [n, sum m_k]
Tensor slice_cols(const Tensor& a, int64_t begin, int64_t end);
Tensor concat_rows(const std::vector<Tensor>& parts);  // all [n_k, m] -> [sum n_k, m]

// ---- masks and selection ---------------------------------------------------------------------------
// Per-row top-k, largest first: values [n, k] (a's dtype) and indices [n, k] (I32). k <= cols.
void topk_rows(const Tensor& a, int64_t k, Tensor& values, Tensor& indices);
// For rows r in [0, a.rows()): a[r, cols[j]] = value for j in [indptr[p], indptr[p + 1]), p = rows[r].
// (indptr, cols) is a CSR pattern (I32), e.g. each user's training items; rows (I32/I64) picks the users.
void masked_fill_csr_rows(Tensor& a, const Tensor& indptr, const Tensor& cols, const Tensor& rows,
                          double value);

// ---- optimizer kernels ----------------------------------------------------------------------------
// One fused Adam step (torch.optim.Adam semantics, bias-corrected, L2 weight decay added to the gradient):
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, double lr, double beta1, double beta2,
               double eps, double weight_decay, int64_t step);

// ---- misc ------------------------------------------------------------------------------------------
// Largest |a - b| over all elements, computed on the host (NaN when any difference is NaN).
double max_abs_diff(const Tensor& a, const Tensor& b);

}  // namespace lethe::ops
