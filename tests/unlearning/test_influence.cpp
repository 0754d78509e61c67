// The influence method (docs/unlearning.md, "Influence") on a tiny float64 model: conjugate gradients on
// finite-difference Hessian-vector products reach the dense-Hessian solve of (H_r + lambda I) x = g to 1e-6;
// the Hessian-vector product agrees with second differences of the retain objective itself; only the rows
// of the forget set's users and items move.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "engine/ops.h"
#include "fixture.h"
#include "models/unlearning/method_parts.h"

namespace lethe::unlearning::testing {
namespace {

// Gaussian elimination with partial pivoting (dense reference solve).
std::vector<double> dense_solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t piv = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::fabs(a[r][c]) > std::fabs(a[piv][c])) piv = r;
    std::swap(a[c], a[piv]);
    std::swap(b[c], b[piv]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t r = n; r-- > 0;) {
    double s = b[r];
    for (size_t k = r + 1; k < n; ++k) s -= a[r][k] * x[k];
    x[r] = s / a[r][r];
  }
  return x;
}

struct Tiny {
  RequestView view;
  std::unique_ptr<models::Model> model;
};

// A float64 LightGCN with 4-wide embeddings, trained a few epochs, and an interaction request of a few rows.
Tiny tiny_problem() {
  const TinyWorld& w = tiny_world();
  const std::string path = temp_root() + "/influence-rows.tsv";
  {
    std::ofstream f(path);
    f << "userID\titemID\n";
    for (size_t r : {size_t{0}, size_t{1}}) f << w.ds.train.users[r] << "\t" << w.ds.train.items[r] << "\n";
  }
  Tiny t;
  t.view = apply_requests(w.ds, {unlearning::read_request(path)});
  models::Config cfg = models::default_config("lightgcn");
  cfg.set("dtype", "f64");
  cfg.set("embedding_size", "4");
  const models::TrainData full = models::make_train_data(w.ds);
  t.model = models::create_model("lightgcn", cfg, full, kSeed, Device::cpu());
  training::TrainOptions to = training::TrainOptions::from_config(cfg);
  to.quiet = true;
  to.progress = false;
  to.epochs = 5;
  training::Trainer tr(*t.model, full, {}, {}, to);
  tr.train();
  t.model->set_data(t.view.retain);
  return t;
}

TEST(Influence, ConjugateGradientMatchesTheDenseHessianSolve) {
  Tiny t = tiny_problem();
  UnlearnOptions opt;
  opt.seed = kSeed;
  opt.damping = 1.0;  // the BPR Hessian is indefinite (bilinear scores); the damping makes it definite
  detail::InfluenceObjective obj(*t.model, t.view, opt);
  const int64_t n = obj.dim();
  ASSERT_GT(n, 0);
  ASSERT_LE(n, 200);  // small enough for a dense Hessian
  // The dense damped Hessian, column by column (symmetrised: finite differences are symmetric only to
  // their error).
  std::vector<std::vector<double>> h(static_cast<size_t>(n), std::vector<double>(static_cast<size_t>(n)));
  for (int64_t c = 0; c < n; ++c) {
    std::vector<double> e(static_cast<size_t>(n), 0.0);
    e[static_cast<size_t>(c)] = 1.0;
    const std::vector<double> col = obj.hvp(e);
    for (int64_t r = 0; r < n; ++r)
      h[static_cast<size_t>(r)][static_cast<size_t>(c)] = col[static_cast<size_t>(r)];
  }
  double asym = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < r; ++c) {
      asym = std::max(asym, std::fabs(h[static_cast<size_t>(r)][static_cast<size_t>(c)] -
                                      h[static_cast<size_t>(c)][static_cast<size_t>(r)]));
      const double m = 0.5 * (h[static_cast<size_t>(r)][static_cast<size_t>(c)] +
                              h[static_cast<size_t>(c)][static_cast<size_t>(r)]);
      h[static_cast<size_t>(r)][static_cast<size_t>(c)] = h[static_cast<size_t>(c)][static_cast<size_t>(r)] =
          m;
    }
  EXPECT_LT(asym, 1e-7);
  for (int64_t k = 0; k < n; ++k) h[static_cast<size_t>(k)][static_cast<size_t>(k)] += opt.damping;
  const std::vector<double> g = obj.forget_gradient();
  double gn = 0;
  for (double x : g) gn += x * x;
  ASSERT_GT(gn, 0.0);
  const std::vector<double> want = dense_solve(h, g);
  const detail::CgResult cg = detail::conjugate_gradient(
      [&](const std::vector<double>& v) {
        std::vector<double> hv = obj.hvp(v);
        for (size_t k = 0; k < hv.size(); ++k) hv[k] += opt.damping * v[k];
        return hv;
      },
      g, 10 * n, 1e-12);
  double err = 0, scale = 0;
  for (size_t k = 0; k < want.size(); ++k)
    err = std::max(err, std::fabs(cg.x[k] - want[k])), scale = std::max(scale, std::fabs(want[k]));
  EXPECT_LT(err, 1e-6) << "largest entry " << scale << ", CG iterations " << cg.iterations;
  EXPECT_GT(scale, 1e-3);  // a solve with something in it
}

TEST(Influence, HessianVectorProductsAgreeWithSecondDifferencesOfTheObjective) {
  Tiny t = tiny_problem();
  UnlearnOptions opt;
  opt.seed = kSeed;
  detail::InfluenceObjective obj(*t.model, t.view, opt);
  const std::vector<double> x0 = obj.get();
  Rng rng(3);
  for (int trial = 0; trial < 3; ++trial) {
    std::vector<double> v(x0.size());
    for (double& e : v) e = rng.normal();
    const std::vector<double> hv = obj.hvp(v);
    double vhv = 0;
    for (size_t k = 0; k < v.size(); ++k) vhv += v[k] * hv[k];
    const double h = 1e-4;
    std::vector<double> x(x0.size());
    const double f0 = obj.retain_value();
    for (size_t k = 0; k < x.size(); ++k) x[k] = x0[k] + h * v[k];
    obj.set(x);
    const double fp = obj.retain_value();
    for (size_t k = 0; k < x.size(); ++k) x[k] = x0[k] - h * v[k];
    obj.set(x);
    const double fm = obj.retain_value();
    obj.set(x0);
    const double second = (fp - 2 * f0 + fm) / (h * h);
    EXPECT_NEAR(vhv, second, 1e-4 * std::max(1.0, std::fabs(second))) << "trial " << trial;
  }
}

TEST(Influence, OnlyTheForgetSetRowsMove) {
  Tiny t = tiny_problem();
  std::vector<std::pair<std::string, Tensor>> before;
  for (auto& [n, p] : t.model->parameters()) before.emplace_back(n, p.value().clone());
  UnlearnOptions opt;
  opt.method = Method::Influence;
  opt.seed = kSeed;
  opt.quiet = true;
  std::ostringstream sink;
  opt.log = &sink;
  const UnlearnResult r = run_method(t.model, "lightgcn", t.model->config(), t.view, opt);
  EXPECT_GT(r.extra["step_norm"].get<double>(), 0.0);
  const detail::ForgetRows rows = detail::forget_rows(t.view);
  auto params = t.model->parameters();
  for (size_t k = 0; k < params.size(); ++k) {
    const std::string& name = params[k].first;
    const std::vector<double> a = before[k].second.astype(DType::F64).to_vector<double>();
    const std::vector<double> b = params[k].second.value().astype(DType::F64).to_vector<double>();
    const int64_t d = params[k].second.cols();
    std::vector<uint8_t> may(static_cast<size_t>(params[k].second.rows()), 0);
    if (name == t.model->user_table())
      for (int32_t u : rows.users) may[static_cast<size_t>(u)] = 1;
    if (name == t.model->item_table())
      for (int32_t i : rows.items) may[static_cast<size_t>(i)] = 1;
    for (size_t e = 0; e < a.size(); ++e) {
      if (!may[e / static_cast<size_t>(d)]) {
        ASSERT_EQ(a[e], b[e]) << name << " entry " << e;
      }
    }
  }
  // Influence is one step: epochs and the until-forgotten rule are refused.
  opt.epochs = 2;
  EXPECT_THROW(check_options(opt, t.view), Error);
}

}  // namespace
}  // namespace lethe::unlearning::testing

namespace lethe::unlearning::testing {
namespace {

TEST(Influence, ConjugateGradientSolvesDefiniteSystemsAndRefusesIndefiniteOnes) {
  auto apply = [](const std::vector<std::vector<double>>& a) {
    return [a](const std::vector<double>& v) {
      std::vector<double> out(v.size(), 0.0);
      for (size_t r = 0; r < v.size(); ++r)
        for (size_t c = 0; c < v.size(); ++c) out[r] += a[r][c] * v[c];
      return out;
    };
  };
  const detail::CgResult cg = detail::conjugate_gradient(apply({{4, 1}, {1, 3}}), {1, 2}, 10, 1e-14);
  EXPECT_NEAR(cg.x[0], 1.0 / 11.0, 1e-14);  // [4 1; 1 3]^-1 [1 2] = [1/11, 7/11]
  EXPECT_NEAR(cg.x[1], 7.0 / 11.0, 1e-14);
  EXPECT_LE(cg.iterations, 2);
  EXPECT_THROW(detail::conjugate_gradient(apply({{1, 0}, {0, -2}}), {0, 1}, 10, 1e-14),
               detail::NotPositiveDefinite);
}

}  // namespace
}  // namespace lethe::unlearning::testing
