// The autograd op case table: one or more rows per differentiable op of autograd/ops.inc, each a function of
// a few float64 host inputs (the point at which the gradient is checked). One table drives, in
// tests/autograd/gradcheck_ops_test.cpp,
//   * the float64 central-difference gradient check of every row (tests/autograd/gradcheck.h);
//   * float32 against float64 on the CPU: the training dtype must track the checked one, forward and backward;
//   * CPU/CUDA parity of the forward value and the input gradients in F64 and F32 (skipped without a GPU).
// Outputs that are not scalar are reduced with a fixed random weighting (weighted_sum), so that every output
// entry is exercised. Constants a row needs (indices, sparse matrices) follow x[0]'s dtype and device.
// An op of autograd/ops.inc without a row fails to compile (the static_asserts at the end); so does a row
// naming an op that does not exist.
#pragma once

#include <cmath>
#include <random>
#include <string_view>
#include <vector>

#include "autograd/ops.h"
#include "gradcheck.h"

namespace lethe::test::autograd_ops {

using autograd::Var;

struct OpCase {
  std::string_view op;       // its name in autograd/ops.inc
  std::string_view variant;  // what the row exercises; (op, variant) is unique
  std::vector<Tensor> (*inputs)() = nullptr;             // f64 on the CPU
  Var (*fn)(const std::vector<Var>& x) = nullptr;        // the op (and what the row wraps around it)
  double f32_tol = 1e-4;  // float32 vs float64: |f32 - f64| <= f32_tol * max(1, |f64|)
};

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

// The rows. Inputs are uniform in [-1, 1) unless the op's domain or kinks ask otherwise.
inline constexpr OpCase kOpCases[] = {
    // ---- linear algebra
    {"matmul", "a b", [] { return std::vector<Tensor>{uniform({3, 4}, 1), uniform({4, 5}, 2)}; },
     [](const std::vector<Var>& x) { return autograd::matmul(x[0], x[1]); }},
    {"matmul", "a^T b", [] { return std::vector<Tensor>{uniform({4, 3}, 3), uniform({4, 5}, 4)}; },
     [](const std::vector<Var>& x) { return autograd::matmul(x[0], x[1], true, false); }},
    {"matmul", "a b^T", [] { return std::vector<Tensor>{uniform({3, 4}, 5), uniform({5, 4}, 6)}; },
     [](const std::vector<Var>& x) { return autograd::matmul(x[0], x[1], false, true); }},
    {"matmul", "a^T b^T", [] { return std::vector<Tensor>{uniform({4, 3}, 7), uniform({5, 4}, 8)}; },
     [](const std::vector<Var>& x) { return autograd::matmul(x[0], x[1], true, true); }},
    {"matmul", "x^T x (both paths into one input)", [] { return std::vector<Tensor>{uniform({4, 3}, 9)}; },
     [](const std::vector<Var>& x) { return autograd::matmul(x[0], x[0], true, false); }},
    {"spmm", "random A with a duplicate entry", [] { return std::vector<Tensor>{uniform({5, 3}, 11)}; },
     [](const std::vector<Var>& x) { return autograd::spmm(random_csr_like(x[0], 6, 5, 0.4, 10), x[0]); }},
    {"linear", "with bias",
     [] { return std::vector<Tensor>{uniform({4, 3}, 12), uniform({5, 3}, 13), uniform({5}, 14)}; },
     [](const std::vector<Var>& x) { return autograd::linear(x[0], x[1], x[2]); }},
    {"linear", "without bias", [] { return std::vector<Tensor>{uniform({4, 3}, 15), uniform({2, 3}, 16)}; },
     [](const std::vector<Var>& x) { return autograd::linear(x[0], x[1], Var()); }},

    // ---- elementwise
    {"add", "same shapes", [] { return std::vector<Tensor>{uniform({3, 4}, 20), uniform({3, 4}, 21)}; },
     [](const std::vector<Var>& x) { return autograd::add(x[0], x[1]); }},
    {"sub", "same shapes", [] { return std::vector<Tensor>{uniform({3, 4}, 22), uniform({3, 4}, 23)}; },
     [](const std::vector<Var>& x) { return autograd::sub(x[0], x[1]); }},
    {"mul", "same shapes", [] { return std::vector<Tensor>{uniform({3, 4}, 24), uniform({3, 4}, 25)}; },
     [](const std::vector<Var>& x) { return autograd::mul(x[0], x[1]); }},
    {"mul", "x x (one input twice)", [] { return std::vector<Tensor>{uniform({3, 4}, 26)}; },
     [](const std::vector<Var>& x) { return autograd::mul(x[0], x[0]); }},
    {"scale", "by -2.5", [] { return std::vector<Tensor>{uniform({3, 4}, 27)}; },
     [](const std::vector<Var>& x) { return autograd::scale(x[0], -2.5); }},
    {"add_scalar", "squared after, so the gradient sees the shift",
     [] { return std::vector<Tensor>{uniform({3, 4}, 28)}; },
     [](const std::vector<Var>& x) {
       const Var y = autograd::add_scalar(x[0], 0.7);
       return autograd::mul(y, y);
     }},
    {"scale_rows", "per-row scales", [] { return std::vector<Tensor>{uniform({3, 4}, 33), uniform({3}, 34)}; },
     [](const std::vector<Var>& x) { return autograd::scale_rows(x[0], x[1]); }},
    {"neg", "matrix", [] { return std::vector<Tensor>{uniform({3, 4}, 35)}; },
     [](const std::vector<Var>& x) { return autograd::neg(x[0]); }},
    {"log", "in [0.5, 2)", [] { return std::vector<Tensor>{uniform({3, 4}, 37, 0.5, 2.0)}; },
     [](const std::vector<Var>& x) { return autograd::log(x[0]); }},
    {"sigmoid", "in [-3, 3)", [] { return std::vector<Tensor>{uniform({3, 4}, 38, -3.0, 3.0)}; },
     [](const std::vector<Var>& x) { return autograd::sigmoid(x[0]); }},
    {"tanh", "in [-2, 2)", [] { return std::vector<Tensor>{uniform({3, 4}, 39, -2.0, 2.0)}; },
     [](const std::vector<Var>& x) { return autograd::tanh(x[0]); }},
    {"logsigmoid", "in [-4, 4)", [] { return std::vector<Tensor>{uniform({3, 4}, 41, -4.0, 4.0)}; },
     [](const std::vector<Var>& x) { return autograd::logsigmoid(x[0]); }},

    // ---- reductions: scalar results feed a nonlinearity, so that the incoming gradient is not constant
    {"mean", "squared after", [] { return std::vector<Tensor>{uniform({3, 4}, 51)}; },
     [](const std::vector<Var>& x) {
       const Var m = autograd::mean(x[0]);
       return autograd::mul(m, m);
     }},
    {"sumsq", "log after", [] { return std::vector<Tensor>{uniform({3, 4}, 52)}; },
     [](const std::vector<Var>& x) { return autograd::log(autograd::sumsq(x[0])); }},
    {"frobenius", "squared after", [] { return std::vector<Tensor>{uniform({3, 4}, 53)}; },
     [](const std::vector<Var>& x) {
       const Var f = autograd::frobenius(x[0]);
       return autograd::mul(f, f);
     }},
    {"frobenius", "of a vector", [] { return std::vector<Tensor>{uniform({5}, 54)}; },
     [](const std::vector<Var>& x) { return autograd::frobenius(x[0]); }},
    {"rowdot", "two inputs", [] { return std::vector<Tensor>{uniform({3, 4}, 56), uniform({3, 4}, 57)}; },
     [](const std::vector<Var>& x) { return autograd::rowdot(x[0], x[1]); }},
    {"rowdot", "x with itself", [] { return std::vector<Tensor>{uniform({3, 4}, 58)}; },
     [](const std::vector<Var>& x) { return autograd::rowdot(x[0], x[0]); }},

    // ---- rows: row 2 three times, row 0 twice, rows 1 and 3 never
    {"gather_rows", "i64 indices with duplicates", [] { return std::vector<Tensor>{uniform({5, 3}, 60)}; },
     [](const std::vector<Var>& x) {
       return autograd::gather_rows(x[0], index_like<int64_t>(x[0], {2, 0, 2, 4, 2, 0}));
     }},
    {"gather_rows", "i32 indices", [] { return std::vector<Tensor>{uniform({3, 2}, 61)}; },
     [](const std::vector<Var>& x) { return autograd::gather_rows(x[0], index_like<int32_t>(x[0], {1, 1, 0})); }},

    // ---- row-wise normalisations
    {"l2norm_rows", "eps 1e-12", [] { return std::vector<Tensor>{uniform({4, 3}, 70)}; },
     [](const std::vector<Var>& x) { return autograd::l2norm_rows(x[0]); }},
    // With eps = 0.5 the second row (norm 0.3) is clamped: y = x / eps there; the others are normalised.
    {"l2norm_rows", "a clamped row",
     [] {
       return std::vector<Tensor>{
           Tensor::from_vector(std::vector<double>{0.9, -0.4, 0.3, 0.1, -0.2, 0.2, -1.1, 0.6, 0.5}, {3, 3})};
     },
     [](const std::vector<Var>& x) { return autograd::l2norm_rows(x[0], 0.5); }},
    {"softmax_rows", "in [-2, 2)", [] { return std::vector<Tensor>{uniform({3, 5}, 71, -2.0, 2.0)}; },
     [](const std::vector<Var>& x) { return autograd::softmax_rows(x[0]); }},
    {"logsumexp_rows", "in [-2, 2)", [] { return std::vector<Tensor>{uniform({3, 5}, 72, -2.0, 2.0)}; },
     [](const std::vector<Var>& x) { return autograd::logsumexp_rows(x[0]); }},

    // ---- shape
    {"concat_cols", "one input twice", [] { return std::vector<Tensor>{uniform({3, 2}, 80), uniform({3, 4}, 81)}; },
     [](const std::vector<Var>& x) { return autograd::concat_cols({x[0], x[1], x[0]}); }},
    {"slice_cols", "middle", [] { return std::vector<Tensor>{uniform({3, 5}, 82)}; },
     [](const std::vector<Var>& x) { return autograd::slice_cols(x[0], 1, 3); }},
    {"slice_cols", "first columns", [] { return std::vector<Tensor>{uniform({3, 5}, 83)}; },
     [](const std::vector<Var>& x) { return autograd::slice_cols(x[0], 0, 2); }},
    {"slice_cols", "last columns", [] { return std::vector<Tensor>{uniform({3, 5}, 84)}; },
     [](const std::vector<Var>& x) { return autograd::slice_cols(x[0], 3, 5); }},
    {"concat_rows", "one input twice", [] { return std::vector<Tensor>{uniform({2, 3}, 85), uniform({4, 3}, 86)}; },
     [](const std::vector<Var>& x) { return autograd::concat_rows({x[0], x[1], x[0]}); }},
    // Two overlapping slices of one input: both add into the same gradient rows.
    {"slice_rows", "overlapping slices", [] { return std::vector<Tensor>{uniform({5, 3}, 87)}; },
     [](const std::vector<Var>& x) {
       return autograd::add(weighted_sum(autograd::slice_rows(x[0], 1, 4), 1),
                            weighted_sum(autograd::slice_rows(x[0], 0, 2), 2));
     }},

    // ---- composites
    {"mean_of", "one input twice",
     [] { return std::vector<Tensor>{uniform({3, 4}, 91), uniform({3, 4}, 92), uniform({3, 4}, 93)}; },
     [](const std::vector<Var>& x) { return autograd::mean_of({x[0], x[1], x[2], x[0]}); }},
};

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
