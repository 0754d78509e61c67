// Checkpoints (safetensors layout, bitwise round trip, Adam state, wrong model / wrong data errors), run
// directories and the Recommender serving API.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/optim.h"
#include "datasets/mmrec_io.h"
#include "datasets/synthetic.h"
#include "engine/device.h"
#include "engine/error.h"
#include "models/inference.h"
#include "models/model.h"
#include "models/training/checkpoint.h"
#include "models/training/run_dir.h"
#include "models/training/trainer.h"
#include "tests/models/tiny.h"

namespace fs = std::filesystem;
using namespace lethe;
using namespace lethe::models;
using namespace lethe::training;
using namespace lethe::formats;

using lethe::models::testing::error_of;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("lethe_ckpt_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

TrainData small_data(uint64_t seed, int32_t n_users = 30, int32_t n_items = 20) {
  TrainData d;
  d.n_users = n_users;
  d.n_items = n_items;
  Rng rng(seed);
  for (int32_t u = 0; u < n_users; ++u)
    for (int32_t i = 0; i < n_items; ++i)
      if (rng.uniform() < 0.2 || i == u % n_items) d.train.push(u, i);
  return d;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor x = a.to(Device::cpu()), y = b.to(Device::cpu());
  return std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0;
}

}  // namespace

TEST(SafeTensors, FileLayoutIsStandard) {
  const std::string dir = temp_dir("layout");
  const std::string path = dir + "/t.safetensors";
  const Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = Tensor::from_vector(std::vector<int64_t>{7, -8}, {2});
  write_safetensors(path, {{"a", a}, {"b", b}}, {{"k", "v"}});
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  // Parse by hand, the way any safetensors reader does.
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u);
  std::string h(n, '\0');
  in.read(h.data(), static_cast<std::streamsize>(n));
  const auto j = nlohmann::json::parse(h);
  EXPECT_EQ(j["a"]["dtype"], "F32");
  EXPECT_EQ(j["a"]["shape"], nlohmann::json::array({2, 3}));
  EXPECT_EQ(j["a"]["data_offsets"], nlohmann::json::array({0, 24}));
  EXPECT_EQ(j["b"]["dtype"], "I64");
  EXPECT_EQ(j["b"]["data_offsets"], nlohmann::json::array({24, 40}));
  EXPECT_EQ(j["__metadata__"]["k"], "v");
  std::vector<float> raw(6);
  in.read(reinterpret_cast<char*>(raw.data()), 24);
  EXPECT_EQ(raw, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  const SafeTensors st = read_safetensors(path);
  ASSERT_EQ(st.tensors.size(), 2u);
  EXPECT_EQ(st.tensors[0].first, "a");
  EXPECT_TRUE(bitwise_equal(st.tensors[0].second, a));
  EXPECT_TRUE(bitwise_equal(st.tensors[1].second, b));
  EXPECT_EQ(st.metadata.at("k"), "v");
  fs::remove_all(dir);
}

TEST(SafeTensors, CorruptFilesFailClearly) {
  const std::string dir = temp_dir("corrupt");
  const std::string path = dir + "/bad.safetensors";
  {
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = 1000;
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << "{}";
  }
  EXPECT_NE(error_of([&] { read_safetensors(path); }).find("header length"), std::string::npos);
  EXPECT_NE(error_of([&] { read_safetensors(dir + "/missing.safetensors"); }).find("cannot open"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(Checkpoint, RoundTripIsBitwiseWithAdamState) {
  const std::string dir = temp_dir("roundtrip");
  const TrainData d = small_data(1);
  const Config cfg = default_config("lightgcn");
  auto m1 = create_model("lightgcn", cfg, d, 11, Device::cpu());
  // One Adam step so that parameters and moments are non-trivial.
  std::vector<autograd::Var> ps;
  for (auto& [n, v] : m1->parameters()) ps.push_back(v);
  autograd::Adam adam(ps, 0.01);
  {
    Forward f = m1->forward(true);
    Batch b{Tensor::from_vector(std::vector<int32_t>{0, 1}), Tensor::from_vector(std::vector<int32_t>{0, 1}),
            Tensor::from_vector(std::vector<int32_t>{5, 6})};
    adam.zero_grad();
    autograd::backward(m1->loss(f, b));
    adam.step();
  }
  CheckpointInfo info{"lightgcn", cfg.to_yaml(), data_fingerprint(d), 3, {{"note", "x"}}};
  save_checkpoint(dir + "/c.safetensors", *m1, info, &adam);

  auto m2 = create_model("lightgcn", cfg, d, 99, Device::cpu());  // other seed: other initial values
  std::vector<autograd::Var> ps2;
  for (auto& [n, v] : m2->parameters()) ps2.push_back(v);
  autograd::Adam adam2(ps2, 0.01);
  LoadOptions lo;
  lo.expected_fingerprint = data_fingerprint(d);
  const CheckpointInfo got = load_checkpoint(dir + "/c.safetensors", *m2, &adam2, lo);
  EXPECT_EQ(got.model, "lightgcn");
  EXPECT_EQ(got.epoch, 3);
  EXPECT_EQ(got.fingerprint, info.fingerprint);
  EXPECT_EQ(got.extra.at("note"), "x");
  EXPECT_EQ(got.config_yaml, cfg.to_yaml());
  auto p1 = m1->parameters(), p2 = m2->parameters();
  ASSERT_EQ(p1.size(), p2.size());
  for (size_t i = 0; i < p1.size(); ++i)
    EXPECT_TRUE(bitwise_equal(p1[i].second.value(), p2[i].second.value()));
  EXPECT_EQ(adam2.steps(), 1);
  ASSERT_EQ(adam2.m().size(), adam.m().size());
  for (size_t i = 0; i < adam.m().size(); ++i) {
    EXPECT_TRUE(bitwise_equal(adam.m()[i], adam2.m()[i]));
    EXPECT_TRUE(bitwise_equal(adam.v()[i], adam2.v()[i]));
  }
  fs::remove_all(dir);
}

TEST(Checkpoint, WrongModelOrDataFailsNamingBoth) {
  const std::string dir = temp_dir("wrong");
  const TrainData d = small_data(1);
  auto bpr = create_model("bpr", default_config("bpr"), d, 1, Device::cpu());
  save_checkpoint(dir + "/bpr.safetensors", *bpr, {"bpr", "", data_fingerprint(d), 0, {}});

  auto lgcn = create_model("lightgcn", default_config("lightgcn"), d, 1, Device::cpu());
  const std::string e1 = error_of([&] { load_checkpoint(dir + "/bpr.safetensors", *lgcn); });
  EXPECT_NE(e1.find("'bpr'"), std::string::npos) << e1;
  EXPECT_NE(e1.find("'lightgcn'"), std::string::npos) << e1;

  // Same model, other data: the fingerprint check refuses it and names both fingerprints.
  const TrainData other = small_data(2);
  auto bpr2 = create_model("bpr", default_config("bpr"), other, 1, Device::cpu());
  LoadOptions lo;
  lo.expected_fingerprint = data_fingerprint(other);
  ASSERT_NE(data_fingerprint(other), data_fingerprint(d));
  const std::string e2 = error_of([&] { load_checkpoint(dir + "/bpr.safetensors", *bpr2, nullptr, lo); });
  EXPECT_NE(e2.find(data_fingerprint(d)), std::string::npos) << e2;
  EXPECT_NE(e2.find(data_fingerprint(other)), std::string::npos) << e2;

  // Other sizes with the check off: the shape mismatch is named, and nothing is modified.
  const TrainData bigger = small_data(1, 31, 20);
  auto bpr3 = create_model("bpr", default_config("bpr"), bigger, 1, Device::cpu());
  const auto before = snapshot_parameters(*bpr3);
  lo.check_fingerprint = false;
  const std::string e3 = error_of([&] { load_checkpoint(dir + "/bpr.safetensors", *bpr3, nullptr, lo); });
  EXPECT_NE(e3.find("[30, "), std::string::npos) << e3;
  EXPECT_NE(e3.find("[31, "), std::string::npos) << e3;
  auto after = bpr3->parameters();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(bitwise_equal(before[i], after[i].second.value()));
  fs::remove_all(dir);
}

TEST(Checkpoint, FingerprintCoversInteractionsAndFeatures) {
  TrainData a = small_data(1);
  TrainData b = a;
  EXPECT_EQ(data_fingerprint(a), data_fingerprint(b));
  b.train.items[0] = (b.train.items[0] + 1) % b.n_items;
  EXPECT_NE(data_fingerprint(a), data_fingerprint(b));
  TrainData c = a;
  c.features["image"] = Tensor::zeros({a.n_items, 4});
  EXPECT_NE(data_fingerprint(a), data_fingerprint(c));
}

TEST(RunDir, TrainWriteLoadAndServe) {
  const std::string dir = temp_dir("run");
  datasets::Dataset ds = datasets::generate_synthetic(datasets::synth_preset("tiny"), 5);
  const std::string ddir = dir + "/data_tiny";
  datasets::write_mmrec(ds, ddir);
  ds = datasets::load_mmrec(ddir);
  const TrainData td = make_train_data(ds);
  Config cfg = default_config("bpr");
  cfg.set("epochs", "2");
  TrainOptions opt = TrainOptions::from_config(cfg);
  opt.quiet = true;
  opt.out_dir = dir + "/run";
  auto model = create_model("bpr", cfg, td, opt.seed, Device::cpu());
  Trainer tr(*model, td, ds.valid, ds.test, opt);
  const TrainResult res = tr.train();
  EXPECT_EQ(res.epochs_run, 2);
  RunInfo info;
  info.model = "bpr";
  info.data_dir = fs::absolute(ddir).string();
  info.fingerprint = data_fingerprint(td);
  info.seed = opt.seed;
  info.config = cfg;
  write_run(opt.out_dir, info, *model, td, res.best_epoch);
  const auto test = tr.evaluate("test");
  write_metrics(opt.out_dir, "test", test.metrics, opt.topks);
  for (const char* f : {"config.yaml", "run.json", "model.safetensors", "embeddings.safetensors",
                        "train_log.jsonl", "metrics.json", "metrics.md"})
    EXPECT_TRUE(fs::exists(opt.out_dir + "/" + f)) << f;
  {
    std::ifstream in(opt.out_dir + "/metrics.json");
    const auto j = nlohmann::json::parse(in);
    EXPECT_EQ(j["split"], "test");
    EXPECT_DOUBLE_EQ(j["metrics"]["Recall@20"].get<double>(), test.metrics.at("Recall@20"));
  }
  // Loading the run rebuilds the same model: identical evaluation.
  LoadedRun lr = load_run(opt.out_dir);
  EXPECT_EQ(lr.info.model, "bpr");
  auto p1 = model->parameters(), p2 = lr.model->parameters();
  for (size_t i = 0; i < p1.size(); ++i)
    EXPECT_TRUE(bitwise_equal(p1[i].second.value(), p2[i].second.value()));

  // Serving from the exported embeddings: seen items excluded, scores = dot products, sorted.
  const Recommender rec = Recommender::load(opt.out_dir);
  EXPECT_EQ(rec.n_users(), ds.n_users);
  EXPECT_EQ(rec.n_items(), ds.n_items);
  const auto top = rec.top_k(3, 20);
  ASSERT_EQ(top.size(), 20u);
  const auto seen = rec.seen(3);
  EXPECT_FALSE(seen.empty());
  for (size_t r = 0; r < top.size(); ++r) {
    EXPECT_FALSE(std::binary_search(seen.begin(), seen.end(), top[r].first));
    if (r > 0) {
      EXPECT_GE(top[r - 1].second, top[r].second);
    }
  }
  const auto with_seen = rec.top_k(3, ds.n_items, false);
  EXPECT_EQ(static_cast<int32_t>(with_seen.size()), ds.n_items);
  // The same top list as the evaluator's masked top-k.
  std::vector<int32_t> items;
  auto [u, it] = tr.embeddings();
  tr.evaluator().top_k(u, it, {3}, 20, items);
  for (size_t r = 0; r < 20; ++r) EXPECT_EQ(items[r], top[r].first);
  EXPECT_THROW(rec.top_k(ds.n_users, 5), Error);

  // Data that differs from the run's: refused with both fingerprints named.
  datasets::Dataset other = datasets::generate_synthetic(datasets::synth_preset("tiny"), 6);
  datasets::write_mmrec(other, dir + "/other");
  EXPECT_NE(error_of([&] { load_run(opt.out_dir, dir + "/other"); }).find("fingerprint"), std::string::npos);
  fs::remove_all(dir);
}
