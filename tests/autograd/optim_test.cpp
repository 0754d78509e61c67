// Optimizers against hand-written scalar references: Adam with torch.optim.Adam semantics (bias correction,
// L2 weight decay added to the gradient, zeroed gradients still stepping through momentum), the per-epoch
// learning-rate schedule lr0 * a^(e / b) and zero_grad.
#include "autograd/optim.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "engine/error.h"
#include "gradcheck.h"

namespace lethe {
namespace {

using autograd::Var;
using test::sum_all;

std::vector<double> host(const Tensor& t) { return t.to_vector<double>(); }
Tensor vec(const std::vector<double>& v) { return Tensor::from_vector(v); }

// torch.optim.Adam for one scalar (torch/optim/adam.py, single-tensor path, amsgrad off).
struct RefAdam {
  double lr, b1, b2, eps, wd;
  double m = 0.0, v = 0.0;
  void step(double& p, double g, int t) {
    g += wd * p;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
    const double denom = std::sqrt(v) / std::sqrt(bc2) + eps;
    p -= (lr / bc1) * m / denom;
  }
};

TEST(Optim, AdamMatchesTorchReference) {
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  for (double wd : {0.0, 0.1}) {
    SCOPED_TRACE("weight_decay " + std::to_string(wd));
    const std::vector<double> p0{0.5, -1.0, 2.0};
    Var p = autograd::param(vec(p0), "p");
    autograd::Adam opt({p}, lr, b1, b2, eps, wd);
    std::vector<RefAdam> ref(3, RefAdam{lr, b1, b2, eps, wd});
    std::vector<double> pr = p0;
    // Per-step loss coefficients: loss = sum(c * p^2 / 2), so the gradient is c * p. Steps 3 and 4 have no
    // loss at all (zero gradient after zero_grad): Adam must keep moving p through its moments.
    const std::vector<std::vector<double>> coef{{1.0, 2.0, -0.5}, {0.3, -1.0, 4.0}, {2.0, 0.0, 1.0}, {}, {},
                                                {-1.0, 0.5, 0.25}};
    for (size_t s = 0; s < coef.size(); ++s) {
      opt.zero_grad();
      std::vector<double> g(3, 0.0);
      if (!coef[s].empty()) {
        autograd::backward(autograd::scale(
            sum_all(autograd::mul(autograd::constant(vec(coef[s])), autograd::mul(p, p))), 0.5));
        for (size_t i = 0; i < 3; ++i) g[i] = coef[s][i] * pr[i];
      }
      const std::vector<double> before = host(p.value());
      opt.step();
      for (size_t i = 0; i < 3; ++i) ref[i].step(pr[i], g[i], static_cast<int>(s + 1));
      const std::vector<double> got = host(p.value());
      for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(got[i], pr[i], 1e-12) << "step " << s + 1 << " entry " << i;
      if (coef[s].empty()) {
        EXPECT_NE(got, before) << "a zero gradient must still move p (momentum)";
      }
    }
    EXPECT_EQ(opt.steps(), static_cast<int64_t>(coef.size()));
  }
}

TEST(Optim, AdamStepsParamsWithoutGradient) {
  // No zero_grad, no backward: the gradient is undefined; Adam treats it as zero (weight decay still acts).
  const double lr = 0.05, wd = 0.2;
  Var q = autograd::param(vec({1.5, -0.25}), "q");
  autograd::Adam opt({q}, lr, 0.9, 0.999, 1e-8, wd);
  std::vector<RefAdam> ref(2, RefAdam{lr, 0.9, 0.999, 1e-8, wd});
  std::vector<double> qr{1.5, -0.25};
  for (int t = 1; t <= 3; ++t) {
    opt.step();
    for (size_t i = 0; i < 2; ++i) ref[i].step(qr[i], 0.0, t);
  }
  const std::vector<double> got = host(q.value());
  for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(got[i], qr[i], 1e-12);
  EXPECT_NE(got[0], 1.5);
}

TEST(Optim, ZeroGradKeepsZeroedBuffers) {
  Var a = autograd::param(vec({1.0, 2.0})), b = autograd::param(vec({3.0}));
  autograd::Adam opt({a, b}, 0.1);
  autograd::backward(sum_all(autograd::mul(a, a)));
  ASSERT_TRUE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());
  opt.zero_grad();
  ASSERT_TRUE(a.grad().defined());
  ASSERT_TRUE(b.grad().defined());  // allocated as zeros, like torch <= 1.13
  EXPECT_EQ(host(a.grad()), (std::vector<double>{0.0, 0.0}));
  EXPECT_EQ(host(b.grad()), std::vector<double>{0.0});
}

TEST(Optim, LearningRateSchedule) {
  Var p = autograd::param(vec({1.0}));
  autograd::Adam opt({p}, 1e-3);
  opt.set_epoch(0, 0.96, 50);
  EXPECT_DOUBLE_EQ(opt.lr(), 1e-3);
  opt.set_epoch(50, 0.96, 50);
  EXPECT_NEAR(opt.lr(), 9.6e-4, 1e-15);
  opt.set_epoch(100, 0.96, 50);
  EXPECT_NEAR(opt.lr(), 9.216e-4, 1e-15);
  opt.set_epoch(25, 0.96, 50);  // fractional exponent: a^(e / b), not a^floor(e / b)
  EXPECT_NEAR(opt.lr(), 1e-3 * std::sqrt(0.96), 1e-15);
  opt.set_epoch(100, 1.0, 50);  // MMRec default [1.0, 50]: constant
  EXPECT_DOUBLE_EQ(opt.lr(), 1e-3);
}

TEST(Optim, AdamRowLrFactorEqualsASecondAdamOnThoseRows) {
  // A 4 x 2 table; rows 1 and 3 take 5x the learning rate. Reference: two Adams over copies of the table,
  // one at lr and one at 5 lr, fed the same gradients; rows 1, 3 must follow the second, rows 0, 2 the first.
  const double lr = 0.01, wd = 0.05;
  const std::vector<double> t0{0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 0.1, -0.3};
  auto table = [&] { return autograd::param(Tensor::from_vector(t0, {4, 2}), "t"); };
  Var p = table(), slow = table(), fast = table();
  autograd::Adam opt({p}, lr, 0.9, 0.999, 1e-8, wd), opt_slow({slow}, lr, 0.9, 0.999, 1e-8, wd),
      opt_fast({fast}, 5 * lr, 0.9, 0.999, 1e-8, wd);
  opt.set_row_lr_factor(p, Tensor::from_vector(std::vector<int32_t>{1, 3}, {2}), 5.0);
  const std::vector<std::vector<double>> coef{
      {1, 2, -0.5, 3, 0.3, -1, 4, 2}, {}, {2, 0, 1, -1, 0.5, 0.25, -2, 1}};
  for (const auto& c : coef) {
    for (autograd::Adam* o : {&opt, &opt_slow, &opt_fast}) {
      o->zero_grad();
      Var q = o->params()[0];
      if (!c.empty())
        autograd::backward(autograd::scale(
            sum_all(autograd::mul(autograd::constant(Tensor::from_vector(c, {4, 2})), autograd::mul(q, q))),
            0.5));
      o->step();
    }
  }
  const std::vector<double> got = host(p.value()), s = host(slow.value()), f = host(fast.value());
  for (size_t k = 0; k < got.size(); ++k) {
    const bool row_fast = (k / 2) % 2 == 1;
    EXPECT_NEAR(got[k], row_fast ? f[k] : s[k], 1e-12) << "entry " << k;
  }
  EXPECT_GT(std::abs(f[2] - s[2]), 1e-3);  // the two references really differ
  EXPECT_THROW(opt.set_row_lr_factor(p, Tensor::from_vector(std::vector<int32_t>{0}, {1}), 0.0), Error);
  EXPECT_THROW(opt.set_row_lr_factor(slow, Tensor::from_vector(std::vector<int32_t>{0}, {1}), 2.0), Error);
}

TEST(Optim, AdamParamLrFactorEqualsASecondAdamOnThatParameter) {
  // Two parameters (a table and a bias vector) under one Adam; the bias takes 0.25x the learning rate. It
  // must follow an Adam at 0.25 lr, the table one at lr.
  const double lr = 0.01, wd = 0.05;
  const std::vector<double> t0{0.5, -1.0, 2.0, 0.25}, b0{0.3, -0.6};
  Var t = autograd::param(Tensor::from_vector(t0, {2, 2}), "t"),
      b = autograd::param(Tensor::from_vector(b0, {2}), "b");
  Var t_ref = autograd::param(Tensor::from_vector(t0, {2, 2}), "t"),
      b_ref = autograd::param(Tensor::from_vector(b0, {2}), "b");
  autograd::Adam opt({t, b}, lr, 0.9, 0.999, 1e-8, wd), opt_t({t_ref}, lr, 0.9, 0.999, 1e-8, wd),
      opt_b({b_ref}, 0.25 * lr, 0.9, 0.999, 1e-8, wd);
  opt.set_param_lr_factor(b, 0.25);
  const std::vector<std::vector<double>> coef{{1, 2, -0.5, 3}, {2, 0, 1, -1}, {0.5, 0.25, -2, 1}};
  for (const auto& c : coef) {
    for (autograd::Adam* o : {&opt, &opt_t, &opt_b}) o->zero_grad();
    auto loss = [&](const Var& q) {
      return autograd::scale(
          sum_all(autograd::mul(autograd::constant(Tensor::from_vector(c, q.shape())), autograd::mul(q, q))),
          0.5);
    };
    auto bias_loss = [&](const Var& q) {
      const std::vector<double> cb{c[0], c[3]};
      return sum_all(autograd::mul(autograd::constant(Tensor::from_vector(cb, {2})), autograd::mul(q, q)));
    };
    autograd::backward(autograd::add(loss(t), bias_loss(b)));
    autograd::backward(loss(t_ref));
    autograd::backward(bias_loss(b_ref));
    for (autograd::Adam* o : {&opt, &opt_t, &opt_b}) o->step();
  }
  const std::vector<double> gt = host(t.value()), gb = host(b.value()), rt = host(t_ref.value()),
                            rb = host(b_ref.value());
  for (size_t k = 0; k < gt.size(); ++k) EXPECT_NEAR(gt[k], rt[k], 1e-12) << "table entry " << k;
  for (size_t k = 0; k < gb.size(); ++k) EXPECT_NEAR(gb[k], rb[k], 1e-12) << "bias entry " << k;
  EXPECT_GT(std::abs(gb[0] - b0[0]), 1e-4);  // it did move
  EXPECT_THROW(opt.set_param_lr_factor(b, 0.0), Error);
  EXPECT_THROW(opt.set_param_lr_factor(t_ref, 2.0), Error);
}

TEST(Optim, AdamPerRowFactorsEqualAnAdamPerFactor) {
  // Rows 0 and 2 take 3x and 0.5x: each must follow an Adam at that learning rate; rows 1 and 3 keep lr.
  const double lr = 0.01;
  const std::vector<double> t0{0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 0.1, -0.3};
  auto table = [&] { return autograd::param(Tensor::from_vector(t0, {4, 2}), "t"); };
  Var p = table(), base = table(), x3 = table(), half = table();
  autograd::Adam opt({p}, lr), o1({base}, lr), o3({x3}, 3 * lr), oh({half}, 0.5 * lr);
  opt.set_row_lr_factors(p, Tensor::from_vector(std::vector<int32_t>{0, 2}, {2}), {3.0, 0.5});
  const std::vector<std::vector<double>> coef{{1, 2, -0.5, 3, 0.3, -1, 4, 2},
                                              {2, 0, 1, -1, 0.5, 0.25, -2, 1}};
  for (const auto& c : coef)
    for (autograd::Adam* o : {&opt, &o1, &o3, &oh}) {
      o->zero_grad();
      Var q = o->params()[0];
      autograd::backward(autograd::scale(
          sum_all(autograd::mul(autograd::constant(Tensor::from_vector(c, {4, 2})), autograd::mul(q, q))),
          0.5));
      o->step();
    }
  const std::vector<double> got = host(p.value()), b = host(base.value()), f3 = host(x3.value()),
                            fh = host(half.value());
  for (size_t k = 0; k < got.size(); ++k) {
    const size_t row = k / 2;
    EXPECT_NEAR(got[k], row == 0 ? f3[k] : row == 2 ? fh[k] : b[k], 1e-12) << "entry " << k;
  }
  EXPECT_THROW(opt.set_row_lr_factors(p, Tensor::from_vector(std::vector<int32_t>{1}, {1}), {1.0, 2.0}),
               Error);
  EXPECT_THROW(opt.set_row_lr_factors(p, Tensor::from_vector(std::vector<int32_t>{1}, {1}), {-1.0}), Error);
}

TEST(Optim, AdamRestrictedToRowsMovesOnlyThoseRows) {
  // Only rows 1 and 3 of `p` move, exactly as an unrestricted Adam moves them; `q` is frozen entirely.
  const std::vector<double> t0{0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 0.1, -0.3};
  Var p = autograd::param(Tensor::from_vector(t0, {4, 2}), "p"),
      ref = autograd::param(Tensor::from_vector(t0, {4, 2}), "r");
  Var q = autograd::param(vec({1.0, 2.0}), "q");
  autograd::Adam opt({p, q}, 0.01), free({ref}, 0.01);
  opt.restrict_to({{p, Tensor::from_vector(std::vector<int32_t>{1, 3}, {2})}});
  const std::vector<double> c{1, 2, -0.5, 3, 0.3, -1, 4, 2};
  for (int step = 0; step < 3; ++step)
    for (autograd::Adam* o : {&opt, &free}) {
      o->zero_grad();
      Var x = o->params()[0];
      Var loss =
          sum_all(autograd::mul(autograd::constant(Tensor::from_vector(c, {4, 2})), autograd::mul(x, x)));
      if (o == &opt) loss = autograd::add(loss, sum_all(autograd::mul(q, q)));
      autograd::backward(loss);
      o->step();
    }
  const std::vector<double> got = host(p.value()), r = host(ref.value());
  for (size_t k = 0; k < got.size(); ++k) {
    const bool trainable = (k / 2) % 2 == 1;
    if (trainable)
      EXPECT_NEAR(got[k], r[k], 1e-12) << "entry " << k;
    else
      EXPECT_EQ(got[k], t0[k]) << "frozen entry " << k << " moved";
  }
  EXPECT_EQ(host(q.value()), (std::vector<double>{1.0, 2.0}));
  autograd::Adam decayed({p}, 0.01, 0.9, 0.999, 1e-8, 0.1);
  EXPECT_THROW(decayed.restrict_to({{p, Tensor::from_vector(std::vector<int32_t>{0}, {1})}}), Error);
}

}  // namespace
}  // namespace lethe
