// Every differentiable op of autograd/ops.inc, driven by the case table of tests/autograd/op_cases.h: the
// float64 central-difference gradient check, float32 against float64 on the CPU, and CPU/CUDA parity of the
// forward value and the input gradients (skipped, not passed, without a GPU). Also: the checker rejects a
// wrong backward, and a LightGCN-style composite in which gradients accumulate through shared nodes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "gradcheck.h"
#include "op_cases.h"

namespace lethe {
namespace {

using autograd::Var;
using test::gradcheck;
using test::uniform;
using test::weighted_sum;
using test::autograd_ops::kOpCases;
using test::autograd_ops::OpCase;

Tensor index(const std::vector<int64_t>& ids) { return Tensor::from_vector(ids); }

// The forward value and the gradient of every input of one row, with inputs in `dt` on `dev`.
struct Result {
  std::vector<double> value;
  std::vector<std::vector<double>> grads;
};

std::vector<double> host(const Tensor& t) {
  return t.to(Device::cpu()).astype(DType::F64).to_vector<double>();
}

Result run_case(const OpCase& c, DType dt, Device dev) {
  std::vector<Var> xs;
  for (const Tensor& t : test::autograd_ops::inputs(c)) xs.push_back(autograd::param(t.astype(dt).to(dev)));
  const Var y = c.fn(xs);
  autograd::backward(weighted_sum(y));
  Result r{host(y.value()), {}};
  for (const Var& x : xs) r.grads.push_back(x.grad().defined() ? host(x.grad()) : std::vector<double>{});
  return r;
}

// |a - b| <= tol * max(1, |b|) entry by entry, b the reference.
void expect_close(const Result& a, const Result& b, double tol, const std::string& what) {
  const auto near = [&](const std::vector<double>& x, const std::vector<double>& y, const std::string& part) {
    ASSERT_EQ(x.size(), y.size()) << what << " " << part;
    int bad = 0;
    for (size_t i = 0; i < x.size(); ++i)
      if (!(std::abs(x[i] - y[i]) <= tol * std::max(1.0, std::abs(y[i]))) && ++bad <= 5)
        ADD_FAILURE() << what << " " << part << " entry " << i << ": " << x[i] << " vs " << y[i];
    EXPECT_EQ(bad, 0) << what << " " << part;
  };
  near(a.value, b.value, "value");
  ASSERT_EQ(a.grads.size(), b.grads.size()) << what;
  for (size_t i = 0; i < a.grads.size(); ++i)
    near(a.grads[i], b.grads[i], "gradient of input " + std::to_string(i));
}

std::string label(const OpCase& c) { return std::string(c.op) + " [" + std::string(c.variant) + "]"; }

// gtest names: "matmul_a_b", "gather_rows_i32_indices", ...
std::string case_name(const ::testing::TestParamInfo<size_t>& info) {
  const OpCase& c = kOpCases[info.param];
  std::string n = std::string(c.op) + "_" + std::string(c.variant);
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

class OpTable : public ::testing::TestWithParam<size_t> {};

TEST_P(OpTable, Float64GradientMatchesCentralDifferences) {
  const OpCase& c = kOpCases[GetParam()];
  EXPECT_TRUE(gradcheck([&c](const std::vector<Var>& x) { return weighted_sum(c.fn(x)); },
                        test::autograd_ops::inputs(c)))
      << label(c);
}

TEST_P(OpTable, Float32TracksFloat64) {
  const OpCase& c = kOpCases[GetParam()];
  expect_close(run_case(c, DType::F32, Device::cpu()), run_case(c, DType::F64, Device::cpu()), c.f32_tol,
               label(c) + " f32 vs f64");
}

TEST_P(OpTable, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  const OpCase& c = kOpCases[GetParam()];
  expect_close(run_case(c, DType::F64, Device::cuda()), run_case(c, DType::F64, Device::cpu()), 1e-10,
               label(c) + " f64");
  expect_close(run_case(c, DType::F32, Device::cuda()), run_case(c, DType::F32, Device::cpu()), 1e-4,
               label(c) + " f32");
}

INSTANTIATE_TEST_SUITE_P(Rows, OpTable, ::testing::Range(size_t{0}, sizeof(kOpCases) / sizeof(kOpCases[0])),
                         case_name);

// The checker itself must reject a wrong backward: y = x^2 whose closure adds g x instead of 2 g x.
TEST(Gradcheck, DetectsAWrongGradient) {
  const auto wrong_square = [](const Var& a) {
    const Tensor x = a.value();
    return autograd::make_node("wrong_square", ops::mul(x, x), {a}, [x](autograd::Node& n) {
      autograd::accumulate(n.inputs[0], ops::mul(n.grad, x));
    });
  };
  EXPECT_FALSE(gradcheck([&](const std::vector<Var>& x) { return weighted_sum(wrong_square(x[0])); },
                         {uniform({2, 3}, 99)}));
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
    const Var u = autograd::gather_rows(all, users), p = autograd::gather_rows(all, pos),
              q = autograd::gather_rows(all, negs);
    const Var bpr = autograd::neg(
        autograd::mean(autograd::logsigmoid(autograd::sub(autograd::rowdot(u, p), autograd::rowdot(u, q)))));
    const Var reg = autograd::scale(autograd::sumsq(autograd::gather_rows(e0, users)), 1e-2);
    return autograd::add(bpr, reg);
  };
  EXPECT_TRUE(gradcheck(f, {uniform({n, 3}, 95)}));
}

}  // namespace
}  // namespace lethe
