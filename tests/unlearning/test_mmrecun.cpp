// MMRecUn's two choices beyond the paper's objective (docs/unlearning.md, "MMRecUn"): the own-rows step (the
// user-table rows of users left without data take a larger learning rate) and the landing of
// until-forgotten (the crossing epoch is cut back to where the forget recall meets the reference).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/ops.h"
#include "datasets/sampler.h"
#include "fixture.h"
#include "models/unlearning/unlearn_run.h"

namespace lethe::unlearning::testing {
namespace {

struct UserRequestWorld {
  RequestView view;
  std::vector<int32_t> own;  // forgotten users (a user request leaves them no data)
};

const UserRequestWorld& user_request() {
  static const UserRequestWorld w = [] {
    const TinyWorld& t = tiny_world();
    UserRequestWorld u;
    u.view = apply_requests(t.ds, {unlearning::read_request(write_generated_request(t.ds, unlearning::RequestKind::User, 0.05, "own-rows"))});
    u.own = u.view.forgotten_users;
    return u;
  }();
  return w;
}

std::unique_ptr<models::Model> load_original(const std::string& dir) {
  return load_model_run(dir, models::make_train_data(tiny_world().ds), "original").model;
}

std::vector<float> table_of(models::Model& m) {
  for (auto& [name, p] : m.parameters())
    if (name == m.user_table()) return p.value().astype(DType::F32).to_vector<float>();
  ADD_FAILURE() << m.name() << ": no parameter named " << m.user_table();
  return {};
}

// The premise of the own-rows step: after the rebuild from D_r, no retain loss reaches a forgotten user's
// row, for every model (their only gradient comes from the reverse term).
TEST(MMRecUnOwnRows, RetainLossNeverReachesAForgottenUsersRow) {
  const UserRequestWorld& w = user_request();
  ASSERT_FALSE(w.own.empty());
  for (const std::string& name : models::model_names()) {
    SCOPED_TRACE(name);
    models::Config cfg = models::default_config(name);
    auto model = models::create_model(name, cfg, w.view.retain, kSeed, Device::cpu());
    autograd::Var table;
    for (auto& [n, p] : model->parameters())
      if (n == model->user_table()) table = p;
    ASSERT_TRUE(table.defined()) << "user_table() names no parameter";
    ASSERT_EQ(table.value().rows(), w.view.retain.n_users);
    // Every retained training row in one batch: the whole retain loss.
    datasets::BprSampler s = datasets::BprSampler::for_training(w.view.retain.train, w.view.retain.n_users,
                                                        static_cast<int64_t>(w.view.retain.train.size()));
    Rng rng(3);
    const datasets::BprBatch b = s.batch(0, rng);
    models::Batch batch;
    const Shape sh{static_cast<int64_t>(b.size())};
    batch.users = Tensor::from_vector(b.users, sh);
    batch.pos = Tensor::from_vector(b.pos, sh);
    batch.neg = Tensor::from_vector(b.neg, sh);
    Rng pre(4);
    model->pre_epoch(pre);
    autograd::backward(model->loss(model->forward(true), batch));
    const std::vector<float> g = table.grad().astype(DType::F32).to_vector<float>();
    const int64_t d = table.value().cols();
    double own_max = 0.0, other_max = 0.0;
    std::vector<uint8_t> is_own(static_cast<size_t>(w.view.retain.n_users), 0);
    for (int32_t u : w.own) is_own[static_cast<size_t>(u)] = 1;
    for (int64_t u = 0; u < w.view.retain.n_users; ++u)
      for (int64_t c = 0; c < d; ++c) {
        double& mx = is_own[static_cast<size_t>(u)] ? own_max : other_max;
        mx = std::max(mx, static_cast<double>(std::abs(g[static_cast<size_t>(u * d + c)])));
      }
    EXPECT_EQ(own_max, 0.0);
    EXPECT_GT(other_max, 0.0);  // the loss does reach the retained users
  }
}

// One step (the tiny forget set fits one batch) from the same start with factor 1 and factor 7: the own rows
// move exactly 7 times as far, every other parameter identically.
TEST(MMRecUnOwnRows, OwnRowsTakeTheFactorTimesTheStep) {
  const UserRequestWorld& w = user_request();
  ASSERT_LE(static_cast<int64_t>(w.view.step_forget.size()), 2048);
  const std::string run = tiny_world().quick_run_dir();
  auto start = load_original(run);
  start->set_data(w.view.retain);
  const std::vector<float> t0 = table_of(*start);
  std::vector<std::unique_ptr<models::Model>> out;
  std::vector<UnlearnResult> res;
  for (double factor : {1.0, 7.0}) {
    auto m = load_original(run);
    UnlearnOptions o;
    o.epochs = 1;
    o.quiet = true;
    o.own_rows_lr_factor = factor;
    res.push_back(run_method(m, "lightgcn", m->config(), w.view, o));
    out.push_back(std::move(m));
  }
  EXPECT_EQ(res[1].extra["own_rows"].get<int64_t>(), static_cast<int64_t>(w.own.size()));
  const std::vector<float> a = table_of(*out[0]), b = table_of(*out[1]);
  const int64_t d = static_cast<int64_t>(a.size()) / w.view.retain.n_users;
  std::vector<uint8_t> is_own(static_cast<size_t>(w.view.retain.n_users), 0);
  for (int32_t u : w.own) is_own[static_cast<size_t>(u)] = 1;
  double moved = 0.0;
  for (int64_t u = 0; u < w.view.retain.n_users; ++u)
    for (int64_t c = 0; c < d; ++c) {
      const size_t k = static_cast<size_t>(u * d + c);
      if (is_own[static_cast<size_t>(u)]) {
        EXPECT_NEAR(b[k] - t0[k], 7.0 * (a[k] - t0[k]), 1e-6) << "user " << u;
        moved = std::max(moved, static_cast<double>(std::abs(a[k] - t0[k])));
      } else {
        EXPECT_EQ(b[k], a[k]) << "user " << u;
      }
    }
  EXPECT_GT(moved, 1e-4);
  auto pa = out[0]->parameters(), pb = out[1]->parameters();
  for (size_t k = 0; k < pa.size(); ++k)
    if (pa[k].first != out[0]->user_table()) EXPECT_EQ(ops::max_abs_diff(pa[k].second.value(), pb[k].second.value()), 0.0) << pa[k].first;
}

// The landing: the same run with and without it stops after the same epoch; with it the forget recall sits
// at or below the reference but not below where the whole epoch went, and the recorded value is the model's.
TEST(MMRecUnLanding, CutsTheCrossingEpochBackToTheReference) {
  const UserRequestWorld& w = user_request();
  const std::string run = tiny_world().run_dir_full();
  std::vector<UnlearnResult> res;
  std::vector<std::unique_ptr<models::Model>> models_out;
  for (bool landing : {false, true}) {
    auto m = load_original(run);
    UnlearnOptions o;
    o.until_forgotten = true;
    o.max_epochs = 100;
    o.quiet = true;
    o.landing = landing;
    res.push_back(run_method(m, "lightgcn", m->config(), w.view, o));
    models_out.push_back(std::move(m));
  }
  ASSERT_EQ(res[0].stop_reason, "until-forgotten");
  ASSERT_EQ(res[1].stop_reason, "until-forgotten");
  EXPECT_EQ(res[0].epochs_run, res[1].epochs_run);
  const EpochLog& plain = res[0].epochs.back();
  const EpochLog& landed = res[1].epochs.back();
  EXPECT_LE(plain.forget_recall, plain.reference);
  EXPECT_LE(landed.forget_recall, landed.reference);
  EXPECT_GE(landed.forget_recall, plain.forget_recall);
  if (plain.forget_recall < plain.reference) {
    ASSERT_TRUE(res[1].extra.contains("landing_fraction"));
    const double t = res[1].extra["landing_fraction"];
    EXPECT_GT(t, 0.0);
    EXPECT_LE(t, 1.0);
    EXPECT_DOUBLE_EQ(res[1].extra["forget_recall_before_landing"].get<double>(), plain.forget_recall);
  }
  const ForgetCheck now = forget_check(*models_out[1], w.view, w.view.step_forget);
  EXPECT_DOUBLE_EQ(now.forget_recall, landed.forget_recall);
  std::cout << "forget recall at the stop: without landing " << plain.forget_recall << ", with " << landed.forget_recall
            << " (reference " << landed.reference << ")\n";
}

// Item requests keep their users' data: the reference is their held-out recall, not gold's level, so the
// plain rule stops the run and nothing is cut back; no own rows either.
TEST(MMRecUnLanding, NotForRequestsWhoseUsersKeepData) {
  const TinyWorld& t = tiny_world();
  const RequestView view =
      apply_requests(t.ds, {unlearning::read_request(write_generated_request(t.ds, unlearning::RequestKind::Item, 0.05, "landing-item"))});
  auto m = load_original(t.quick_run_dir());
  UnlearnOptions o;
  o.until_forgotten = true;
  o.max_epochs = 50;
  o.quiet = true;
  const UnlearnResult r = run_method(m, "lightgcn", m->config(), view, o);
  EXPECT_FALSE(r.extra.contains("landing_fraction"));
  EXPECT_EQ(r.extra["own_rows"].get<int64_t>(), 0);
  if (r.stop_reason == "until-forgotten") EXPECT_LE(r.epochs.back().forget_recall, r.epochs.back().reference);
}

}  // namespace
}  // namespace lethe::unlearning::testing
