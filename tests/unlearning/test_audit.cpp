// Audits: the small statistical pieces on hand-checked inputs, and the headline forgetting checks on the tiny
// data set: the original model memorised the forget set (forget recall far above gold's, membership attack
// clearly above chance), gold shows the never-seen level (attack near chance), MMRecUn brings the forget
// recall down to gold's level much faster than retraining.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>

#include "engine/error.h"
#include "fixture.h"
#include "models/eval/evaluator.h"
#include "models/unlearning/audit.h"
#include "models/unlearning/report.h"
#include "models/unlearning/unlearn_run.h"

namespace lethe::unlearning::testing {
namespace {

TEST(UnlearningAuditPieces, BalancedAccuracy) {
  // 3 of 4 positives and 1 of 2 negatives right: (0.75 + 0.5) / 2.
  EXPECT_DOUBLE_EQ(balanced_accuracy({1, 1, 1, 1, 0, 0}, {1, 1, 1, 0, 0, 1}), 0.625);
  EXPECT_DOUBLE_EQ(balanced_accuracy({1, 0}, {1, 1}), 0.5);  // always "member": chance
  EXPECT_THROW(balanced_accuracy({1, 1}, {1, 0}), Error);    // one class only
}

TEST(UnlearningAuditPieces, KendallTauAndJaccard) {
  EXPECT_DOUBLE_EQ(kendall_tau_b({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(kendall_tau_b({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  // (1,2,3) vs (1,3,2): pairs 12 +, 13 +, 23 - -> (2 - 1) / 3.
  EXPECT_NEAR(kendall_tau_b({1, 2, 3}, {1, 3, 2}), 1.0 / 3.0, 1e-12);
  // tau-b with a tie in b: pairs (12: tie in b), 13 +, 23 + -> 2 / sqrt(3 * 2).
  EXPECT_NEAR(kendall_tau_b({1, 2, 3}, {1, 1, 2}), 2.0 / std::sqrt(6.0), 1e-12);
  EXPECT_DOUBLE_EQ(jaccard({1, 2, 3, 4}, {3, 4, 5, 6}), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(jaccard({1, 2}, {2, 1}), 1.0);
}

TEST(UnlearningAuditPieces, LogisticRegressionSeparatesAndIgnoresNoise) {
  std::vector<std::vector<double>> x;
  std::vector<int> y;
  Rng rng(3);
  for (int k = 0; k < 400; ++k) {
    const int label = k % 2;
    x.push_back({label + 0.3 * rng.normal(), rng.normal()});  // feature 0 informative, feature 1 noise
    y.push_back(label);
  }
  Logistic lr;
  lr.fit(x, y);
  std::vector<int> pred;
  for (const auto& r : x) pred.push_back(lr.prob(r) >= 0.5);
  EXPECT_GT(balanced_accuracy(y, pred), 0.9);
  EXPECT_GT(std::abs(lr.w[0]), 5 * std::abs(lr.w[1]));
}

// The headline test: a 5% user request on the tiny data set, the original LightGCN trained to early
// stopping, gold retrained the same way, MMRecUn with its default stopping rule (until-forgotten).
TEST(UnlearningAudit, OriginalMemorisesGoldForgetsMMRecUnMatchesGold) {
  const TinyWorld& w = tiny_world();
  const std::string req = write_generated_request(w.ds, unlearning::RequestKind::User, 0.05, "audit-user");
  std::ostringstream sink;
  const std::string gold = fresh_dir("audit-gold"), mu = fresh_dir("audit-mmrecun"),
                    ft = fresh_dir("audit-finetune");
  const UnlearnResult g = unlearn_tiny(req, Method::Gold, gold, sink);
  const UnlearnResult m = unlearn_tiny(req, Method::MMRecUn, mu, sink);
  unlearn_tiny(req, Method::Finetune, ft, sink);
  EXPECT_EQ(m.stop_reason, "until-forgotten");
  AuditJob aj;
  aj.request_files = {req};
  aj.original_dir = w.run_dir_full();
  aj.gold_dir = gold;
  aj.compare = {{"mmrecun", mu}, {"finetune", ft}};
  aj.out_dir = fresh_dir("audit-report");
  const nlohmann::json rep = run_audit_job(aj);
  ASSERT_TRUE(fs::exists(aj.out_dir + "/report.json"));
  ASSERT_TRUE(fs::exists(aj.out_dir + "/report.md"));
  std::map<std::string, nlohmann::json> row;
  for (const auto& r : rep["rows"]) row[r["model"].get<std::string>()] = r;
  const double f_orig = row["original"]["forget_recall@20"], f_gold = row["gold"]["forget_recall@20"],
               f_mu = row["mmrecun"]["forget_recall@20"];
  const double mia_orig = row["original"]["mia_balanced_accuracy"],
               mia_gold = row["gold"]["mia_balanced_accuracy"],
               mia_mu = row["mmrecun"]["mia_balanced_accuracy"];
  std::cout << format_report_table(rep);
  // The original memorised the forget set; gold never saw it.
  EXPECT_GT(f_orig, 2.5 * f_gold);
  // Membership inference: clearly above chance on the original, near chance on gold.
  EXPECT_GT(mia_orig, 0.58);
  EXPECT_NEAR(mia_gold, 0.5, 0.12);
  // MMRecUn: the forget recall falls from the original's to gold's level. Our target is "within 10%
  // of gold's". On tiny data gold's forget recall is a mean over ~15 forgotten users with ~8 forgotten
  // items each, so it carries a sampling error larger than 10% of itself; the bound asserted is therefore
  // the larger of 10% of gold's value and two standard errors of gold's per-user forget recall (computed
  // here), and the test prints both so that the gap is visible. docs/unlearning.md discusses it.
  const RequestView view = apply_requests(w.ds, {unlearning::read_request(req)});
  const GoldForgetRecall gfr = gold_forget_recall(gold, view);
  const double se = gfr.standard_error;
  EXPECT_NEAR(gfr.mean, f_gold, 1e-9);
  const double tol_rel = 0.10 * f_gold;
  std::cout << "forget recall: original " << f_orig << ", gold " << f_gold << " (standard error " << se
            << " over " << gfr.users << " users), mmrecun " << f_mu
            << "; |mmrecun - gold| = " << std::abs(f_mu - f_gold) << ", 10% of gold = " << tol_rel << "\n";
  EXPECT_LT(f_mu, 0.5 * f_orig);
  EXPECT_NEAR(f_mu, f_gold, std::max(tol_rel, 2 * se));
  EXPECT_NEAR(mia_mu, 0.5, 0.2);
  // Utility kept, and much faster than gold.
  EXPECT_GT(row["mmrecun"]["retain_recall@20"].get<double>(),
            0.95 * row["gold"]["retain_recall@20"].get<double>());
  // Work, not wall time (the test machine is shared), printed only: on tiny data D_r is two batches, so the
  // speed-up of unlearning over retraining is small here; it grows with |D_r| / |D_f| on real data.
  const int64_t gold_batches = g.epochs_run * ((view.retain.train.size() + 2047) / 2048);
  std::cout << "steps: mmrecun " << m.steps << ", gold " << gold_batches << " batches (" << g.epochs_run
            << " epochs)\n";
  // Sanity block: every method moved away from the original, and the methods differ from each other.
  for (const char* n : {"gold", "mmrecun", "finetune"})
    EXPECT_TRUE(row[n]["sanity"]["params_differ_from_original"].get<bool>()) << n;
  EXPECT_TRUE(row["mmrecun"]["sanity"]["forget_recall_fell"].get<bool>());
  for (const auto& p : rep["sanity"]["methods_differ"]) EXPECT_TRUE(p["differ"].get<bool>()) << p.dump();
  // The Markdown report has one table row per model.
  std::ifstream in(aj.out_dir + "/report.md");
  std::stringstream md;
  md << in.rdbuf();
  for (const char* n : {"| original |", "| gold |", "| mmrecun |", "| finetune |"})
    EXPECT_NE(md.str().find(n), std::string::npos) << n;
}

// RelItems and the erased-feature audit on hand-made embeddings, against a brute-force count: random user
// and item vectors (no ties), an item request of three items; the count is the users with D_r train data
// whose top 20 (their D_r train items masked) holds a forgotten item.
// An audit model with random user and item embeddings of width d (no ties in any ranking).
AuditModel random_audit_model(const std::string& name, const datasets::Dataset& ds, int64_t d, Rng& rng) {
  AuditModel m;
  m.name = name;
  std::vector<float> u(static_cast<size_t>(ds.n_users * d)), it(static_cast<size_t>(ds.n_items * d));
  for (float& x : u) x = static_cast<float>(rng.normal());
  for (float& x : it) x = static_cast<float>(rng.normal());
  m.users = Tensor::from_vector(u, {ds.n_users, d});
  m.items = Tensor::from_vector(it, {ds.n_items, d});
  return m;
}

TEST(UnlearningAudit, RelItemsMatchesABruteForceCount) {
  const TinyWorld& w = tiny_world();
  Request req;
  req.kind = RequestKind::Item;
  for (size_t k = 0; req.items.size() < 3; k += 97) {
    const int32_t i = w.ds.train.items[k % w.ds.train.size()];
    if (std::find(req.items.begin(), req.items.end(), i) == req.items.end()) req.items.push_back(i);
  }
  req.lines.assign(3, 0);
  const RequestView view = apply_requests(w.ds, {req});
  const int64_t d = 4;
  Rng rng(11);
  const std::vector<AuditModel> models = {random_audit_model("original", w.ds, d, rng),
                                          random_audit_model("gold", w.ds, d, rng),
                                          random_audit_model("mmrecun", w.ds, d, rng)};
  auto brute_force = [&](const AuditModel& m) {
    const datasets::UserItems mask = datasets::UserItems::build(view.retain.train, w.ds.n_users);
    const std::vector<float> uv = m.users.to_vector<float>(), iv = m.items.to_vector<float>();
    int64_t n = 0;
    for (int32_t u = 0; u < w.ds.n_users; ++u) {
      if (mask.degree(u) == 0) continue;
      std::vector<std::pair<float, int32_t>> s;
      for (int32_t i = 0; i < w.ds.n_items; ++i) {
        if (mask.contains(u, i)) continue;
        float acc = 0;
        for (int64_t j = 0; j < d; ++j) acc += uv[u * d + j] * iv[i * d + j];
        s.emplace_back(acc, i);
      }
      std::partial_sort(s.begin(), s.begin() + 20, s.end(), std::greater<>());
      n += std::any_of(s.begin(), s.begin() + 20, [&](const auto& si) {
        return std::find(req.items.begin(), req.items.end(), si.second) != req.items.end();
      });
    }
    return n;
  };
  const nlohmann::json rep = run_audit(view, models);
  const int64_t gold = brute_force(models[1]);
  ASSERT_GT(gold, 0);
  EXPECT_EQ(rep["evaluation"]["gold_relitems@20"].get<int64_t>(), gold);
  for (size_t k = 0; k < models.size(); ++k) {
    const nlohmann::json& row = rep["rows"][k];
    ASSERT_EQ(row["model"], models[k].name);
    const int64_t n = brute_force(models[k]);
    EXPECT_EQ(row["relitems@20"].get<int64_t>(), n) << models[k].name;
    EXPECT_NEAR(row["relitems@20_vs_gold"].get<double>(), static_cast<double>(n) / gold, 1e-12)
        << models[k].name;
  }
}

// The erased-feature audit of a modality request: a parameter holding the raw image rows reads 0 (the erased
// features survive), one holding the replacement reads 1, one halfway reads 0.5; the erased items' rank
// percentile of every model equals a brute-force computation of its definition.
TEST(UnlearningAudit, ErasedFeatureDistanceIsZeroForRawRowsAndOneForTheReplacement) {
  const TinyWorld& w = tiny_world();
  ASSERT_TRUE(w.ds.features.count("image"));
  Request req;
  req.kind = RequestKind::Modality;
  req.items = {1, 4, 9, 16, 25};
  req.modalities.assign(req.items.size(), "image");
  req.lines.assign(req.items.size(), 0);
  const RequestView view = apply_requests(w.ds, {req});
  const Tensor& raw = view.original.features.at("image").values;
  const Tensor& repl = view.retain.features.at("image");
  const std::vector<float> r = raw.to_vector<float>(), p = repl.to_vector<float>();
  std::vector<float> half(r.size());
  for (size_t k = 0; k < r.size(); ++k) half[k] = 0.5f * (r[k] + p[k]);
  Rng rng(5);
  auto model = [&](const std::string& name, const Tensor& weight) {
    AuditModel m = random_audit_model(name, w.ds, 4, rng);
    m.params = {{"image_embedding.weight", weight}};
    m.modality_uses = {models::ModalityUse{"image", {"image_embedding.weight"}, {}}};
    return m;
  };
  const std::vector<AuditModel> models = {model("original", raw), model("gold", repl),
                                          model("mmrecun", Tensor::from_vector(half, raw.shape()))};
  const nlohmann::json rep = run_audit(view, models);
  // The erased items' rank percentile, written out: over every user with test rows (tiny data has fewer
  // than the audit's 500-user sample), each erased item outside the user's D_r train items, the fraction of
  // the user's other unmasked items scored strictly below it (dot products in double).
  const datasets::UserItems mask = datasets::UserItems::build(view.retain.train, view.retain.n_users);
  const std::vector<int32_t> users = datasets::unique_users(view.original.test);
  ASSERT_EQ(rep["evaluation"]["rank_percentile_users"].get<size_t>(), users.size());
  auto brute_rank = [&](const AuditModel& m) {
    const int64_t d = m.users.cols(), n_items = m.items.rows();
    const std::vector<float> uv = m.users.to_vector<float>(), iv = m.items.to_vector<float>();
    double sum = 0;
    int64_t n = 0;
    for (int32_t u : users) {
      std::vector<double> sc(static_cast<size_t>(n_items), 0.0);
      for (int64_t i = 0; i < n_items; ++i)
        for (int64_t j = 0; j < d; ++j) sc[i] += static_cast<double>(uv[u * d + j]) * iv[i * d + j];
      int64_t open = 0;
      for (int32_t i = 0; i < n_items; ++i) open += !mask.contains(u, i);
      for (int32_t it : req.items) {
        if (mask.contains(u, it)) continue;
        int64_t below = 0;
        for (int32_t i = 0; i < n_items; ++i) below += !mask.contains(u, i) && sc[i] < sc[it];
        sum += static_cast<double>(below) / static_cast<double>(open - 1);
        ++n;
      }
    }
    return sum / static_cast<double>(n);
  };
  const double expected[] = {0.0, 1.0, 0.5};
  for (size_t k = 0; k < models.size(); ++k) {
    const nlohmann::json& row = rep["rows"][k];
    const nlohmann::json& e = row["erased_features"]["image_embedding.weight"];
    EXPECT_EQ(e["rows"].get<int64_t>(), 5) << models[k].name;
    EXPECT_NEAR(e["mean_distance_ratio"].get<double>(), expected[k], 1e-6) << models[k].name;
    EXPECT_NEAR(e["min_distance_ratio"].get<double>(), expected[k], 1e-6) << models[k].name;
    EXPECT_NEAR(row["erased_items_rank_percentile"].get<double>(), brute_rank(models[k]), 1e-12)
        << models[k].name;
  }
}

}  // namespace
}  // namespace lethe::unlearning::testing
