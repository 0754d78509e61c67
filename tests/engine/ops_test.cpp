// Every CPU kernel against a naive reference on small random inputs, in f32 and f64, plus the error
// messages of shape / dtype / device mismatches.
#include <omp.h>

#include <algorithm>
#include <numeric>

#include "helpers.h"

namespace lethe {
namespace {

using test::expect_error;
using test::host;
using test::max_rel_err;
using test::rand_tensor;

template <class T>
class OpsTest : public ::testing::Test {};
TYPED_TEST_SUITE(OpsTest, test::FloatTypes);

TYPED_TEST(OpsTest, GemmAllTransposesWithAlphaBeta) {
  using T = TypeParam;
  const int64_t m = 7, n = 5, k = 9;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      Tensor a = rand_tensor<T>(ta ? Shape{k, m} : Shape{m, k}, 1 + ta);
      Tensor b = rand_tensor<T>(tb ? Shape{n, k} : Shape{k, n}, 3 + tb);
      Tensor c = rand_tensor<T>({m, n}, 5);
      const auto A = host(a), B = host(b), C0 = host(c);
      ops::gemm(a, ta, b, tb, c, 0.7, -0.3);
      std::vector<double> ref(m * n);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int64_t p = 0; p < k; ++p) s += A[ta ? p * m + i : i * k + p] * B[tb ? j * k + p : p * n + j];
          ref[i * n + j] = 0.7 * s - 0.3 * C0[i * n + j];
        }
      EXPECT_LT(max_rel_err(host(c), ref), 10 * test::tol<T>()) << "trans " << ta << tb;
      // matmul == gemm with alpha 1, beta 0
      Tensor d = ops::matmul(a, b, ta, tb);
      std::vector<double> ref1(m * n);
      for (size_t i = 0; i < ref1.size(); ++i) ref1[i] = (ref[i] + 0.3 * C0[i]) / 0.7;
      EXPECT_LT(max_rel_err(host(d), ref1), 10 * test::tol<T>());
    }
  }
  // beta = 0 ignores whatever C held (even NaN)
  Tensor a = rand_tensor<T>({3, 4}, 8), b = rand_tensor<T>({4, 2}, 9);
  Tensor c = Tensor::full({3, 2}, std::nan(""), dtype_of<T>());
  ops::gemm(a, false, b, false, c);
  EXPECT_TRUE(test::all_finite(c));
  // empty inner dimension: C = beta * C
  Tensor e = Tensor::full({2, 2}, 2.0, dtype_of<T>());
  ops::gemm(Tensor::zeros({2, 0}, dtype_of<T>()), false, Tensor::zeros({0, 2}, dtype_of<T>()), false, e, 1.0,
            0.5);
  for (double v : host(e)) EXPECT_EQ(v, 1.0);
}

TYPED_TEST(OpsTest, Elementwise) {
  using T = TypeParam;
  Tensor a = rand_tensor<T>({6, 5}, 1), b = rand_tensor<T>({6, 5}, 2);
  Tensor rv = rand_tensor<T>({5}, 3), cv = rand_tensor<T>({6}, 4);
  const auto A = host(a), B = host(b), RV = host(rv), CV = host(cv);
  std::vector<double> add(30), sub(30), mul(30), sc(30), as(30), arv(30), mrv(30), srows(30), ax(30);
  for (int i = 0; i < 30; ++i) {
    add[i] = A[i] + B[i];
    sub[i] = A[i] - B[i];
    mul[i] = A[i] * B[i];
    sc[i] = 1.5 * A[i];
    as[i] = A[i] - 0.25;
    arv[i] = A[i] + RV[i % 5];
    mrv[i] = A[i] * RV[i % 5];
    srows[i] = A[i] * CV[i / 5];
    ax[i] = B[i] + 2.0 * A[i];
  }
  const double eps = test::tol<T>();
  EXPECT_LT(max_rel_err(host(ops::add(a, b)), add), eps);
  EXPECT_LT(max_rel_err(host(ops::sub(a, b)), sub), eps);
  EXPECT_LT(max_rel_err(host(ops::mul(a, b)), mul), eps);
  EXPECT_LT(max_rel_err(host(ops::scale(a, 1.5)), sc), eps);
  EXPECT_LT(max_rel_err(host(ops::add_scalar(a, -0.25)), as), eps);
  EXPECT_LT(max_rel_err(host(ops::add_rowvec(a, rv)), arv), eps);
  EXPECT_LT(max_rel_err(host(ops::mul_rowvec(a, rv)), mrv), eps);
  EXPECT_LT(max_rel_err(host(ops::scale_rows(a, cv)), srows), eps);
  Tensor y = b.clone();
  ops::axpy(2.0, a, y);
  EXPECT_LT(max_rel_err(host(y), ax), eps);
  ops::fill(y, -3.0);
  for (double v : host(y)) EXPECT_EQ(v, -3.0);
}

TYPED_TEST(OpsTest, UnaryAndBackwardMatchFiniteDifferences) {
  using T = TypeParam;
  const ops::Unary all[] = {ops::Unary::Neg,    ops::Unary::Log,        ops::Unary::Sigmoid,
                            ops::Unary::Tanh,   ops::Unary::LogSigmoid, ops::Unary::Relu,
                            ops::Unary::Square, ops::Unary::Sqrt,       ops::Unary::Rsqrt};
  auto ref = [](ops::Unary op, double x) {
    switch (op) {
      case ops::Unary::Neg:
        return -x;
      case ops::Unary::Log:
        return std::log(x);
      case ops::Unary::Sigmoid:
        return 1.0 / (1.0 + std::exp(-x));
      case ops::Unary::Tanh:
        return std::tanh(x);
      case ops::Unary::LogSigmoid:
        return -std::log1p(std::exp(-x));
      case ops::Unary::Relu:
        return x > 0 ? x : 0.0;
      case ops::Unary::Square:
        return x * x;
      case ops::Unary::Sqrt:
        return std::sqrt(x);
      case ops::Unary::Rsqrt:
        return 1.0 / std::sqrt(x);
    }
    return 0.0;
  };
  for (ops::Unary op : all) {
    const bool positive = op == ops::Unary::Log || op == ops::Unary::Sqrt || op == ops::Unary::Rsqrt;
    // keep |x| away from 0 so Relu's kink is not straddled by the finite difference
    Tensor x = rand_tensor<T>({4, 6}, 7, positive ? 0.5 : 0.1, 2.0);
    std::vector<T> xs = x.to_vector<T>();
    for (size_t i = 0; i < xs.size(); i += 2)
      if (!positive) xs[i] = -xs[i];
    x = Tensor::from_vector(xs, {4, 6});
    Tensor gy = rand_tensor<T>({4, 6}, 8);
    Tensor y = ops::unary(op, x);
    Tensor gx = ops::unary_backward(op, x, y, gy);
    const auto X = host(x), Y = host(y), GY = host(gy), GX = host(gx);
    for (size_t i = 0; i < X.size(); ++i) {
      EXPECT_NEAR(Y[i], ref(op, X[i]), 10 * test::tol<T>() * std::max(1.0, std::abs(Y[i])))
          << ops::unary_name(op);
      const double h = 1e-6;
      const double fd = (ref(op, X[i] + h) - ref(op, X[i] - h)) / (2 * h);
      EXPECT_NEAR(GX[i], GY[i] * fd, 1e-4 * std::max(1.0, std::abs(GX[i]))) << ops::unary_name(op);
    }
  }
  // LogSigmoid is stable for large |x|.
  Tensor big = Tensor::from_vector(std::vector<T>{T(-100), T(100)}, {2});
  const auto ls = host(ops::unary(ops::Unary::LogSigmoid, big));
  EXPECT_NEAR(ls[0], -100.0, 1e-4);
  EXPECT_NEAR(ls[1], 0.0, 1e-12);
  // Ops whose derivative reads y accept an undefined x.
  Tensor x = rand_tensor<T>({3}, 9);
  Tensor y = ops::unary(ops::Unary::Sigmoid, x);
  const Tensor dy = ops::mul(y, ops::add_scalar(ops::scale(y, -1.0), 1.0));  // y (1 - y)
  EXPECT_LT(ops::max_abs_diff(ops::unary_backward(ops::Unary::Sigmoid, Tensor(), y, y), ops::mul(y, dy)),
            1e-6);
  expect_error([&] { ops::unary_backward(ops::Unary::Log, Tensor(), y, y); }, {"log_backward", "x"});
}

TYPED_TEST(OpsTest, Reductions) {
  using T = TypeParam;
  const int64_t r = 37, c = 11;
  Tensor a = rand_tensor<T>({r, c}, 1), b = rand_tensor<T>({r, c}, 2);
  const auto A = host(a), B = host(b);
  double s = 0, ss = 0;
  std::vector<double> cols(c, 0), dots(r, 0);
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) {
      const double v = A[i * c + j];
      s += v;
      ss += v * v;
      cols[j] += v;
      dots[i] += v * B[i * c + j];
    }
  const double eps = 10 * test::tol<T>();
  EXPECT_NEAR(ops::sum(a).item(), s, eps * std::abs(s) + eps);
  EXPECT_NEAR(ops::sumsq(a).item(), ss, eps * ss);
  EXPECT_LT(max_rel_err(host(ops::sum_cols(a)), cols), eps);
  EXPECT_LT(max_rel_err(host(ops::rowdot(a, b)), dots), eps);
  EXPECT_EQ(ops::sum_cols(a).shape(), (Shape{c}));
}

TEST(Ops, LargeSumIsAccurateAndDeterministic) {
  // 1M float ones plus tiny values: a float accumulator would lose them, double chunks do not.
  std::vector<float> v(1 << 20, 1.0f);
  for (size_t i = 0; i < v.size(); i += 2) v[i] = 1e-4f;
  Tensor a = Tensor::from_vector(v, {1 << 10, 1 << 10});
  double ref = 0;
  for (float x : v) ref += x;
  const double s1 = ops::sum(a).item();
  EXPECT_NEAR(s1, ref, 1e-6 * ref);
  EXPECT_EQ(s1, ops::sum(a).item());
  EXPECT_EQ(host(ops::sum_cols(a)), host(ops::sum_cols(a)));
}

TYPED_TEST(OpsTest, GatherScatterWithDuplicates) {
  using T = TypeParam;
  Tensor src = rand_tensor<T>({10, 4}, 1);
  const std::vector<int64_t> idx{3, 0, 3, 9, 3, 5};
  for (DType it : {DType::I32, DType::I64}) {
    Tensor ix = Tensor::from_vector(idx).astype(it);
    Tensor g = ops::gather_rows(src, ix);
    ASSERT_EQ(g.shape(), (Shape{6, 4}));
    const auto S = host(src), G = host(g);
    for (size_t i = 0; i < idx.size(); ++i)
      for (int j = 0; j < 4; ++j) EXPECT_EQ(G[i * 4 + j], S[idx[i] * 4 + j]);
    Tensor dst = rand_tensor<T>({10, 4}, 2);
    std::vector<double> ref = host(dst);
    for (size_t i = 0; i < idx.size(); ++i)
      for (int j = 0; j < 4; ++j) ref[idx[i] * 4 + j] += G[i * 4 + j];
    ops::scatter_add_rows(dst, ix, g);
    EXPECT_LT(max_rel_err(host(dst), ref), test::tol<T>());
  }
  // Many duplicates, compared bit for bit with a serial reference in index order.
  Tensor big = rand_tensor<T>({5000, 16}, 3);
  std::vector<int32_t> bi(5000);
  for (int i = 0; i < 5000; ++i) bi[i] = (i * 7919) % 97;
  Tensor dst = Tensor::zeros({100, 16}, dtype_of<T>());
  ops::scatter_add_rows(dst, Tensor::from_vector(bi), big);
  std::vector<double> ref(1600, 0.0);
  const auto B = big.to_vector<T>();
  std::vector<T> acc(1600, T(0));
  for (int i = 0; i < 5000; ++i)
    for (int j = 0; j < 16; ++j) acc[bi[i] * 16 + j] += B[i * 16 + j];  // same order as the kernel
  for (int i = 0; i < 1600; ++i) ref[i] = acc[i];
  EXPECT_EQ(host(dst), ref);  // bit-identical: deterministic order
  expect_error(
      [&] {
        ops::gather_rows(src, Tensor::from_vector(std::vector<int32_t>{1, 10}));
      },
      {"gather_rows", "10", "out of range"});
  expect_error(
      [&] { ops::scatter_add_rows(dst, Tensor::from_vector(std::vector<int32_t>{-1}), src.row_range(0, 1)); },
      {"scatter_add_rows"});
}

TYPED_TEST(OpsTest, RowNormalisations) {
  using T = TypeParam;
  Tensor x = rand_tensor<T>({5, 7}, 4, -3.0, 3.0);
  std::vector<T> xs = x.to_vector<T>();
  for (int j = 0; j < 7; ++j) xs[2 * 7 + j] = 0;  // a zero row: the norm clamps to eps
  x = Tensor::from_vector(xs, {5, 7});
  const auto X = host(x);
  Tensor norms;
  Tensor y = ops::l2norm_rows(x, 1e-12, &norms);
  Tensor sm = ops::softmax_rows(x);
  Tensor lse = ops::logsumexp_rows(x);
  std::vector<double> ry(35), rn(5), rsm(35), rl(5);
  for (int i = 0; i < 5; ++i) {
    double s = 0, mx = -1e300;
    for (int j = 0; j < 7; ++j) {
      s += X[i * 7 + j] * X[i * 7 + j];
      mx = std::max(mx, X[i * 7 + j]);
    }
    rn[i] = std::max(std::sqrt(s), 1e-12);
    double e = 0;
    for (int j = 0; j < 7; ++j) e += std::exp(X[i * 7 + j] - mx);
    rl[i] = mx + std::log(e);
    for (int j = 0; j < 7; ++j) {
      ry[i * 7 + j] = X[i * 7 + j] / rn[i];
      rsm[i * 7 + j] = std::exp(X[i * 7 + j] - mx) / e;
    }
  }
  const double eps = 10 * test::tol<T>();
  EXPECT_LT(max_rel_err(host(y), ry), eps);
  EXPECT_LT(max_rel_err(host(norms), rn), eps);
  EXPECT_LT(max_rel_err(host(sm), rsm), eps);
  EXPECT_LT(max_rel_err(host(lse), rl), eps);
  // Large values do not overflow.
  Tensor big = Tensor::from_vector(std::vector<T>{T(1000), T(1000)}, {1, 2});
  EXPECT_NEAR(ops::logsumexp_rows(big).item(), 1000 + std::log(2.0), 1e-3);
  EXPECT_NEAR(host(ops::softmax_rows(big))[0], 0.5, 1e-6);
}

TYPED_TEST(OpsTest, ConcatAndSlice) {
  using T = TypeParam;
  Tensor a = rand_tensor<T>({4, 3}, 1), b = rand_tensor<T>({4, 5}, 2);
  Tensor c = ops::concat_cols({a, b});
  ASSERT_EQ(c.shape(), (Shape{4, 8}));
  const auto A = host(a), B = host(b), C = host(c);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) EXPECT_EQ(C[i * 8 + j], A[i * 3 + j]);
    for (int j = 0; j < 5; ++j) EXPECT_EQ(C[i * 8 + 3 + j], B[i * 5 + j]);
  }
  EXPECT_EQ(host(ops::slice_cols(c, 3, 8)), B);
  EXPECT_EQ(host(ops::slice_cols(c, 0, 3)), A);
  Tensor r = ops::concat_rows({a, ops::slice_cols(b, 0, 3)});
  ASSERT_EQ(r.shape(), (Shape{8, 3}));
  EXPECT_EQ(host(r.row_range(0, 4)), A);
  EXPECT_EQ(host(r.row_range(4, 8)), host(ops::slice_cols(b, 0, 3)));
  expect_error(
      [&] {
        ops::concat_cols({a, rand_tensor<T>({5, 3}, 3)});
      },
      {"concat_cols", "[4, 3]", "[5, 3]"});
  expect_error([&] { ops::concat_rows({a, b}); }, {"concat_rows", "[4, 3]", "[4, 5]"});
  expect_error([&] { ops::slice_cols(a, 2, 4); }, {"slice_cols", "[4, 3]"});
}

TYPED_TEST(OpsTest, TopkMatchesFullSort) {
  using T = TypeParam;
  const int64_t r = 9, c = 40, k = 7;
  Tensor a = rand_tensor<T>({r, c}, 5);
  std::vector<T> av = a.to_vector<T>();
  av[3] = av[10] = av[20] = T(5);  // ties in row 0: lower index first
  a = Tensor::from_vector(av, {r, c});
  Tensor vals, idx;
  ops::topk_rows(a, k, vals, idx);
  ASSERT_EQ(vals.shape(), (Shape{r, k}));
  ASSERT_EQ(idx.dtype(), DType::I32);
  const auto V = vals.to_vector<T>();
  const auto I = idx.to_vector<int32_t>();
  for (int64_t i = 0; i < r; ++i) {
    std::vector<int32_t> order(c);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t x, int32_t y) { return av[i * c + x] > av[i * c + y]; });
    for (int64_t j = 0; j < k; ++j) {
      EXPECT_EQ(I[i * k + j], order[j]);
      EXPECT_EQ(V[i * k + j], av[i * c + order[j]]);
    }
  }
  EXPECT_EQ(I[0], 3);
  EXPECT_EQ(I[1], 10);
  EXPECT_EQ(I[2], 20);
  expect_error([&] { ops::topk_rows(a, c + 1, vals, idx); }, {"topk_rows", "41"});
}

TYPED_TEST(OpsTest, MaskedFillCsr) {
  using T = TypeParam;
  // Pattern of 4 rows: {1, 3}, {}, {0}, {2, 3}
  Tensor indptr = Tensor::from_vector(std::vector<int32_t>{0, 2, 2, 3, 5});
  Tensor cols = Tensor::from_vector(std::vector<int32_t>{1, 3, 0, 2, 3});
  Tensor a = Tensor::zeros({2, 4}, dtype_of<T>());
  ops::masked_fill_csr_rows(a, indptr, cols, Tensor::from_vector(std::vector<int32_t>{2, 3}), -1e10);
  EXPECT_EQ(host(a), (std::vector<double>{-1e10, 0, 0, 0, 0, 0, -1e10, -1e10}));
  Tensor b = Tensor::zeros({2, 4}, dtype_of<T>());
  ops::masked_fill_csr_rows(b, indptr, cols, Tensor::from_vector(std::vector<int64_t>{0, 0}), 7);
  EXPECT_EQ(host(b), (std::vector<double>{0, 7, 0, 7, 0, 7, 0, 7}));
  expect_error(
      [&] {
        ops::masked_fill_csr_rows(a, indptr, cols, Tensor::from_vector(std::vector<int32_t>{3, 4}), 0);
      },
      {"masked_fill_csr_rows", "pattern row 4", "[0, 4)"});
  expect_error(
      [&] { ops::masked_fill_csr_rows(a, indptr, cols, Tensor::from_vector(std::vector<int32_t>{1}), 0); },
      {"masked_fill_csr_rows", "shape mismatch"});
}

TYPED_TEST(OpsTest, AdamMatchesScalarReference) {
  using T = TypeParam;
  const int64_t n = 50;
  Tensor p = rand_tensor<T>({n}, 1), m = Tensor::zeros({n}, dtype_of<T>()),
         v = Tensor::zeros({n}, dtype_of<T>());
  std::vector<double> P = host(p), M(n, 0), V(n, 0);
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
  for (int step = 1; step <= 3; ++step) {
    Tensor g = rand_tensor<T>({n}, 10 + step);
    const auto G = host(g);
    ops::adam_step(p, g, m, v, lr, b1, b2, eps, wd, step);
    for (int64_t i = 0; i < n; ++i) {
      const double gi = G[i] + wd * P[i];
      M[i] = b1 * M[i] + (1 - b1) * gi;
      V[i] = b2 * V[i] + (1 - b2) * gi * gi;
      const double mhat = M[i] / (1 - std::pow(b1, step));
      const double vhat = V[i] / (1 - std::pow(b2, step));
      P[i] -= lr * mhat / (std::sqrt(vhat) + eps);
    }
  }
  EXPECT_LT(max_rel_err(host(p), P), 10 * test::tol<T>());
  EXPECT_LT(max_rel_err(host(m), M), 10 * test::tol<T>());
  EXPECT_LT(max_rel_err(host(v), V), 10 * test::tol<T>());
}

TEST(Ops, MaxAbsDiff) {
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3});
  Tensor b = Tensor::from_vector(std::vector<float>{1, std::nanf(""), 3});
  EXPECT_DOUBLE_EQ(ops::max_abs_diff(a, Tensor::from_vector(std::vector<float>{1, 2.5f, 2})), 1.0);
  EXPECT_TRUE(std::isnan(ops::max_abs_diff(a, b)));
}

TEST(Ops, ErrorMessagesNameOpAndShapes) {
  Tensor a = Tensor::zeros({3, 4}), b = Tensor::zeros({4, 3}), d = Tensor::zeros({3, 4}, DType::F64);
  expect_error([&] { ops::add(a, b); }, {"add: shape mismatch f32[3, 4] vs f32[4, 3]"});
  expect_error([&] { ops::mul(a, d); }, {"mul: dtype mismatch f32[3, 4] vs f64[3, 4]"});
  expect_error([&] { ops::rowdot(a, b); }, {"rowdot", "f32[3, 4]", "f32[4, 3]"});
  expect_error([&] { ops::matmul(a, a); }, {"matmul", "f32[3, 4]"});
  Tensor c = Tensor::zeros({3, 3});
  expect_error([&] { ops::gemm(a, false, a, false, c); }, {"gemm", "inner dimensions", "f32[3, 4]"});
  Tensor wrong = Tensor::zeros({3, 4});
  expect_error([&] { ops::gemm(a, false, b, false, wrong); }, {"gemm", "output", "f32[3, 4]"});
  expect_error([&] { ops::add_rowvec(a, Tensor::zeros({3})); }, {"add_rowvec", "f32[3, 4]", "f32[3]"});
  expect_error([&] { ops::scale_rows(a, Tensor::zeros({4})); }, {"scale_rows", "f32[3, 4]", "f32[4]"});
  expect_error([&] { ops::sum(Tensor::zeros({2}, DType::I32)); }, {"sum", "i32[2]"});
  expect_error([&] { ops::gather_rows(a, Tensor::zeros({2})); }, {"gather_rows", "f32[2]"});
  Tensor m = Tensor::zeros({3, 4});
  expect_error([&] { ops::adam_step(m, b, m, m, 1e-3, 0.9, 0.999, 1e-8, 0, 1); },
               {"adam_step", "f32[3, 4]", "f32[4, 3]"});
}

}  // namespace
}  // namespace lethe

namespace lethe {
namespace {

// Reductions, scatter-add and transposed SpMM give bit-identical results for any OpenMP thread count.
TEST(Ops, ResultsDoNotDependOnThreadCount) {
  Tensor a = test::rand_tensor<float>({3000, 40}, 21);
  Tensor big = test::rand_tensor<float>({60000, 40}, 22);  // above the scatter's parallel threshold
  std::vector<int32_t> idx(60000);
  for (int i = 0; i < 60000; ++i) idx[i] = (i * 31) % 113;
  Tensor ix = Tensor::from_vector(idx);
  std::vector<int32_t> r(20000), c(20000);
  for (int i = 0; i < 20000; ++i) r[i] = (i * 7) % 3000, c[i] = (i * 13) % 500;
  Csr sp = Csr::from_coo(3000, 500, r, c, std::vector<float>(20000, 0.37f));
  auto run = [&] {
    Tensor dst = Tensor::zeros({113, 40});
    ops::scatter_add_rows(dst, ix, big);
    std::vector<double> out = test::host(dst);
    for (double v : test::host(ops::sum_cols(a))) out.push_back(v);
    out.push_back(ops::sum(a).item());
    out.push_back(ops::sumsq(a).item());
    Tensor y = Tensor::zeros({500, 40});
    ops::spmm(sp, true, a, y);
    for (double v : test::host(y)) out.push_back(v);
    return out;
  };
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = run();
  omp_set_num_threads(3);
  const auto three = run();
  omp_set_num_threads(saved);
  EXPECT_EQ(one, three);
}

}  // namespace
}  // namespace lethe
