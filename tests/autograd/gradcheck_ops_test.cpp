// Float64 central-difference gradient checks: one (or more) per differentiable op of autograd/ops.h, and a
// LightGCN-style composite in which gradients accumulate through shared nodes. Outputs that are not scalar
// are reduced with a fixed random weighting (weighted_sum) so that every output entry is exercised.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "autograd/ops.h"
#include "gradcheck.h"

namespace lethe {
namespace {

using autograd::Var;
using test::away_from_zero;
using test::gradcheck;
using test::uniform;
using test::weighted_sum;

// A random sparse matrix with about `density` of its entries set, in f64.
Csr random_csr(int64_t rows, int64_t cols, double density, uint64_t seed) {
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
  r.push_back(0);  // a duplicate entry: from_coo sums it
  c.push_back(0);
  v.push_back(0.25f);
  return Csr::from_coo(rows, cols, r, c, v).astype(DType::F64);
}

Tensor index(const std::vector<int64_t>& ids) { return Tensor::from_vector(ids); }

// The checker itself must reject a wrong backward: y = x^2 whose closure adds g x instead of 2 g x.
TEST(Gradcheck, DetectsAWrongGradient) {
  const auto wrong_square = [](const Var& a) {
    const Tensor x = a.value();
    return autograd::make_node("wrong_square", ops::mul(x, x), {a},
                         [x](autograd::Node& n) { autograd::accumulate(n.inputs[0], ops::mul(n.grad, x)); });
  };
  EXPECT_FALSE(gradcheck([&](const std::vector<Var>& x) { return weighted_sum(wrong_square(x[0])); },
                         {uniform({2, 3}, 99)}));
}

// ---- linear algebra ---------------------------------------------------------------------------------

TEST(Gradcheck, MatmulNN) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::matmul(x[0], x[1])); },
                        {uniform({3, 4}, 1), uniform({4, 5}, 2)}));
}

TEST(Gradcheck, MatmulTN) {
  EXPECT_TRUE(
      gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::matmul(x[0], x[1], true, false)); },
                {uniform({4, 3}, 3), uniform({4, 5}, 4)}));
}

TEST(Gradcheck, MatmulNT) {
  EXPECT_TRUE(
      gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::matmul(x[0], x[1], false, true)); },
                {uniform({3, 4}, 5), uniform({5, 4}, 6)}));
}

TEST(Gradcheck, MatmulTT) {
  EXPECT_TRUE(
      gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::matmul(x[0], x[1], true, true)); },
                {uniform({4, 3}, 7), uniform({5, 4}, 8)}));
}

TEST(Gradcheck, MatmulSameInput) {  // x^T x: both gradient paths land on one Var
  EXPECT_TRUE(
      gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::matmul(x[0], x[0], true, false)); },
                {uniform({4, 3}, 9)}));
}

TEST(Gradcheck, Spmm) {
  const Csr a = random_csr(6, 5, 0.4, 10);
  EXPECT_TRUE(gradcheck([&a](const std::vector<Var>& x) { return weighted_sum(autograd::spmm(a, x[0])); },
                        {uniform({5, 3}, 11)}));
}

TEST(Gradcheck, LinearWithBias) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::linear(x[0], x[1], x[2])); },
                        {uniform({4, 3}, 12), uniform({5, 3}, 13), uniform({5}, 14)}));
}

TEST(Gradcheck, LinearWithoutBias) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::linear(x[0], x[1], Var())); },
                        {uniform({4, 3}, 15), uniform({2, 3}, 16)}));
}

// ---- elementwise ------------------------------------------------------------------------------------

TEST(Gradcheck, Add) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::add(x[0], x[1])); },
                        {uniform({3, 4}, 20), uniform({3, 4}, 21)}));
}

TEST(Gradcheck, Sub) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::sub(x[0], x[1])); },
                        {uniform({3, 4}, 22), uniform({3, 4}, 23)}));
}

TEST(Gradcheck, Mul) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::mul(x[0], x[1])); },
                        {uniform({3, 4}, 24), uniform({3, 4}, 25)}));
}

TEST(Gradcheck, MulSameInput) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::mul(x[0], x[0])); },
                        {uniform({3, 4}, 26)}));
}

TEST(Gradcheck, Scale) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::scale(x[0], -2.5)); },
                        {uniform({3, 4}, 27)}));
}

TEST(Gradcheck, AddScalar) {  // squared so that the gradient depends on the shifted value
  EXPECT_TRUE(
      gradcheck([](const std::vector<Var>& x) { const Var y = autograd::add_scalar(x[0], 0.7);
        return weighted_sum(autograd::mul(y, y)); },
                {uniform({3, 4}, 28)}));
}

TEST(Gradcheck, ScaleRows) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::scale_rows(x[0], x[1])); },
                        {uniform({3, 4}, 33), uniform({3}, 34)}));
}

TEST(Gradcheck, Neg) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::neg(x[0])); },
                        {uniform({3, 4}, 35)}));
}

TEST(Gradcheck, Log) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::log(x[0])); },
                        {uniform({3, 4}, 37, 0.5, 2.0)}));
}

TEST(Gradcheck, Sigmoid) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::sigmoid(x[0])); },
                        {uniform({3, 4}, 38, -3.0, 3.0)}));
}

TEST(Gradcheck, Tanh) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::tanh(x[0])); },
                        {uniform({3, 4}, 39, -2.0, 2.0)}));
}

TEST(Gradcheck, LogSigmoid) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::logsigmoid(x[0])); },
                        {uniform({3, 4}, 41, -4.0, 4.0)}));
}

// ---- reductions -------------------------------------------------------------------------------------

// Scalar reductions feed a nonlinearity so that the incoming gradient is not 1.
TEST(Gradcheck, Mean) {
  EXPECT_TRUE(
      gradcheck([](const std::vector<Var>& x) { const Var m = autograd::mean(x[0]);
        return autograd::mul(m, m); }, {uniform({3, 4}, 51)}));
}

TEST(Gradcheck, Sumsq) {
  EXPECT_TRUE(
      gradcheck([](const std::vector<Var>& x) { return autograd::log(autograd::sumsq(x[0])); }, {uniform({3, 4}, 52)}));
}

TEST(Gradcheck, Frobenius) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { const Var f = autograd::frobenius(x[0]);
        return autograd::mul(f, f); },
                        {uniform({3, 4}, 53)}));
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return autograd::frobenius(x[0]); }, {uniform({5}, 54)}));
}

TEST(Gradcheck, Rowdot) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::rowdot(x[0], x[1])); },
                        {uniform({3, 4}, 56), uniform({3, 4}, 57)}));
}

TEST(Gradcheck, RowdotSameInput) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::rowdot(x[0], x[0])); },
                        {uniform({3, 4}, 58)}));
}

// ---- rows -------------------------------------------------------------------------------------------

TEST(Gradcheck, GatherRowsWithDuplicates) {
  const Tensor idx = index({2, 0, 2, 4, 2, 0});  // row 2 three times, row 0 twice, rows 1 and 3 never
  EXPECT_TRUE(
      gradcheck([&idx](const std::vector<Var>& x) { return weighted_sum(autograd::gather_rows(x[0], idx)); },
                {uniform({5, 3}, 60)}));
}

TEST(Gradcheck, GatherRowsI32Index) {
  const Tensor idx = Tensor::from_vector(std::vector<int32_t>{1, 1, 0});
  EXPECT_TRUE(
      gradcheck([&idx](const std::vector<Var>& x) { return weighted_sum(autograd::gather_rows(x[0], idx)); },
                {uniform({3, 2}, 61)}));
}

// ---- row-wise normalisations ------------------------------------------------------------------------

TEST(Gradcheck, L2normRows) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::l2norm_rows(x[0])); },
                        {uniform({4, 3}, 70)}));
}

TEST(Gradcheck, L2normRowsClamped) {
  // With eps = 0.5 the second row (norm 0.3) is clamped: y = x / eps there; the others are normalised.
  const Tensor x =
      Tensor::from_vector(std::vector<double>{0.9, -0.4, 0.3, 0.1, -0.2, 0.2, -1.1, 0.6, 0.5}, {3, 3});
  EXPECT_TRUE(
      gradcheck([](const std::vector<Var>& v) { return weighted_sum(autograd::l2norm_rows(v[0], 0.5)); }, {x}));
}

TEST(Gradcheck, SoftmaxRows) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::softmax_rows(x[0])); },
                        {uniform({3, 5}, 71, -2.0, 2.0)}));
}

TEST(Gradcheck, LogsumexpRows) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::logsumexp_rows(x[0])); },
                        {uniform({3, 5}, 72, -2.0, 2.0)}));
}

// ---- shape ------------------------------------------------------------------------------------------

TEST(Gradcheck, ConcatCols) {
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Var>& x) {
        return weighted_sum(autograd::concat_cols({x[0], x[1], x[0]}));
      },
      {uniform({3, 2}, 80), uniform({3, 4}, 81)}));
}

TEST(Gradcheck, SliceCols) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::slice_cols(x[0], 1, 3)); },
                        {uniform({3, 5}, 82)}));
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::slice_cols(x[0], 0, 2)); },
                        {uniform({3, 5}, 83)}));
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return weighted_sum(autograd::slice_cols(x[0], 3, 5)); },
                        {uniform({3, 5}, 84)}));
}

TEST(Gradcheck, ConcatRows) {
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Var>& x) {
        return weighted_sum(autograd::concat_rows({x[0], x[1], x[0]}));
      },
      {uniform({2, 3}, 85), uniform({4, 3}, 86)}));
}

TEST(Gradcheck, SliceRows) {
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Var>& x) {
        // Two overlapping slices of one input: both add into the same gradient rows.
        return autograd::add(weighted_sum(autograd::slice_rows(x[0], 1, 4), 1),
                       weighted_sum(autograd::slice_rows(x[0], 0, 2), 2));
      },
      {uniform({5, 3}, 87)}));
}

// ---- composites ------------------------------------------------------------------

TEST(Gradcheck, MeanOf) {
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Var>& x) {
        return weighted_sum(autograd::mean_of({x[0], x[1], x[2], x[0]}));
      },
      {uniform({3, 4}, 91), uniform({3, 4}, 92), uniform({3, 4}, 93)}));
}

// LightGCN-style step: two propagation layers over a shared embedding table, layer mean, gathers of users
// and items (with repeats), BPR with log-sigmoid and an L2 term. E feeds spmm, mean_of and the gathers, so
// its gradient accumulates over several paths.
TEST(Gradcheck, LightGcnComposite) {
  const int64_t n_users = 4, n_items = 5, n = n_users + n_items;
  std::vector<int32_t> r, c;
  std::vector<float> v;
  const int ui[][2] = {{0, 0}, {0, 2}, {1, 1}, {1, 4}, {2, 0}, {2, 3}, {3, 2}, {3, 4}, {3, 1}};
  std::vector<float> deg(static_cast<size_t>(n), 0.0f);
  for (const auto& e : ui) {
    deg[e[0]] += 1;
    deg[n_users + e[1]] += 1;
  }
  for (const auto& e : ui) {  // symmetric normalised adjacency D^-1/2 A D^-1/2
    const int32_t u = e[0], i = static_cast<int32_t>(n_users + e[1]);
    const float w = 1.0f / std::sqrt(deg[u] * deg[i]);
    r.insert(r.end(), {u, i});
    c.insert(c.end(), {i, u});
    v.insert(v.end(), {w, w});
  }
  const Csr adj = Csr::from_coo(n, n, r, c, v).astype(DType::F64);
  const Tensor users = index({0, 1, 3, 3}), pos = index({4, 5, 6, 8}), negs = index({6, 4, 5, 7});
  const auto f = [&](const std::vector<Var>& x) {
    const Var e0 = x[0];
    const Var e1 = autograd::spmm(adj, e0);
    const Var e2 = autograd::spmm(adj, e1);
    const Var all = autograd::mean_of({e0, e1, e2});
    const Var u = autograd::gather_rows(all, users), p = autograd::gather_rows(all, pos), q = autograd::gather_rows(all, negs);
    const Var bpr = autograd::neg(autograd::mean(autograd::logsigmoid(autograd::sub(autograd::rowdot(u, p), autograd::rowdot(u, q)))));
    const Var reg = autograd::scale(autograd::sumsq(autograd::gather_rows(e0, users)), 1e-2);
    return autograd::add(bpr, reg);
  };
  EXPECT_TRUE(gradcheck(f, {uniform({n, 3}, 95)}));
}

}  // namespace
}  // namespace lethe
