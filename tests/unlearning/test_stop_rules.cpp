// The until-forgotten rule of every request kind (docs/unlearning.md, "Stopping"): the reference is computed
// as documented (checked against a brute-force computation), and on tiny data the original sits far above
// gold's forget recall while MMRecUn, which never sees gold, stops inside gold's band for user, item and
// interaction requests. Gold is trained here only to be compared with; nothing of it reaches the method.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <sstream>

#include "engine/ops.h"
#include "engine/rng.h"
#include "fixture.h"
#include "models/eval/evaluator.h"
#include "models/layers.h"
#include "models/unlearning/unlearn_run.h"

namespace lethe::unlearning::testing {
namespace {

// Recall@20 of `targets` for user vectors `uv` ([n_users, d] host rows) against item embeddings `iv`,
// masking each user's `mask` items, averaged over `users`: the definition, written out.
double brute_recall20(const std::vector<float>& uv, const std::vector<float>& iv, int64_t n_items, int64_t d,
                      const datasets::UserItems& mask, const datasets::UserItems& targets,
                      const std::vector<int32_t>& users) {
  double sum = 0;
  for (int32_t u : users) {
    std::vector<std::pair<double, int32_t>> s;
    for (int32_t i = 0; i < n_items; ++i) {
      if (mask.contains(u, i)) continue;
      double dot = 0;
      for (int64_t j = 0; j < d; ++j) dot += static_cast<double>(uv[u * d + j]) * iv[i * d + j];
      s.emplace_back(-dot, i);  // ascending = best first; ties by lower id
    }
    std::sort(s.begin(), s.end());
    int hits = 0;
    for (size_t k = 0; k < std::min<size_t>(20, s.size()); ++k) hits += targets.contains(u, s[k].second);
    sum += static_cast<double>(hits) / targets.degree(u);
  }
  return sum / static_cast<double>(users.size());
}

// A 5% interaction request on the tiny world's original, with what both recall levels are computed from: the
// final embeddings on D_r, the masks and targets, and each forget user's mean retained-item vector.
struct InteractionCase {
  RequestView view;
  std::unique_ptr<models::Model> model;
  std::vector<float> uv, iv;  // final user / item embeddings
  int64_t d = 0, n_items = 0;
  datasets::UserItems retained, targets;
  std::vector<int32_t> users;
  std::vector<float> mean;  // [n_users, d]: each forget user's mean retained-item embedding (zero elsewhere)

  InteractionCase() {
    const TinyWorld& w = tiny_world();
    view = apply_requests(
        w.ds,
        {read_request(write_generated_request(w.ds, RequestKind::Interaction, 0.05, "ref-interaction"))});
    model = load_model_run(w.run_dir_full(), models::make_train_data(w.ds), "original").model;
    model->set_data(view.retain);
    Tensor ue, ie;
    {
      autograd::NoGrad ng;
      const models::Forward f = model->forward(false);
      ue = f.users.value();
      ie = f.items.value();
    }
    d = ie.cols();
    n_items = ie.rows();
    uv = ue.to_vector<float>();
    iv = ie.to_vector<float>();
    retained = datasets::UserItems::build(view.retain.train, view.retain.n_users);
    targets = datasets::UserItems::build(view.step_forget, view.retain.n_users);
    users = datasets::unique_users(view.step_forget);
    mean.assign(static_cast<size_t>(ue.rows() * d), 0.0f);
    for (int32_t u : users)
      for (int32_t p = retained.indptr[u]; p < retained.indptr[u + 1]; ++p)
        for (int64_t j = 0; j < d; ++j)
          mean[u * d + j] += iv[retained.items[p] * d + j] / static_cast<float>(retained.degree(u));
  }
  double recall(const std::vector<float>& user_vecs, const std::vector<float>& item_vecs) const {
    return brute_recall20(user_vecs, item_vecs, n_items, d, retained, targets, users);
  }
};

TEST(StopRules, RetainedReferenceIsTheRecallOfTheMeanOfEachUsersRetainedItems) {
  const InteractionCase t;
  const ForgetCheck c = forget_check(*t.model, t.view, t.view.step_forget, Reference::Retained);
  ASSERT_EQ(c.users_without_data, 0);  // interaction requests leave every user some data
  EXPECT_NEAR(c.ref_retained, t.recall(t.mean, t.iv), 1e-12);
  EXPECT_DOUBLE_EQ(c.reference, c.ref_retained);
  EXPECT_NEAR(c.forget_recall, t.recall(t.uv, t.iv), 1e-12);
  // The plain held-out rule is still reachable and uses the same users' test rows.
  const ForgetCheck h = forget_check(*t.model, t.view, t.view.step_forget, Reference::HeldOut);
  EXPECT_DOUBLE_EQ(h.reference, h.ref_heldout);
  EXPECT_DOUBLE_EQ(h.forget_recall, c.forget_recall);
}

// The default two-sided level: the user side as above, and every forget pair's item that keeps data scored
// with the direction of the mean of its retained users' final embeddings at its own norm.
TEST(StopRules, TwoSidedReferenceAlsoReplacesTheForgottenItemsByTheirRetainedUsers) {
  const InteractionCase t;
  const ForgetCheck c = forget_check(*t.model, t.view, t.view.step_forget);
  ASSERT_GE(c.ref_two_sided, 0);
  EXPECT_DOUBLE_EQ(c.reference, c.ref_two_sided);  // the default rule
  // Every item's retained users, by a scan of D_r.
  std::map<int32_t, std::vector<int32_t>> buyers;
  for (size_t k = 0; k < t.view.retain.train.size(); ++k)
    buyers[t.view.retain.train.items[k]].push_back(t.view.retain.train.users[k]);
  std::vector<float> iv = t.iv;
  const int64_t d = t.d;
  int replaced = 0;
  for (int32_t i : datasets::unique_items(t.view.step_forget)) {
    if (!buyers.count(i)) continue;
    std::vector<double> s(static_cast<size_t>(d), 0.0);
    for (int32_t v : buyers[i])
      for (int64_t j = 0; j < d; ++j) s[j] += t.uv[v * d + j];
    double sn = 0, own = 0;
    for (int64_t j = 0; j < d; ++j) {
      sn += s[j] * s[j];
      own += static_cast<double>(iv[i * d + j]) * iv[i * d + j];
    }
    for (int64_t j = 0; j < d; ++j) iv[i * d + j] = static_cast<float>(s[j] * std::sqrt(own / sn));
    ++replaced;
  }
  ASSERT_GT(replaced, 0);
  EXPECT_NEAR(c.ref_two_sided, t.recall(t.mean, iv), 1e-12);
}

// The reference a rule decides by is the same whether or not the check also measures every other candidate
// (until-forgotten checks without them): user, item and interaction requests, under every rule. An item
// request keeps no forgotten item with data, so the two-sided rule falls back to the user-side level there.
TEST(StopRules, TheDecidingReferenceDoesNotDependOnDiagnostics) {
  const TinyWorld& w = tiny_world();
  auto m = load_model_run(w.run_dir_full(), models::make_train_data(w.ds), "original").model;
  for (RequestKind kind : {RequestKind::User, RequestKind::Item, RequestKind::Interaction}) {
    const RequestView view =
        apply_requests(w.ds, {read_request(write_generated_request(
                                 w.ds, kind, 0.05, std::string("diag-") + request_kind_name(kind)))});
    m->set_data(view.retain);
    for (Reference rule : {Reference::Retained, Reference::TwoSided, Reference::HeldOut}) {
      SCOPED_TRACE(std::string(request_kind_name(kind)) + " / " + reference_name(rule));
      ForgetChecker checker(view, view.step_forget, Device::cpu(), rule);
      checker.fix_item_rank_reference(*m);
      const ForgetCheck quiet = checker.check(*m, false), full = checker.check(*m, true);
      EXPECT_DOUBLE_EQ(quiet.reference, full.reference);
      // The level the rule decides by is measured in the quiet check too.
      const double ForgetCheck::*decides = rule == Reference::HeldOut ? &ForgetCheck::ref_heldout
                                           : rule == Reference::TwoSided && full.ref_two_sided >= 0
                                               ? &ForgetCheck::ref_two_sided
                                               : &ForgetCheck::ref_retained;
      EXPECT_DOUBLE_EQ(quiet.*decides, full.*decides);
      EXPECT_DOUBLE_EQ(quiet.forget_recall, full.forget_recall);
      EXPECT_EQ(quiet.forgotten(), full.forgotten());
    }
    if (kind == RequestKind::Item) {
      ForgetChecker two_sided(view, view.step_forget, Device::cpu(), Reference::TwoSided);
      ForgetChecker retained(view, view.step_forget, Device::cpu(), Reference::Retained);
      EXPECT_DOUBLE_EQ(two_sided.check(*m, false).reference, retained.check(*m, false).reference);
    }
  }
}

// Which reference decides: recall wherever some forget pair's item keeps data (the item rank is then only
// reported), the item rank alone where every pair's item lost all its data.
TEST(StopRules, RecallDecidesUnlessEveryForgottenItemLostAllItsData) {
  ForgetCheck c;
  c.forget_recall = 0.10;
  c.reference = 0.12;
  c.item_rank = 0.8;
  c.item_rank_reference = 0.5;
  EXPECT_TRUE(c.forgotten());  // interaction request: a few emptied items ranking high do not hold it back
  EXPECT_TRUE(c.overshot());
  c.forget_recall = 0.12;
  EXPECT_TRUE(c.forgotten());
  EXPECT_FALSE(c.overshot());
  c.recall_decides = false;  // item request: the rank decides, recall is not read
  EXPECT_FALSE(c.forgotten());
  c.item_rank = 0.4;
  c.forget_recall = 0.9;
  EXPECT_TRUE(c.forgotten());
  EXPECT_TRUE(c.overshot());
  c.item_rank = 0.5;
  EXPECT_FALSE(c.overshot());
}

TEST(StopRules, UserRequestReferenceIsTheRandomDirectionLevel) {
  const TinyWorld& w = tiny_world();
  const RequestView view = apply_requests(
      w.ds, {read_request(write_generated_request(w.ds, RequestKind::User, 0.05, "ref-user"))});
  auto m = load_model_run(w.run_dir_full(), models::make_train_data(w.ds), "original").model;
  m->set_data(view.retain);
  const ForgetCheck c = forget_check(*m, view, view.step_forget);
  EXPECT_EQ(c.users_without_data, static_cast<int64_t>(view.forgotten_users.size()));
  EXPECT_LT(c.ref_retained, 0);  // no user keeps data
  EXPECT_DOUBLE_EQ(c.reference, c.ref_no_data);
  // Far below what the original still scores for its forgotten users.
  EXPECT_LT(c.reference, 0.5 * c.forget_recall);
}

// Mean over (u, i) of the fraction of the other items that u's score ranks strictly below i, with dot
// products in double: the definition, written out.
double brute_item_rank(const Tensor& ue, const Tensor& ie, const datasets::Interactions& pairs) {
  const std::vector<float> uv = ue.to_vector<float>(), iv = ie.to_vector<float>();
  const int64_t d = ie.cols(), n_items = ie.rows();
  double sum = 0;
  for (size_t k = 0; k < pairs.size(); ++k) {
    std::vector<double> s(static_cast<size_t>(n_items));
    for (int64_t i = 0; i < n_items; ++i)
      for (int64_t j = 0; j < d; ++j) s[i] += static_cast<double>(uv[pairs.users[k] * d + j]) * iv[i * d + j];
    const double v = s[static_cast<size_t>(pairs.items[k])];
    sum += static_cast<double>(std::count_if(s.begin(), s.end(), [&](double x) { return x < v; })) /
           static_cast<double>(n_items - 1);
  }
  return sum / static_cast<double>(pairs.size());
}

std::pair<Tensor, Tensor> eval_embeddings(models::Model& m) {
  autograd::NoGrad ng;
  const models::Forward f = m.forward(false);
  return {f.users.value(), f.items.value()};
}

// Items left without data: the forget pairs' mean rank, and the same with the items' ID rows drawn fresh
// from the model's initialisation (seed 0x17e5, as the checker draws them); the check leaves the model as
// it found it, and MMRecUn stops with the rank at or below that reference while the original is far above.
TEST(StopRules, ItemRequestRanksAgainstFreshItemRows) {
  const TinyWorld& w = tiny_world();
  const std::string req = write_generated_request(w.ds, RequestKind::Item, 0.05, "ref-item-rank");
  const RequestView view = apply_requests(w.ds, {read_request(req)});
  auto m = load_model_run(w.run_dir_full(), models::make_train_data(w.ds), "original").model;
  m->set_data(view.retain);
  autograd::Var table;
  for (auto& [name, p] : m->parameters())
    if (name == m->item_table()) table = p;
  const std::vector<float> before = table.value().to_vector<float>();
  const ForgetCheck c = forget_check(*m, view, view.step_forget);
  EXPECT_EQ(table.value().to_vector<float>(), before);  // the fresh rows were swapped back out

  const auto [ue, ie] = eval_embeddings(*m);
  const double tol =
      2.0 / (static_cast<double>(view.step_forget.size()) * static_cast<double>(ie.rows() - 1));
  EXPECT_NEAR(c.item_rank, brute_item_rank(ue, ie, view.step_forget), tol);  // every item lost all its data
  Rng rng(0x17e5);
  const Tensor fresh =
      models::fresh_id_rows(*m, m->item_table(), static_cast<int64_t>(view.forgotten_items.size()), rng);
  std::vector<float> swapped = before;
  const std::vector<float> fv = fresh.to_vector<float>();
  const int64_t d = table.value().cols();
  for (size_t r = 0; r < view.forgotten_items.size(); ++r)
    std::copy_n(fv.begin() + static_cast<std::ptrdiff_t>(r * d), d,
                swapped.begin() + static_cast<std::ptrdiff_t>(view.forgotten_items[r] * d));
  table.mutable_value().copy_from(Tensor::from_vector(swapped, table.value().shape()));
  const auto [ue0, ie0] = eval_embeddings(*m);
  EXPECT_NEAR(c.item_rank_reference, brute_item_rank(ue0, ie0, view.step_forget), tol);
  EXPECT_GT(c.item_rank, c.item_rank_reference + 0.2);  // the original ranks its forgotten items far higher
  EXPECT_FALSE(c.forgotten());
  EXPECT_FALSE(c.recall_decides);  // an item request: the rank alone decides

  // Fixed before the method moves rows: later checks keep that value while a live one moves with the users.
  table.mutable_value().copy_from(Tensor::from_vector(before, table.value().shape()));
  ForgetChecker fixed(view, view.step_forget, Device::cpu());
  fixed.fix_item_rank_reference(*m);
  EXPECT_DOUBLE_EQ(fixed.check(*m, false).item_rank_reference, c.item_rank_reference);
  for (auto& [name, p] : m->parameters())
    if (name == m->user_table())
      p.mutable_value().copy_from(ops::scale(p.value(), -1.0));  // users turn round
  const double live = forget_check(*m, view, view.step_forget).item_rank_reference;
  EXPECT_NE(live, c.item_rank_reference);  // a live reference follows the users
  EXPECT_DOUBLE_EQ(fixed.check(*m, false).item_rank_reference, c.item_rank_reference);

  std::ostringstream sink;
  const std::string mu_dir = fresh_dir("item-rank-mmrecun");
  const UnlearnResult r = unlearn_tiny(req, Method::MMRecUn, mu_dir, sink);
  ModelRun mu = load_model_run(mu_dir, view.retain, "mmrecun");
  ForgetChecker at_stop(view, view.step_forget, Device::cpu());
  auto m0 = load_model_run(w.run_dir_full(), models::make_train_data(w.ds), "original").model;
  m0->set_data(view.retain);
  at_stop.fix_item_rank_reference(*m0);  // the reference as the method fixed it, before any row moved
  const ForgetCheck after = at_stop.check(*mu.model, false);
  EXPECT_EQ(r.stop_reason, "until-forgotten");
  EXPECT_DOUBLE_EQ(r.epochs.back().candidates.at("item_rank_reference").get<double>(), c.item_rank_reference);
  EXPECT_TRUE(after.forgotten());
  EXPECT_LE(after.item_rank, c.item_rank_reference);
}

// --pair-rank (interaction requests): the forget pairs whose item keeps data, ranked over all items with the
// users' own rows, against the same pairs with each user's vector the mean of its retained items' final
// embeddings (the user-side level's vector). Measured only when asked for or in diagnostic checks; when it
// applies, a check is forgotten only with both the recall and the rank at or below their levels, unless the
// recall floor is on and the recall is at or below it. MMRecUn run with it stops with the pairs' rank at or
// below that level; with the floor too, no later, at the rank's level or the floor.
TEST(StopRules, PairRankComparesTheForgottenPairsWithWhatTheirUsersRetainedItemsSay) {
  const InteractionCase t;
  datasets::Interactions kept;  // every forget pair here: interaction requests leave users and items data
  for (size_t k = 0; k < t.view.step_forget.size(); ++k)
    kept.push(t.view.step_forget.users[k], t.view.step_forget.items[k]);
  std::vector<uint8_t> has_data(static_cast<size_t>(t.n_items), 0);
  for (int32_t i : t.view.retain.train.items) has_data[static_cast<size_t>(i)] = 1;
  for (size_t k = 0; k < kept.size(); ++k) ASSERT_TRUE(has_data[static_cast<size_t>(kept.items[k])]);

  ForgetChecker plain(t.view, t.view.step_forget, Device::cpu());
  const ForgetCheck quiet = plain.check(*t.model, false);
  EXPECT_LT(quiet.pair_rank, 0);  // not asked for: not measured
  EXPECT_FALSE(quiet.pair_rank_applies);
  const ForgetCheck diag = plain.check(*t.model, true);
  EXPECT_GE(diag.pair_rank, 0);  // logged in diagnostic checks, deciding nothing
  EXPECT_FALSE(diag.pair_rank_applies);

  ForgetChecker ranked(t.view, t.view.step_forget, Device::cpu());
  ranked.set_pair_rank(true);
  // The original is above the recall level: a quiet check does not measure the rank, and is not forgotten.
  const ForgetCheck early = ranked.check(*t.model, false);
  ASSERT_GT(early.forget_recall, early.reference);
  EXPECT_TRUE(early.pair_rank_applies);
  EXPECT_LT(early.pair_rank, 0);
  EXPECT_FALSE(early.forgotten());
  const ForgetCheck c = ranked.check(*t.model, true);
  ASSERT_TRUE(c.pair_rank_applies);
  const auto [ue, ie] = eval_embeddings(*t.model);
  const double tol = 2.0 / (static_cast<double>(kept.size()) * static_cast<double>(t.n_items - 1));
  EXPECT_NEAR(c.pair_rank, brute_item_rank(ue, ie, kept), tol);
  EXPECT_NEAR(c.pair_rank_reference, brute_item_rank(Tensor::from_vector(t.mean, ue.shape()), ie, kept), tol);
  EXPECT_DOUBLE_EQ(c.pair_rank, diag.pair_rank);
  EXPECT_GT(c.pair_rank, c.pair_rank_reference);   // the original ranks its forgotten pairs higher
  EXPECT_DOUBLE_EQ(c.reference, quiet.reference);  // the recall level is unchanged

  // Both conditions.
  ForgetCheck f;
  f.forget_recall = 0.10;
  f.reference = 0.12;
  f.pair_rank = 0.9;
  f.pair_rank_reference = 0.8;
  EXPECT_TRUE(f.forgotten());  // not applied: recall alone
  f.pair_rank_applies = true;
  EXPECT_FALSE(f.forgotten());
  f.pair_rank = -1;  // not measured: not forgotten
  f.pair_rank_reference = -1;
  EXPECT_FALSE(f.forgotten());
  f.pair_rank_reference = 0.8;
  f.pair_rank = 0.8;
  EXPECT_TRUE(f.forgotten());
  EXPECT_TRUE(f.overshot());  // recall strictly below
  f.forget_recall = 0.12;
  EXPECT_FALSE(f.overshot());
  f.pair_rank = 0.7;
  EXPECT_TRUE(f.overshot());
  EXPECT_EQ(f.decided_by(), "pair rank");

  // The recall floor: the rank holds the run on only while the recall is above it.
  f.pair_rank = 0.9;
  f.forget_recall = 0.10;
  EXPECT_FALSE(f.forgotten());
  f.recall_floor = 0.09;
  EXPECT_FALSE(f.forgotten());  // between the floor and the reference: the rank decides
  EXPECT_EQ(f.decided_by(), "");
  f.forget_recall = 0.09;
  EXPECT_TRUE(f.forgotten());  // at the floor: forgotten whatever the rank
  EXPECT_TRUE(f.overshot());
  EXPECT_EQ(f.decided_by(), "recall floor");
  f.pair_rank = 0.8;
  EXPECT_EQ(f.decided_by(), "pair rank");  // both hold: the rank is the stronger evidence
  f.pair_rank_applies = false;
  EXPECT_EQ(f.decided_by(), "recall level");
  f.forget_recall = 0.13;
  EXPECT_FALSE(f.forgotten());  // the floor never stops a run above the reference
  EXPECT_EQ(f.decided_by(), "");
  f.recall_decides = false;  // item requests: the item rank decides
  f.item_rank = 0.5;
  f.item_rank_reference = 0.6;
  EXPECT_EQ(f.decided_by(), "item rank");

  // Its value: the reference less two binomial standard errors over the reference's users; only where the
  // pair rank applies.
  EXPECT_LT(c.recall_floor, 0);  // not asked for
  ForgetChecker floored(t.view, t.view.step_forget, Device::cpu());
  floored.set_recall_floor(true);
  EXPECT_LT(floored.check(*t.model, false).recall_floor, 0);  // without the pair rank: off
  floored.set_pair_rank(true);
  const ForgetCheck fl = floored.check(*t.model, false);
  const double n = static_cast<double>(fl.forget_users);
  ASSERT_GT(n, 0);
  EXPECT_NEAR(fl.recall_floor, fl.reference - 2 * std::sqrt(fl.reference * (1 - fl.reference) / n), 1e-12);
  EXPECT_DOUBLE_EQ(fl.reference, quiet.reference);

  const TinyWorld& w = tiny_world();
  const std::string req = write_generated_request(w.ds, RequestKind::Interaction, 0.05, "ref-interaction");
  UnlearnJob job;
  job.run_dir = w.run_dir_full();
  job.request_files = {req};
  job.out_dir = fresh_dir("pair-rank-mmrecun");
  job.options.method = Method::MMRecUn;
  job.options.pair_rank = true;
  job.options.recall_floor = false;
  job.options.quiet = true;
  std::ostringstream sink;
  const UnlearnResult r = run_unlearn_job(job, sink).back();
  EXPECT_EQ(r.stop_reason, "until-forgotten");
  EXPECT_EQ(r.extra.value("stopped_on", ""), "pair rank");  // without the floor only the rank can stop it
  ModelRun mu = load_model_run(job.out_dir, t.view.retain, "mmrecun");
  EXPECT_EQ(mu.stopped_on, "pair rank");  // run.json keeps it for the audit
  const ForgetCheck after = ranked.check(*mu.model, false);
  EXPECT_TRUE(after.forgotten());
  EXPECT_LE(after.pair_rank, after.pair_rank_reference);
  EXPECT_LT(after.pair_rank, c.pair_rank);

  // With the recall floor (the default) it stops at the first of the rank and the floor, never later.
  job.out_dir = fresh_dir("pair-rank-floor-mmrecun");
  job.options.recall_floor = true;
  ::testing::internal::CaptureStderr();
  const UnlearnResult rf = run_unlearn_job(job, sink).back();
  const std::string warned = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rf.stop_reason, "until-forgotten");
  EXPECT_LE(rf.epochs_run, r.epochs_run);
  ModelRun mf = load_model_run(job.out_dir, t.view.retain, "mmrecun");
  const ForgetCheck at_floor = floored.check(*mf.model, false);
  EXPECT_TRUE(at_floor.forgotten());
  EXPECT_TRUE(at_floor.pair_rank <= at_floor.pair_rank_reference ||
              at_floor.forget_recall <= at_floor.recall_floor);
  // What stopped it is recorded with the run: what the saved model's check says.
  const std::string on = rf.extra.value("stopped_on", "");
  EXPECT_TRUE(on == "pair rank" || on == "recall floor") << on;
  EXPECT_EQ(at_floor.decided_by(), on);
  EXPECT_EQ(mf.stopped_on, on);
  // A floor stop warns even under --quiet (stderr); a rank stop does not.
  EXPECT_EQ(warned.find("warning: stopped at the recall floor") != std::string::npos, on == "recall floor")
      << warned;
}

class StopRuleLandsOnGold : public ::testing::TestWithParam<RequestKind> {};

TEST_P(StopRuleLandsOnGold, OriginalFarAboveGoldAndMMRecUnInsideTheBand) {
  const TinyWorld& w = tiny_world();
  const RequestKind kind = GetParam();
  const std::string name = request_kind_name(kind);
  const std::string req = write_generated_request(w.ds, kind, 0.05, "band-" + name);
  const RequestView view = apply_requests(w.ds, {read_request(req)});
  std::ostringstream sink;
  const std::string gold = fresh_dir("band-gold-" + name), mu = fresh_dir("band-mmrecun-" + name);
  unlearn_tiny(req, Method::Gold, gold, sink);
  const UnlearnResult r = unlearn_tiny(req, Method::MMRecUn, mu, sink);
  EXPECT_EQ(r.stop_reason, "until-forgotten");
  const GoldForgetRecall g = gold_forget_recall(gold, view);
  const double f_gold = g.mean, se = g.standard_error;
  auto forget_of = [&](const std::string& dir, const models::TrainData& data) {
    ModelRun run = load_model_run(dir, data, dir);
    const ForgetChecker checker(view, view.forget, Device::cpu());
    return checker.check(*run.model, false).forget_recall;
  };
  const double f_orig = forget_of(w.run_dir_full(), models::make_train_data(w.ds));
  const double f_mu = forget_of(mu, view.retain);
  const double band = std::max(0.10 * f_gold, 2 * se);
  std::cout << name << ": forget recall original " << f_orig << ", gold " << f_gold << " (band " << band
            << "), mmrecun " << f_mu << " after " << r.epochs_run << " epochs\n";
  EXPECT_GT(f_orig, f_gold + 2 * band);  // the original is far above gold
  EXPECT_NEAR(f_mu, f_gold, band);       // MMRecUn lands inside gold's band, on either side
}

INSTANTIATE_TEST_SUITE_P(Kinds, StopRuleLandsOnGold,
                         ::testing::Values(RequestKind::User, RequestKind::Item, RequestKind::Interaction),
                         [](const auto& info) { return std::string(request_kind_name(info.param)); });

}  // namespace
}  // namespace lethe::unlearning::testing
