// The autograd op case table: one or more rows per differentiable op of autograd/ops.inc, each a function of
// a few float64 host inputs (the point at which the gradient is checked). One table drives, in
// tests/autograd/gradcheck_ops_test.cpp,
//   * the float64 central-difference gradient check of every row (tests/autograd/gradcheck.h);
//   * float32 against float64 on the CPU (the training dtype tracks the checked one, forward and backward);
//   * CPU/CUDA parity of the forward value and the input gradients in F64 and F32 (skipped without a GPU).
// Outputs that are not scalar are reduced with a fixed random weighting (weighted_sum), so that every output
// entry is exercised. Constants a row needs (indices, sparse matrices) follow x[0]'s dtype and device.
// An op of autograd/ops.inc without a row fails to compile (the static_asserts at the end); so does a row
// naming an op that does not exist (docs/architecture.md, "Test tables").
#pragma once

#include <cmath>
#include <random>
#include <string_view>
#include <vector>

#include "autograd/ops.h"
#include "gradcheck.h"

namespace lethe::test::autograd_ops {

using autograd::Var;
using Xs = std::vector<Var>;  // a row's inputs as Vars

// One input of a row: a [rows, cols] f64 tensor (cols = 0: a vector of `rows` values) drawn uniformly from
// [lo, hi) with `seed`. rows = 0 marks an unused slot.
struct In {
  int64_t rows = 0, cols = 0;
  uint64_t seed = 0;
  double lo = -1.0, hi = 1.0;
};

struct OpCase {
  std::string_view op;                       // its name in autograd/ops.inc
  std::string_view variant;                  // what the row exercises; (op, variant) is unique
  In in[3] = {};                             // the random inputs (the point of the gradient check) ...
  std::vector<Tensor> (*fixed)() = nullptr;  // ... or fixed ones, f64 on the CPU
  Var (*fn)(const Xs& x) = nullptr;          // the op (and what the row wraps around it)
  double f32_tol = 1e-4;                     // float32 vs float64: |f32 - f64| <= f32_tol * max(1, |f64|)
};

// The row's inputs: f64 tensors on the CPU.
inline std::vector<Tensor> inputs(const OpCase& c) {
  if (c.fixed) return c.fixed();
  std::vector<Tensor> out;
  for (const In& i : c.in)
    if (i.rows > 0)
      out.push_back(uniform(i.cols > 0 ? Shape{i.rows, i.cols} : Shape{i.rows}, i.seed, i.lo, i.hi));
  return out;
}

// A random sparse matrix with about `density` of its entries set and one duplicate entry (summed by
// from_coo), in x's dtype and on x's device.
inline Csr random_csr_like(const Var& x, int64_t rows, int64_t cols, double density, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<int32_t> r, c;
  std::vector<float> v;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      if (u(rng) < density) {
        r.push_back(static_cast<int32_t>(i));
        c.push_back(static_cast<int32_t>(j));
        v.push_back(static_cast<float>(u(rng) - 0.5));
      }
  r.push_back(0);
  c.push_back(0);
  v.push_back(0.25f);
  return Csr::from_coo(rows, cols, r, c, v).astype(x.dtype()).to(x.device());
}

// Indices on x's device.
template <class I>
Tensor index_like(const Var& x, const std::vector<I>& ids) {
  return Tensor::from_vector(ids).to(x.device());
}

// With eps = 0.5 the second row (norm 0.3) is clamped: y = x / eps there; the others are normalised.
inline std::vector<Tensor> clamped_rows() {
  return {Tensor::from_vector(std::vector<double>{0.9, -0.4, 0.3, 0.1, -0.2, 0.2, -1.1, 0.6, 0.5}, {3, 3})};
}

// The rows, in the order of autograd/ops.inc. Inputs are uniform in [-1, 1) unless the op's domain asks
// otherwise. Scalar results (mean, sumsq, frobenius) feed a nonlinearity, so that the incoming gradient is
// not constant; the i64 gather takes row 2 three times, row 0 twice and rows 1 and 3 never; the two slices of
// slice_rows overlap, so both add into the same gradient rows.
// (clang-format is off for the table: it would indent rows with nested initialisers twice.)
// clang-format off
inline constexpr OpCase kOpCases[] = {
    {.op = "matmul",
     .variant = "a b",
     .in = {{3, 4, 1}, {4, 5, 2}},
     .fn = [](const Xs& x) { return autograd::matmul(x[0], x[1]); }},
    {.op = "matmul",
     .variant = "a^T b",
     .in = {{4, 3, 3}, {4, 5, 4}},
     .fn = [](const Xs& x) { return autograd::matmul(x[0], x[1], true, false); }},
    {.op = "matmul",
     .variant = "a b^T",
     .in = {{3, 4, 5}, {5, 4, 6}},
     .fn = [](const Xs& x) { return autograd::matmul(x[0], x[1], false, true); }},
    {.op = "matmul",
     .variant = "a^T b^T",
     .in = {{4, 3, 7}, {5, 4, 8}},
     .fn = [](const Xs& x) { return autograd::matmul(x[0], x[1], true, true); }},
    {.op = "matmul",
     .variant = "x^T x (both paths into one input)",
     .in = {{4, 3, 9}},
     .fn = [](const Xs& x) { return autograd::matmul(x[0], x[0], true, false); }},
    {.op = "spmm",
     .variant = "random A with a duplicate entry",
     .in = {{5, 3, 11}},
     .fn = [](const Xs& x) { return autograd::spmm(random_csr_like(x[0], 6, 5, 0.4, 10), x[0]); }},
    {.op = "linear",
     .variant = "with bias",
     .in = {{4, 3, 12}, {5, 3, 13}, {5, 0, 14}},
     .fn = [](const Xs& x) { return autograd::linear(x[0], x[1], x[2]); }},
    {.op = "linear",
     .variant = "without bias",
     .in = {{4, 3, 15}, {2, 3, 16}},
     .fn = [](const Xs& x) { return autograd::linear(x[0], x[1], Var()); }},

    {.op = "add",
     .variant = "same shapes",
     .in = {{3, 4, 20}, {3, 4, 21}},
     .fn = [](const Xs& x) { return autograd::add(x[0], x[1]); }},
    {.op = "sub",
     .variant = "same shapes",
     .in = {{3, 4, 22}, {3, 4, 23}},
     .fn = [](const Xs& x) { return autograd::sub(x[0], x[1]); }},
    {.op = "mul",
     .variant = "same shapes",
     .in = {{3, 4, 24}, {3, 4, 25}},
     .fn = [](const Xs& x) { return autograd::mul(x[0], x[1]); }},
    {.op = "mul",
     .variant = "x x (one input twice)",
     .in = {{3, 4, 26}},
     .fn = [](const Xs& x) { return autograd::mul(x[0], x[0]); }},
    {.op = "scale",
     .variant = "by -2.5",
     .in = {{3, 4, 27}},
     .fn = [](const Xs& x) { return autograd::scale(x[0], -2.5); }},
    {.op = "add_scalar",
     .variant = "squared after, so the gradient sees the shift",
     .in = {{3, 4, 28}},
     .fn =
         [](const Xs& x) {
           const Var y = autograd::add_scalar(x[0], 0.7);
           return autograd::mul(y, y);
         }},
    {.op = "scale_rows",
     .variant = "per-row scales",
     .in = {{3, 4, 33}, {3, 0, 34}},
     .fn = [](const Xs& x) { return autograd::scale_rows(x[0], x[1]); }},
    {.op = "neg",
     .variant = "matrix",
     .in = {{3, 4, 35}},
     .fn = [](const Xs& x) { return autograd::neg(x[0]); }},
    {.op = "log",
     .variant = "in [0.5, 2)",
     .in = {{3, 4, 37, 0.5, 2.0}},
     .fn = [](const Xs& x) { return autograd::log(x[0]); }},
    {.op = "sigmoid",
     .variant = "in [-3, 3)",
     .in = {{3, 4, 38, -3.0, 3.0}},
     .fn = [](const Xs& x) { return autograd::sigmoid(x[0]); }},
    {.op = "tanh",
     .variant = "in [-2, 2)",
     .in = {{3, 4, 39, -2.0, 2.0}},
     .fn = [](const Xs& x) { return autograd::tanh(x[0]); }},
    {.op = "logsigmoid",
     .variant = "in [-4, 4)",
     .in = {{3, 4, 41, -4.0, 4.0}},
     .fn = [](const Xs& x) { return autograd::logsigmoid(x[0]); }},

    {.op = "mean",
     .variant = "squared after",
     .in = {{3, 4, 51}},
     .fn =
         [](const Xs& x) {
           const Var m = autograd::mean(x[0]);
           return autograd::mul(m, m);
         }},
    {.op = "sumsq",
     .variant = "log after",
     .in = {{3, 4, 52}},
     .fn = [](const Xs& x) { return autograd::log(autograd::sumsq(x[0])); }},
    {.op = "frobenius",
     .variant = "squared after",
     .in = {{3, 4, 53}},
     .fn =
         [](const Xs& x) {
           const Var f = autograd::frobenius(x[0]);
           return autograd::mul(f, f);
         }},
    {.op = "frobenius",
     .variant = "of a vector",
     .in = {{5, 0, 54}},
     .fn = [](const Xs& x) { return autograd::frobenius(x[0]); }},
    {.op = "rowdot",
     .variant = "two inputs",
     .in = {{3, 4, 56}, {3, 4, 57}},
     .fn = [](const Xs& x) { return autograd::rowdot(x[0], x[1]); }},
    {.op = "rowdot",
     .variant = "x with itself",
     .in = {{3, 4, 58}},
     .fn = [](const Xs& x) { return autograd::rowdot(x[0], x[0]); }},

    {.op = "gather_rows",
     .variant = "i64 indices with duplicates",
     .in = {{5, 3, 60}},
     .fn =
         [](const Xs& x) {
           return autograd::gather_rows(x[0], index_like<int64_t>(x[0], {2, 0, 2, 4, 2, 0}));
         }},
    {.op = "gather_rows",
     .variant = "i32 indices",
     .in = {{3, 2, 61}},
     .fn =
         [](const Xs& x) {
           return autograd::gather_rows(x[0], index_like<int32_t>(x[0], {1, 1, 0}));
         }},

    {.op = "l2norm_rows",
     .variant = "eps 1e-12",
     .in = {{4, 3, 70}},
     .fn = [](const Xs& x) { return autograd::l2norm_rows(x[0]); }},
    {.op = "l2norm_rows",
     .variant = "a clamped row",
     .fixed = clamped_rows,
     .fn = [](const Xs& x) { return autograd::l2norm_rows(x[0], 0.5); }},
    {.op = "softmax_rows",
     .variant = "in [-2, 2)",
     .in = {{3, 5, 71, -2.0, 2.0}},
     .fn = [](const Xs& x) { return autograd::softmax_rows(x[0]); }},
    {.op = "logsumexp_rows",
     .variant = "in [-2, 2)",
     .in = {{3, 5, 72, -2.0, 2.0}},
     .fn = [](const Xs& x) { return autograd::logsumexp_rows(x[0]); }},

    {.op = "concat_cols",
     .variant = "one input twice",
     .in = {{3, 2, 80}, {3, 4, 81}},
     .fn =
         [](const Xs& x) {
           return autograd::concat_cols({x[0], x[1], x[0]});
         }},
    {.op = "slice_cols",
     .variant = "middle",
     .in = {{3, 5, 82}},
     .fn = [](const Xs& x) { return autograd::slice_cols(x[0], 1, 3); }},
    {.op = "slice_cols",
     .variant = "first columns",
     .in = {{3, 5, 83}},
     .fn = [](const Xs& x) { return autograd::slice_cols(x[0], 0, 2); }},
    {.op = "slice_cols",
     .variant = "last columns",
     .in = {{3, 5, 84}},
     .fn = [](const Xs& x) { return autograd::slice_cols(x[0], 3, 5); }},
    {.op = "concat_rows",
     .variant = "one input twice",
     .in = {{2, 3, 85}, {4, 3, 86}},
     .fn =
         [](const Xs& x) {
           return autograd::concat_rows({x[0], x[1], x[0]});
         }},
    {.op = "slice_rows",
     .variant = "overlapping slices",
     .in = {{5, 3, 87}},
     .fn =
         [](const Xs& x) {
           return autograd::add(weighted_sum(autograd::slice_rows(x[0], 1, 4), 1),
                                weighted_sum(autograd::slice_rows(x[0], 0, 2), 2));
         }},

    {.op = "mean_of",
     .variant = "one input twice",
     .in = {{3, 4, 91}, {3, 4, 92}, {3, 4, 93}},
     .fn =
         [](const Xs& x) {
           return autograd::mean_of({x[0], x[1], x[2], x[0]});
         }},
};
// clang-format on

// ---- completeness, checked at compile time ---------------------------------------------------------------
constexpr bool has_case(std::string_view op) {
  for (const OpCase& c : kOpCases)
    if (c.op == op) return true;
  return false;
}

inline constexpr std::string_view kOpNames[] = {
#define LETHE_AUTOGRAD_OP(ret, name, params) #name,
#include "autograd/ops.inc"
#undef LETHE_AUTOGRAD_OP
};

constexpr bool every_case_names_an_op() {
  for (const OpCase& c : kOpCases) {
    bool found = false;
    for (std::string_view n : kOpNames) found = found || n == c.op;
    if (!found) return false;
  }
  return true;
}

constexpr bool variants_are_unique() {
  const size_t n = sizeof(kOpCases) / sizeof(kOpCases[0]);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j)
      if (kOpCases[i].op == kOpCases[j].op && kOpCases[i].variant == kOpCases[j].variant) return false;
  return true;
}

#define LETHE_AUTOGRAD_OP(ret, name, params) \
  static_assert(has_case(#name), "op '" #name "' of autograd/ops.inc has no row in kOpCases");
#include "autograd/ops.inc"
#undef LETHE_AUTOGRAD_OP

static_assert(every_case_names_an_op(), "a row of kOpCases names an op not in autograd/ops.inc");
static_assert(variants_are_unique(), "two rows of kOpCases share op and variant");

}  // namespace lethe::test::autograd_ops
