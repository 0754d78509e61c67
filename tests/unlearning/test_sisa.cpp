// SISA on tiny data (docs/unlearning.md, "SISA"): after a request the touched shards equal retraining them
// from scratch on D_r with the same seed, bit for bit, and the untouched shards are bit-for-bit the
// original's; the combined model scores as its combiner says; a non-sharded run refuses sisa, naming the fix.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "engine/error.h"
#include "engine/ops.h"
#include "fixture.h"
#include "models/sharded.h"
#include "models/training/pipeline.h"
#include "models/training/shards.h"
#include "models/unlearning/method_parts.h"
#include "models/unlearning/unlearn_run.h"

namespace lethe::unlearning::testing {
namespace {

constexpr int64_t kShards = 3;
constexpr int64_t kEpochs = 4;

// A sharded LightGCN original through the train pipeline (as `lethe train --shards 3 --epochs 4`).
const std::string& sharded_run() {
  static const std::string dir = [] {
    const std::string d = temp_root() + "/tiny-lightgcn-sharded";
    training::TrainJob job;
    job.data_dir = tiny_world().data_dir;
    job.model = "lightgcn";
    job.assignments = {"shards=" + std::to_string(kShards)};
    job.seed = kSeed;
    job.epochs = kEpochs;
    job.out_dir = d;
    job.quiet = true;
    job.progress = false;
    std::ostringstream sink;
    training::run_train_job(job, sink);
    return d;
  }();
  return dir;
}

std::vector<Tensor> shard_params(models::ShardedModel& m, int64_t k) {
  std::vector<Tensor> out;
  for (auto& [n, p] : m.shard(k).parameters()) out.push_back(p.value().clone());
  return out;
}

bool bitwise_equal(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k)
    if (!(a[k].shape() == b[k].shape()) || ops::max_abs_diff(a[k], b[k]) != 0.0) return false;
  return true;
}

TEST(Sisa, PartitionIsBalancedAndSeeded) {
  const std::vector<int32_t> p = models::partition_users(103, 4, 5);
  std::vector<int> size(4, 0);
  for (int32_t s : p) ++size[static_cast<size_t>(s)];
  for (int s : size) EXPECT_TRUE(s == 25 || s == 26) << s;
  EXPECT_EQ(p, models::partition_users(103, 4, 5));
  EXPECT_NE(p, models::partition_users(103, 4, 6));
  EXPECT_THROW(models::partition_users(3, 4, 5), Error);
}

TEST(Sisa, RequestRetrainsExactlyTheTouchedShards) {
  const TinyWorld& w = tiny_world();
  // Two users' data: at most two shards are touched, so at least one of three is not.
  const std::string path = temp_root() + "/sisa-users.tsv";
  {
    std::ofstream f(path);
    f << "userID\n" << w.ds.train.users[0] << "\n" << w.ds.train.users[w.ds.train.size() / 2] << "\n";
  }
  const RequestView view = apply_requests(w.ds, {unlearning::read_request(path)});
  const models::TrainData full = models::make_train_data(w.ds);
  ModelRun orig = load_model_run(sharded_run(), full, "original");
  auto* om = dynamic_cast<models::ShardedModel*>(orig.model.get());
  ASSERT_NE(om, nullptr);
  ASSERT_EQ(om->num_shards(), kShards);
  const std::vector<int64_t> touched = unlearning::detail::touched_shards(*om, view);
  ASSERT_GE(touched.size(), 1u);
  ASSERT_LT(touched.size(), static_cast<size_t>(kShards));

  // sisa through the unlearn pipeline, with the original's epochs.
  const std::string out = fresh_dir("sisa");
  UnlearnJob job;
  job.run_dir = sharded_run();
  job.request_files = {path};
  job.out_dir = out;
  job.options.method = Method::Sisa;
  job.options.quiet = true;
  std::ostringstream sink;
  const auto res = run_unlearn_job(job, sink);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].extra["touched_shards"].get<std::vector<int64_t>>(), touched);
  ModelRun un = load_model_run(out, view.retain, "sisa");
  auto* um = dynamic_cast<models::ShardedModel*>(un.model.get());
  ASSERT_NE(um, nullptr);

  // The sharded model trained from scratch on D_r with the same seed.
  models::Config cfg = models::default_config("lightgcn");
  cfg.merge(orig.info.config);
  auto fresh = models::create_model("lightgcn", cfg, view.retain, orig.info.seed, Device::cpu());
  auto* fm = dynamic_cast<models::ShardedModel*>(fresh.get());
  ASSERT_NE(fm, nullptr);
  training::TrainOptions to = training::TrainOptions::from_config(cfg);
  to.quiet = true;
  to.progress = false;
  training::train_shards(*fm, view.retain, view.current.valid, view.current.test, to, nullptr);

  const std::set<int64_t> hit(touched.begin(), touched.end());
  for (int64_t k = 0; k < kShards; ++k) {
    SCOPED_TRACE("shard " + std::to_string(k));
    EXPECT_TRUE(bitwise_equal(shard_params(*um, k), shard_params(*fm, k)));  // every shard: as from scratch
    EXPECT_EQ(bitwise_equal(shard_params(*um, k), shard_params(*om, k)),
              hit.count(k) == 0);  // only touched moved
  }
  EXPECT_EQ(un.unlearning.value("method", ""), "sisa");
}

TEST(Sisa, CombinedScoresFollowTheCombiner) {
  const TinyWorld& w = tiny_world();
  const models::TrainData td = models::make_train_data(w.ds);
  for (const std::string comb : {"own", "mean"}) {
    models::Config cfg = models::default_config("lightgcn");
    cfg.set("shards", "2");
    cfg.set("shard_combiner", comb);
    auto m = models::create_model("lightgcn", cfg, td, kSeed, Device::cpu());
    auto* sm = dynamic_cast<models::ShardedModel*>(m.get());
    ASSERT_NE(sm, nullptr);
    const models::Forward f = sm->forward(false);
    const models::Forward f0 = sm->shard(0).forward(false), f1 = sm->shard(1).forward(false);
    const Tensor s = ops::matmul(f.users.value(), f.items.value(), false, true);
    const Tensor s0 = ops::matmul(f0.users.value(), f0.items.value(), false, true);
    const Tensor s1 = ops::matmul(f1.users.value(), f1.items.value(), false, true);
    const auto v = s.to_vector<float>(), v0 = s0.to_vector<float>(), v1 = s1.to_vector<float>();
    const int64_t n_items = td.n_items;
    for (int32_t u = 0; u < td.n_users; ++u)
      for (int64_t i = 0; i < n_items; i += 7) {
        const size_t at = static_cast<size_t>(u) * static_cast<size_t>(n_items) + static_cast<size_t>(i);
        const double want =
            comb == "mean" ? 0.5 * (v0[at] + v1[at]) : (sm->shard_of(u) == 0 ? v0[at] : v1[at]);
        ASSERT_NEAR(v[at], want, 1e-5) << comb << " user " << u << " item " << i;
      }
    EXPECT_THROW(sm->forward(true), Error);
  }
}

TEST(Sisa, NonShardedRunsRefuseSisaAndShardedRunsRefuseOtherMethods) {
  const TinyWorld& w = tiny_world();
  const std::string req =
      write_generated_request(w.ds, unlearning::RequestKind::Interaction, 0.05, "sisa-refuse");
  UnlearnJob job;
  job.request_files = {req};
  job.options.quiet = true;
  job.options.epochs = 1;
  std::ostringstream sink;
  job.run_dir = w.quick_run_dir();
  job.out_dir = fresh_dir("sisa-plain");
  job.options.method = Method::Sisa;
  job.options.epochs = 0;
  try {
    run_unlearn_job(job, sink);
    ADD_FAILURE() << "sisa on a non-sharded run must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shards > 1"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(job.out_dir));
  job.run_dir = sharded_run();
  job.out_dir = fresh_dir("sisa-mmrecun");
  job.options.method = Method::MMRecUn;
  job.options.epochs = 1;
  try {
    run_unlearn_job(job, sink);
    ADD_FAILURE() << "mmrecun on a sharded run must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("method sisa"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(job.out_dir));
}

// A sharded run is audited against the gold of the plain original on the same data (--gold-original): the
// lineage of each is checked against its own original, and sisa gets its agreement with that gold.
TEST(Sisa, AuditAgainstThePlainOriginalsGold) {
  const TinyWorld& w = tiny_world();
  const std::string req =
      write_generated_request(w.ds, unlearning::RequestKind::Interaction, 0.05, "sisa-audit");
  std::ostringstream sink;
  UnlearnJob job;
  job.request_files = {req};
  job.options.quiet = true;
  job.options.epochs = 2;
  job.run_dir = w.quick_run_dir();
  job.out_dir = fresh_dir("sisa-audit-gold");
  job.options.method = Method::Gold;
  run_unlearn_job(job, sink);
  const std::string gold = job.out_dir;
  job.run_dir = sharded_run();
  job.out_dir = fresh_dir("sisa-audit-sisa");
  job.options.method = Method::Sisa;
  run_unlearn_job(job, sink);
  AuditJob a;
  a.request_files = {req};
  a.original_dir = sharded_run();
  a.gold_dir = gold;
  a.compare = {{"sisa", job.out_dir}};
  EXPECT_THROW(run_audit_job(a), Error);  // the gold was not made from the sharded original
  a.gold_original_dir = w.quick_run_dir();
  const nlohmann::json rep = run_audit_job(a);
  ASSERT_EQ(rep["rows"].size(), 3u);
  EXPECT_EQ(rep["rows"][2]["model"], "sisa");
  EXPECT_TRUE(rep["rows"][2]["jaccard@20_vs_gold"].is_number()) << rep["rows"][2].dump();
  EXPECT_TRUE(rep["rows"][2]["speedup_vs_gold"].is_number()) << rep["rows"][2].dump();
}

}  // namespace
}  // namespace lethe::unlearning::testing
