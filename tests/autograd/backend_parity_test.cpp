// One composite graph touching most ops, run with different dtypes and devices: float32 gradients must
// track the float64 ones (the training dtype against the checked one), and CUDA must match the CPU (skipped,
// not passed, without a GPU).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "autograd/optim.h"
#include "engine/rng.h"
#include "gradcheck.h"

namespace lethe {
namespace {

using autograd::Var;
using test::uniform;

struct Result {
  double loss = 0.0;
  std::vector<std::vector<double>> grads;
};

// Loss and parameter gradients of a fixed composite, with every tensor in `dtype` on `dev`.
Result run_composite(DType dtype, Device dev) {
  const auto put = [&](const Tensor& t) { return t.astype(dtype).to(dev); };
  std::vector<int32_t> r, c;
  std::vector<float> v;
  for (int32_t i = 0; i < 9; ++i) {  // a banded 9 x 9 operator
    for (int32_t j = std::max(0, i - 1); j <= std::min(8, i + 1); ++j) {
      r.push_back(i);
      c.push_back(j);
      v.push_back(0.3f + 0.05f * static_cast<float>(i - j));
    }
  }
  const Csr adj = Csr::from_coo(9, 9, r, c, v).astype(dtype).to(dev);
  const Tensor idx = Tensor::from_vector(std::vector<int64_t>{0, 3, 3, 8, 5, 1}).to(dev);

  std::vector<Var> p{autograd::param(put(uniform({6, 4}, 1))), autograd::param(put(uniform({3, 4}, 2))),
                     autograd::param(put(uniform({3}, 3))), autograd::param(put(uniform({9, 3}, 4))),
                     autograd::param(put(uniform({6}, 5)))};
  const Var& x = p[0];
  const Var& w = p[1];
  const Var& b = p[2];
  const Var& e = p[3];
  const Var& u = p[4];

  const Var h = autograd::tanh(autograd::linear(x, w, b));  // [6, 3]
  const Var z = autograd::l2norm_rows(h);                   // [6, 3]
  const Var lse =
      autograd::logsumexp_rows(autograd::softmax_rows(autograd::matmul(z, z, false, true)));  // [6]
  const Var g = autograd::gather_rows(autograd::spmm(adj, autograd::spmm(adj, e)), idx);      // [6, 3]
  const Var cat = autograd::slice_cols(autograd::concat_cols({z, g}), 1, 5);                  // [6, 4]
  const Var other = autograd::slice_rows(autograd::concat_rows({cat, autograd::scale_rows(cat, u)}), 3, 9);
  const Var rd = autograd::rowdot(cat, other);  // [6]
  const Var side =
      autograd::rowdot(autograd::scale_rows(autograd::logsigmoid(x), autograd::sigmoid(rd)), x);  // [6]
  Var loss = autograd::neg(autograd::mean(autograd::logsigmoid(autograd::sub(rd, lse))));
  loss = autograd::add(loss, autograd::scale(autograd::frobenius(w), 0.1));
  loss = autograd::add(loss, autograd::scale(autograd::sumsq(e), 0.01));
  loss = autograd::add(loss, autograd::mean(autograd::sigmoid(autograd::scale(side, 0.1))));
  loss = autograd::add(loss, autograd::frobenius(autograd::add_scalar(autograd::mean_of({g, h}), 1.0)));
  autograd::backward(loss);

  Result res;
  res.loss = loss.value().item();
  for (const Var& q : p) res.grads.push_back(q.grad().astype(DType::F64).to_vector<double>());
  return res;
}

void expect_close(const Result& a, const Result& b, double tol) {
  EXPECT_NEAR(a.loss, b.loss, tol * std::max(1.0, std::abs(b.loss)));
  ASSERT_EQ(a.grads.size(), b.grads.size());
  for (size_t i = 0; i < a.grads.size(); ++i) {
    ASSERT_EQ(a.grads[i].size(), b.grads[i].size());
    for (size_t j = 0; j < a.grads[i].size(); ++j)
      EXPECT_NEAR(a.grads[i][j], b.grads[i][j], tol * std::max(1.0, std::abs(b.grads[i][j])))
          << "param " << i << " entry " << j;
  }
}

TEST(BackendParity, Float32TracksFloat64) {
  expect_close(run_composite(DType::F32, Device::cpu()), run_composite(DType::F64, Device::cpu()), 1e-4);
}

TEST(BackendParity, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  expect_close(run_composite(DType::F64, Device::cuda()), run_composite(DType::F64, Device::cpu()), 1e-10);
  expect_close(run_composite(DType::F32, Device::cuda()), run_composite(DType::F32, Device::cpu()), 1e-4);
}

// Adam with a row learning-rate factor (unlearning's own-rows step: gather, step, scaled scatter-add of the
// change) on CUDA against the CPU, F32 and F64, a few steps on random gradients.
std::vector<double> adam_rows_run(DType dtype, Device dev) {
  Rng rng(11);
  std::vector<double> t0(6 * 4), gseq(3 * 6 * 4);
  for (auto& x : t0) x = rng.normal();
  for (auto& x : gseq) x = rng.normal();
  Var p = autograd::param(Tensor::from_vector(t0, {6, 4}).astype(dtype).to(dev), "t");
  autograd::Adam opt({p}, 0.01, 0.9, 0.999, 1e-8, 0.01);
  opt.set_row_lr_factor(p, Tensor::from_vector(std::vector<int32_t>{4, 1}, {2}), 30.0);
  for (int s = 0; s < 3; ++s) {
    opt.zero_grad();
    const std::vector<double> g(gseq.begin() + s * 24, gseq.begin() + (s + 1) * 24);
    autograd::backward(test::sum_all(
        autograd::mul(autograd::constant(Tensor::from_vector(g, {6, 4}).astype(dtype).to(dev)), p)));
    opt.step();
  }
  return p.value().to(Device::cpu()).astype(DType::F64).to_vector<double>();
}

TEST(BackendParity, CudaAdamRowFactorMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dt : {DType::F64, DType::F32}) {
    const std::vector<double> gpu = adam_rows_run(dt, Device::cuda()), cpu = adam_rows_run(dt, Device::cpu());
    const double tol = dt == DType::F64 ? 1e-12 : 1e-5;
    for (size_t k = 0; k < cpu.size(); ++k) EXPECT_NEAR(gpu[k], cpu[k], tol) << "entry " << k;
  }
}

}  // namespace
}  // namespace lethe
