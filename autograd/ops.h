// Differentiable operations. Each op's forward and backward live side by side in autograd/ops.cpp and are
// built from the kernels in engine/ops.h, so they run on every backend. Model blocks (LightGCN propagation,
// MGCN fusion, BPR losses) are compositions of these and have no backward code of their own.
//
// Every op here has a float64 central-difference gradient check in tests/autograd/.
#pragma once

#include <vector>

#include "autograd/var.h"
#include "engine/ops.h"
#include "engine/sparse.h"

namespace lethe::autograd {

// Linear algebra
Var matmul(const Var& a, const Var& b, bool trans_a = false, bool trans_b = false);
Var spmm(const Csr& a, const Var& x);  // A x with a constant sparse A; backward uses A^T
Var linear(const Var& x, const Var& w, const Var& b);  // x W^T + b (torch nn.Linear layout: W [out, in]); b may be undefined

// Elementwise
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var scale(const Var& a, double s);
Var add_scalar(const Var& a, double s);
Var scale_rows(const Var& a, const Var& s);  // a [n, m] * s [n]
Var neg(const Var& a);
Var log(const Var& a);
Var sigmoid(const Var& a);
Var tanh(const Var& a);
Var logsigmoid(const Var& a);

// Reductions (results [1] or [rows])
Var mean(const Var& a);
Var sumsq(const Var& a);      // sum of squares
Var frobenius(const Var& a);  // sqrt(sum of squares)
Var rowdot(const Var& a, const Var& b);  // [rows]

// Rows
Var gather_rows(const Var& src, const Tensor& idx);  // backward: scatter-add into src's gradient

// Row-wise normalisations
Var l2norm_rows(const Var& x, double eps = 1e-12);
Var softmax_rows(const Var& x);
Var logsumexp_rows(const Var& x);  // [rows]

// Shape
Var concat_cols(const std::vector<Var>& parts);
Var slice_cols(const Var& a, int64_t begin, int64_t end);
Var concat_rows(const std::vector<Var>& parts);
Var slice_rows(const Var& a, int64_t begin, int64_t end);

// Composite helpers (no backward code of their own)
Var mean_of(const std::vector<Var>& xs);  // elementwise mean of equally shaped Vars

}  // namespace lethe::autograd
