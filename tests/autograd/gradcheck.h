// Float64 central-difference gradient checker for the autograd ops, plus small helpers for the tests.
//
// gradcheck(f, inputs) turns each input into a param, runs f -> scalar loss and backward, then compares every
// analytic gradient entry a with the numerical one n = (f(x + h e) - f(x - h e)) / 2h (evaluated under
// NoGrad on constants). The relative error is |a - n| / max(|a|, |n|, floor): a plain relative error for
// entries of normal size, and an absolute error scaled by 1/floor for entries near zero, where the
// difference quotient's rounding noise (about 1e-16 |f| / h ~ 1e-10 |f| for h = 1e-6) would dominate a
// purely relative measure. The default floor 1e-3 keeps that noise below the 1e-6 tolerance for losses of
// order 1, which the tests ensure by weighting outputs with small random coefficients.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "autograd/var.h"

namespace lethe::test {

using GradFn = std::function<autograd::Var(const std::vector<autograd::Var>&)>;

struct GradcheckOptions {
  double h = 1e-6;      // central-difference step
  double tol = 1e-6;    // largest accepted relative error
  double floor = 1e-3;  // smallest denominator of the relative error (see above)
};

// f(x) as a double, for the numerical side: inputs as constants, no recording.
inline double eval_scalar(const GradFn& f, const std::vector<Tensor>& xs) {
  autograd::NoGrad ng;
  std::vector<autograd::Var> vars;
  for (const Tensor& x : xs) vars.push_back(autograd::constant(x));
  return f(vars).value().item();
}

inline ::testing::AssertionResult gradcheck(const GradFn& f, const std::vector<Tensor>& inputs,
                                            GradcheckOptions opt = {}) {
  for (const Tensor& x : inputs)
    if (x.dtype() != DType::F64 || !x.is_cpu())
      return ::testing::AssertionFailure() << "gradcheck: inputs must be f64 on cpu, got " << x.describe();

  // Analytic gradients.
  std::vector<autograd::Var> params;
  for (const Tensor& x : inputs) params.push_back(autograd::param(x.clone()));
  const autograd::Var loss = f(params);
  if (loss.value().numel() != 1 || loss.dtype() != DType::F64)
    return ::testing::AssertionFailure()
           << "gradcheck: f must return an f64 scalar, got " << loss.value().describe();
  autograd::backward(loss);

  // Numerical gradients, entry by entry.
  std::vector<Tensor> work;
  for (const Tensor& x : inputs) work.push_back(x.clone());
  double worst = 0.0;
  std::ostringstream where;
  int64_t checked = 0;
  for (size_t i = 0; i < work.size(); ++i) {
    const Tensor& g = params[i].grad();
    const std::vector<double> ga =
        g.defined() ? g.to_vector<double>() : std::vector<double>(static_cast<size_t>(work[i].numel()), 0.0);
    double* p = work[i].data<double>();
    for (int64_t j = 0; j < work[i].numel(); ++j) {
      const double x0 = p[j];
      p[j] = x0 + opt.h;
      const double fp = eval_scalar(f, work);
      p[j] = x0 - opt.h;
      const double fm = eval_scalar(f, work);
      p[j] = x0;
      const double num = (fp - fm) / (2.0 * opt.h);
      const double ana = ga[static_cast<size_t>(j)];
      const double err = std::abs(ana - num) / std::max({std::abs(ana), std::abs(num), opt.floor});
      ++checked;
      if (!(err <= worst)) {  // also catches NaN
        worst = err;
        where.str("");
        where << "input " << i << " entry " << j << ": analytic " << ana << ", numerical " << num;
      }
    }
  }
  if (checked == 0) return ::testing::AssertionFailure() << "gradcheck: no entries to check";
  if (!(worst < opt.tol))
    return ::testing::AssertionFailure()
           << "gradcheck: relative error " << worst << " >= " << opt.tol << " at " << where.str();
  return ::testing::AssertionSuccess() << "max relative error " << worst;
}

// Uniform random f64 tensor in [lo, hi) on the CPU, from a fixed seed.
inline Tensor uniform(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape);
}

// Uniform values whose magnitude lies in [lo, hi) with a random sign: keeps inputs away from kinks (relu).
inline Tensor away_from_zero(const Shape& shape, uint64_t seed, double lo = 0.1, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) x = (rng() & 1 ? 1.0 : -1.0) * dist(rng);
  return Tensor::from_vector(v, shape);
}

// The sum of all entries of x, as numel * mean(x) (autograd has no separate sum op: models use mean).
inline autograd::Var sum_all(const autograd::Var& x) {
  return autograd::scale(autograd::mean(x), static_cast<double>(x.value().numel()));
}

// sum(out * W) for a fixed random W (in out's dtype, on out's device): a scalar that depends on every output
// entry with distinct weights.
inline autograd::Var weighted_sum(const autograd::Var& out, uint64_t seed = 12345) {
  const Tensor w = uniform(out.shape(), seed).astype(out.dtype()).to(out.device());
  return sum_all(autograd::mul(out, autograd::constant(w)));
}

}  // namespace lethe::test
