// MMRecUn's TRU-style ranking gate (docs/unlearning.md, "Ranking gate"): the reverse term counts only triples
// whose forgotten item still outranks its negative; gated-out triples get no gradient; with every triple
// gated in it is MMRecUn's plain reverse term; its gradient matches float64 central differences.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "models/losses.h"
#include "models/unlearning/method_parts.h"

namespace lethe::unlearning {
namespace {

std::vector<double> vals(const Tensor& t) { return t.astype(DType::F64).to_vector<double>(); }

double gated_value(const std::vector<double>& si, const std::vector<double>& sj) {
  const autograd::Var a = autograd::param(Tensor::from_vector(si, Shape{static_cast<int64_t>(si.size())}));
  const autograd::Var b = autograd::param(Tensor::from_vector(sj, Shape{static_cast<int64_t>(sj.size())}));
  return vals(detail::gated_reverse_loss(a, b).value())[0];
}

TEST(RankGate, CountsOnlyTriplesStillRankedAboveTheirNegative) {
  const std::vector<double> si{2.0, -1.0, 0.5, 0.3},
      sj{1.0, 0.5, 0.7, -0.4};  // rows 0 and 3 still rank i above j
  const autograd::Var a = autograd::param(Tensor::from_vector(si, Shape{4}));
  const autograd::Var b = autograd::param(Tensor::from_vector(sj, Shape{4}));
  const autograd::Var l = detail::gated_reverse_loss(a, b);
  double want = 0;
  for (size_t k : {size_t{0}, size_t{3}}) want -= std::log(1.0 / (1.0 + std::exp(-(sj[k] - si[k]))));
  want /= 4.0;
  EXPECT_NEAR(vals(l.value())[0], want, 1e-12);
  autograd::backward(l);
  const std::vector<double> ga = vals(a.grad()), gb = vals(b.grad());
  EXPECT_EQ(ga[1], 0.0);
  EXPECT_EQ(ga[2], 0.0);
  EXPECT_EQ(gb[1], 0.0);
  EXPECT_EQ(gb[2], 0.0);
  // Central differences (float64, no row near the gate's boundary).
  const double h = 1e-6;
  for (size_t k = 0; k < si.size(); ++k) {
    std::vector<double> p = si, m = si;
    p[k] += h;
    m[k] -= h;
    EXPECT_NEAR(ga[k], (gated_value(p, sj) - gated_value(m, sj)) / (2 * h), 1e-8) << "s_i " << k;
    std::vector<double> pj = sj, mj = sj;
    pj[k] += h;
    mj[k] -= h;
    EXPECT_NEAR(gb[k], (gated_value(si, pj) - gated_value(si, mj)) / (2 * h), 1e-8) << "s_j " << k;
  }
}

TEST(RankGate, EveryTripleGatedInIsThePlainReverseTerm) {
  const std::vector<double> si{2.0, 1.5, 0.9}, sj{1.0, 0.5, 0.7};
  const autograd::Var a = autograd::param(Tensor::from_vector(si, Shape{3}));
  const autograd::Var b = autograd::param(Tensor::from_vector(sj, Shape{3}));
  const autograd::Var a2 = autograd::param(Tensor::from_vector(si, Shape{3}));
  const autograd::Var b2 = autograd::param(Tensor::from_vector(sj, Shape{3}));
  const autograd::Var gated = detail::gated_reverse_loss(a, b), plain = models::bpr_loss_logsigmoid(b2, a2);
  EXPECT_NEAR(vals(gated.value())[0], vals(plain.value())[0], 1e-12);
  autograd::backward(gated);
  autograd::backward(plain);
  for (size_t k = 0; k < si.size(); ++k) {
    EXPECT_NEAR(vals(a.grad())[k], vals(a2.grad())[k], 1e-12);
    EXPECT_NEAR(vals(b.grad())[k], vals(b2.grad())[k], 1e-12);
  }
}

}  // namespace
}  // namespace lethe::unlearning
