// The shared losses (models/losses.h) against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/error.h"
#include "models/losses.h"
#include "tests/models/tiny.h"

namespace lethe::models::testing {
namespace {

autograd::Var mat(const std::vector<double>& v, int64_t rows, int64_t cols) {
  return autograd::param(Tensor::from_vector(v, {rows, cols}));
}
autograd::Var vec(const std::vector<double>& v) { return autograd::param(Tensor::from_vector(v)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

TEST(Losses, BprForms) {
  const std::vector<double> p{1.0, -0.5, 2.0}, n{0.5, 0.5, -1.0};
  double mmrec = 0, logsig = 0;
  for (int k = 0; k < 3; ++k) {
    mmrec -= std::log(1e-10 + sigmoid(p[k] - n[k])) / 3;
    logsig -= std::log(sigmoid(p[k] - n[k])) / 3;
  }
  EXPECT_NEAR(bpr_loss_mmrec(vec(p), vec(n)).value().item(), mmrec, 1e-12);
  EXPECT_NEAR(bpr_loss_logsigmoid(vec(p), vec(n)).value().item(), logsig, 1e-12);
  // Rows: scores are row-wise dots.
  const autograd::Var u = mat({1, 2, 0, 1}, 2, 2), pi = mat({1, 0, 0, 3}, 2, 2), ni = mat({0, 1, 1, 1}, 2, 2);
  const double want = -(std::log(sigmoid(1.0 - 2.0)) + std::log(sigmoid(3.0 - 1.0))) / 2;
  EXPECT_NEAR(bpr_rows_logsigmoid(u, pi, ni).value().item(), want, 1e-12);
}

TEST(Losses, EmbLossAndHalfSquaredRegulariser) {
  const autograd::Var a = mat({3, 4, 0, 0}, 2, 2), b = mat({1, 0, 0, 0, 0, 0}, 3, 2);
  EXPECT_NEAR(emb_loss({a, b}).value().item(), (5.0 + 1.0) / 3.0,
              1e-12);  // Frobenius (not squared) / rows(last)
  EXPECT_NEAR(half_sq_reg({a, b}, 2048).value().item(), 0.5 * (25.0 + 1.0) / 2048.0, 1e-15);
  EXPECT_THROW(half_sq_reg({a}, 0), Error);
}

TEST(Losses, InfoNceMatchesDefinition) {
  const std::vector<double> av{1, 0, 1, 1, 0, 2}, bv{2, 0, 0, 1, 1, 1};
  const int64_t B = 3, D = 2;
  auto normed = [&](const std::vector<double>& x) {
    std::vector<double> y = x;
    for (int64_t r = 0; r < B; ++r) {
      const double nrm = std::hypot(x[r * D], x[r * D + 1]);
      y[r * D] /= nrm;
      y[r * D + 1] /= nrm;
    }
    return y;
  };
  const auto an = normed(av), bn = normed(bv);
  const double tau = 0.2;
  double want = 0;
  for (int64_t r = 0; r < B; ++r) {
    double pos = 0, ttl = 0;
    for (int64_t j = 0; j < B; ++j) {
      const double s = an[r * D] * bn[j * D] + an[r * D + 1] * bn[j * D + 1];
      ttl += std::exp(s / tau);
      if (j == r) pos = std::exp(s / tau);
    }
    want += -std::log(pos / ttl) / B;
  }
  EXPECT_NEAR(info_nce(mat(av, B, D), mat(bv, B, D), tau).value().item(), want, 1e-12);
  EXPECT_THROW(info_nce(mat(av, B, D), mat({1, 2}, 1, 2), tau), Error);
}

}  // namespace
}  // namespace lethe::models::testing
