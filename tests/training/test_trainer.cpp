// The training loop: loss goes down and recall beats chance on a tiny synthetic set, MMRec's early-stopping
// rule, NaN stop, hooks, config parsing, and resume-from-checkpoint = uninterrupted training.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/ops.h"
#include "datasets/synthetic.h"
#include "engine/device.h"
#include "engine/error.h"
#include "models/model.h"
#include "models/training/checkpoint.h"
#include "models/training/run_dir.h"
#include "models/training/trainer.h"

namespace fs = std::filesystem;
using namespace lethe;
using namespace lethe::models;
using namespace lethe::training;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("lethe_trainer_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

const datasets::Dataset& tiny() {
  static const datasets::Dataset ds = datasets::generate_synthetic(datasets::synth_preset("tiny"), 3);
  return ds;
}

TrainOptions quick_options(int64_t epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch_size = 512;
  o.lr = 0.01;
  o.seed = 42;
  o.quiet = true;
  return o;
}

}  // namespace

TEST(EarlyStopping, MatchesMmrecRule) {
  EarlyStopping s;
  s.stopping_step = 2;
  bool imp = false;
  EXPECT_FALSE(s.update(0.0, 0, &imp));  // 0 > -1: the first evaluation always improves
  EXPECT_TRUE(imp);
  EXPECT_FALSE(s.update(0.1, 1, &imp));
  EXPECT_TRUE(imp);
  EXPECT_FALSE(s.update(0.1, 2, &imp));  // equal is not an improvement
  EXPECT_FALSE(imp);
  EXPECT_EQ(s.cur_step, 1);
  EXPECT_FALSE(s.update(0.05, 3, &imp));
  EXPECT_EQ(s.cur_step, 2);
  EXPECT_TRUE(s.update(0.09, 4, &imp));  // cur_step 3 > stopping_step 2
  EXPECT_EQ(s.best_epoch, 1);
  EXPECT_DOUBLE_EQ(s.best, 0.1);
  // An improvement resets the count.
  EarlyStopping t;
  t.stopping_step = 1;
  t.update(0.2, 0);
  EXPECT_FALSE(t.update(0.1, 1));
  EXPECT_FALSE(t.update(0.3, 2));
  EXPECT_EQ(t.cur_step, 0);
  EXPECT_FALSE(t.update(0.3, 3));
  EXPECT_TRUE(t.update(0.3, 4));
}

TEST(TrainOptions, ReadsMmrecKeys) {
  Config c = Config::from_yaml_string(
      "epochs: 7\nstopping_step: 3\ntrain_batch_size: 100\nlearning_rate: [0.005]\n"
      "learning_rate_scheduler: [0.96, 50]\nseed: [123]\neval_step: 2\ntopk: [10, 20]\n");
  const TrainOptions o = TrainOptions::from_config(c);
  EXPECT_EQ(o.epochs, 7);
  EXPECT_EQ(o.stopping_step, 3);
  EXPECT_EQ(o.batch_size, 100);
  EXPECT_DOUBLE_EQ(o.lr, 0.005);
  EXPECT_DOUBLE_EQ(o.lr_a, 0.96);
  EXPECT_DOUBLE_EQ(o.lr_b, 50);
  EXPECT_EQ(o.seed, 123u);
  EXPECT_EQ(o.eval_step, 2);
  EXPECT_EQ(o.topks, (std::vector<int>{10, 20}));
  EXPECT_THROW(TrainOptions::from_config(Config::from_yaml_string("eval_step: 0\n")), Error);
}

TEST(Trainer, LossDecreasesAndRecallBeatsChance) {
  const auto& ds = tiny();
  const TrainData td = make_train_data(ds);
  for (const char* name : {"bpr", "lightgcn"}) {
    auto model = create_model(name, default_config(name), td, 42, Device::cpu());
    std::ostringstream log;
    TrainOptions o = quick_options(8);
    o.quiet = false;
    Trainer tr(*model, td, ds.valid, ds.test, o, &log);
    const TrainResult r = tr.train();
    ASSERT_EQ(r.epochs_run, 8) << name;
    ASSERT_EQ(r.epochs.size(), 8u);
    EXPECT_LT(r.epochs.back().train_loss, 0.8 * r.epochs.front().train_loss) << name;
    for (const auto& e : r.epochs) {
      EXPECT_TRUE(e.evaluated);
      EXPECT_GT(e.train_seconds, 0.0);
    }
    // Chance Recall@20 ~ 20 / n_items; a trained model on clustered synthetic data must beat it clearly.
    const double chance = 20.0 / ds.n_items;
    EXPECT_GT(r.best_valid.at("Recall@20"), 1.5 * chance) << name;
    EXPECT_GE(r.best_epoch, 0);
    // The model holds the best-valid parameters afterwards: re-evaluating valid reproduces the best score.
    EXPECT_DOUBLE_EQ(eval::round4(tr.evaluate("valid").metrics.at("Recall@20")), r.best_valid_score) << name;
    // MMRec-shaped log lines.
    const std::string s = log.str();
    EXPECT_NE(s.find("epoch 0 training [time: "), std::string::npos);
    EXPECT_NE(s.find("s, train loss: "), std::string::npos);
    EXPECT_NE(s.find("epoch 7 evaluating [time: "), std::string::npos);
    EXPECT_NE(s.find("valid_score: "), std::string::npos);
    EXPECT_NE(s.find("test result: \nrecall@5: "), std::string::npos);
  }
}

TEST(Trainer, EarlyStopsWhenValidStopsImproving) {
  const auto& ds = tiny();
  const TrainData td = make_train_data(ds);
  auto model = create_model("bpr", default_config("bpr"), td, 42, Device::cpu());
  TrainOptions o = quick_options(50);
  o.lr = 1e-12;  // parameters effectively frozen: the rounded valid score never changes
  o.stopping_step = 2;
  Trainer tr(*model, td, ds.valid, ds.test, o);
  const TrainResult r = tr.train();
  EXPECT_EQ(r.stop_reason, "early stopping");
  EXPECT_EQ(r.best_epoch, 0);
  EXPECT_EQ(r.epochs_run, 4);  // evals at epochs 0 (best), 1, 2, 3 (cur_step 3 > 2)
  EXPECT_FALSE(r.epochs[1].improved);
}

TEST(Trainer, EvalStepAndLrScheduleAndHooks) {
  const auto& ds = tiny();
  const TrainData td = make_train_data(ds);
  auto model = create_model("bpr", default_config("bpr"), td, 42, Device::cpu());
  TrainOptions o = quick_options(10);
  o.eval_step = 2;
  o.lr_a = 0.5;
  o.lr_b = 1;
  Trainer tr(*model, td, ds.valid, ds.test, o);
  TrainHooks h;
  h.on_epoch = [](const EpochRecord& e) { return e.epoch < 4; };  // stop after epoch 4
  const TrainResult r = tr.train(h);
  EXPECT_EQ(r.stop_reason, "hook");
  ASSERT_EQ(r.epochs_run, 5);
  for (const auto& e : r.epochs) EXPECT_EQ(e.evaluated, (e.epoch + 1) % 2 == 0);
  for (const auto& e : r.epochs) EXPECT_DOUBLE_EQ(e.lr, 0.01 * std::pow(0.5, static_cast<double>(e.epoch)));
}

TEST(Trainer, NanLossThrowsWithEpochAndBatch) {
  // One non-finite policy for every method on the loop: the epoch's losses are read back once, and a
  // NaN / Inf batch loss throws NonFiniteLoss naming the epoch and batch, so no caller keeps the model.
  const auto& ds = tiny();
  const TrainData td = make_train_data(ds);
  auto model = create_model("bpr", default_config("bpr"), td, 42, Device::cpu());
  std::ostringstream log;
  TrainOptions o = quick_options(5);
  Trainer tr(*model, td, ds.valid, ds.test, o, &log);
  TrainHooks h;
  int64_t epochs_seen = 0;
  h.on_epoch = [&](const EpochRecord&) { return ++epochs_seen > 0; };
  h.batch_loss = [](Model& m, const Forward& f, const Batch& b, int64_t epoch, int64_t bi, Rng&) {
    autograd::Var l = m.loss(f, b);
    return (epoch == 1 && bi == 2) ? autograd::scale(l, std::nan("")) : l;
  };
  try {
    tr.train(h);
    FAIL() << "a NaN loss must throw";
  } catch (const NonFiniteLoss& e) {
    EXPECT_EQ(e.epoch, 1);
    EXPECT_EQ(e.batch, 2);
    EXPECT_NE(std::string(e.what()).find("NaN at epoch 1, batch 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(epochs_seen, 1);  // epoch 0 completed, epoch 1 did not
}

TEST(Trainer, ResumeGivesTheSameLossesAsUninterruptedTraining) {
  const auto& ds = tiny();
  const TrainData td = make_train_data(ds);
  for (const char* name : {"bpr", "lightgcn"}) {
    const std::string dir = temp_dir(std::string("resume_") + name);
    // Uninterrupted: 5 epochs.
    auto full = create_model(name, default_config(name), td, 42, Device::cpu());
    const TrainResult a = Trainer(*full, td, ds.valid, ds.test, quick_options(5)).train();
    ASSERT_EQ(a.epochs_run, 5);
    // Interrupted after 2 epochs (max_epochs cap), then resumed from last.safetensors.
    auto part = create_model(name, default_config(name), td, 42, Device::cpu());
    TrainOptions o = quick_options(5);
    o.max_epochs = 2;
    o.out_dir = dir;
    o.checkpoint_every = 1;
    const TrainResult b = Trainer(*part, td, ds.valid, ds.test, o).train();
    ASSERT_EQ(b.epochs_run, 2);
    EXPECT_EQ(b.stop_reason, "max_epochs");
    ASSERT_TRUE(fs::exists(dir + "/last.safetensors"));
    auto resumed = create_model(name, default_config(name), td, 7, Device::cpu());  // init overwritten
    TrainOptions o2 = quick_options(5);
    o2.resume = dir + "/last.safetensors";
    o2.out_dir = dir;
    const TrainResult c = Trainer(*resumed, td, ds.valid, ds.test, o2).train();
    ASSERT_EQ(c.epochs_run, 3);
    for (int e = 0; e < 3; ++e) {
      EXPECT_EQ(c.epochs[e].epoch, e + 2);
      EXPECT_EQ(c.epochs[e].train_loss, a.epochs[e + 2].train_loss) << name << " epoch " << e + 2;
      EXPECT_EQ(c.epochs[e].valid, a.epochs[e + 2].valid) << name;
    }
    EXPECT_EQ(c.best_epoch, a.best_epoch);
    EXPECT_EQ(c.best_test, a.best_test);
    // train_log.jsonl holds all five epochs (two from the first call, three appended on resume).
    std::ifstream in(dir + "/train_log.jsonl");
    int lines = 0;
    for (std::string l; std::getline(in, l);) ++lines;
    EXPECT_EQ(lines, 5);
    // Resuming on other data is refused.
    datasets::Dataset other = datasets::generate_synthetic(datasets::synth_preset("tiny"), 4);
    const TrainData td2 = make_train_data(other);
    auto m2 = create_model(name, default_config(name), td2, 42, Device::cpu());
    EXPECT_THROW(Trainer(*m2, td2, other.valid, other.test, o2), Error);
    fs::remove_all(dir);
  }
}
