// Shared fixture of the unlearning tests: the tiny generated data set written to a temporary directory, an
// original LightGCN run trained on it (once per test binary), and helpers to write requests and run jobs.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <ostream>
#include <string>

#include "datasets/mmrec_io.h"
#include "datasets/synthetic.h"
#include "models/eval/evaluator.h"
#include "models/model.h"
#include "models/training/checkpoint.h"
#include "models/training/run_dir.h"
#include "models/training/trainer.h"
#include "models/unlearning/pipeline.h"
#include "models/unlearning/requests.h"
#include "models/unlearning/unlearn_run.h"

namespace lethe::unlearning::testing {

namespace fs = std::filesystem;

inline std::string temp_root() {
  static const std::string root = [] {
    const fs::path p = fs::temp_directory_path() / ("lethe_unlearning_test_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
  }();
  return root;
}

// Removes the temporary root when the test program ends.
class TempCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(temp_root(), ec);
  }
};
inline ::testing::Environment* const kTempCleanup = ::testing::AddGlobalTestEnvironment(new TempCleanup);

// A fresh, not yet existing directory under the temporary root.
inline std::string fresh_dir(const std::string& name) {
  static int counter = 0;
  return temp_root() + "/" + name + "-" + std::to_string(++counter);
}

constexpr uint64_t kSeed = 7;

// Trains `model_name` on the data in data_dir with the default config (seed kSeed) and writes a run.
inline void train_run(const std::string& data_dir, const std::string& model_name, const std::string& out,
                      int64_t max_epochs = 0) {
  const datasets::Dataset ds = datasets::load_mmrec(data_dir);
  models::Config cfg = models::default_config(model_name);
  cfg.set("seed", std::to_string(kSeed));
  const models::TrainData td = models::make_train_data(ds);
  training::TrainOptions to = training::TrainOptions::from_config(cfg);
  to.quiet = true;
  to.progress = false;
  to.max_epochs = max_epochs;
  auto model = models::create_model(model_name, cfg, td, to.seed, Device::cpu());
  training::Trainer tr(*model, td, ds.valid, ds.test, to);
  const training::TrainResult r = tr.train();
  training::RunInfo info;
  info.model = model_name;
  info.data_dir = fs::absolute(data_dir).string();
  info.fingerprint = training::data_fingerprint(td);
  info.seed = to.seed;
  info.config = cfg;
  info.summary = {{"epochs_run", r.epochs_run},
                  {"stop_reason", r.stop_reason},
                  {"train_seconds", r.train_seconds},
                  {"eval_seconds", r.eval_seconds}};
  training::write_run(out, info, *model, td, r.best_epoch);
}

// The tiny data set and original LightGCN runs on it, each built once per test program and only when a
// test asks for it (ctest runs every test in its own process): `run_dir` is trained to early stopping (the
// audit needs a model that memorised its data), `quick_run_dir` for 15 epochs (enough for the pipeline
// tests).
struct TinyWorld {
  std::string data_dir;
  datasets::Dataset ds;
  std::string run_dir_full() const;
  std::string quick_run_dir() const;
};
inline const TinyWorld& tiny_world() {
  static const TinyWorld w = [] {
    TinyWorld t;
    t.data_dir = temp_root() + "/tiny-data";
    datasets::write_mmrec(datasets::generate_synthetic(datasets::synth_preset("tiny"), kSeed), t.data_dir);
    t.ds = datasets::load_mmrec(t.data_dir);
    return t;
  }();
  return w;
}
inline std::string TinyWorld::run_dir_full() const {
  static const std::string dir = [this] {
    const std::string d = temp_root() + "/tiny-lightgcn";
    train_run(data_dir, "lightgcn", d);
    return d;
  }();
  return dir;
}
inline std::string TinyWorld::quick_run_dir() const {
  static const std::string dir = [this] {
    const std::string d = temp_root() + "/tiny-lightgcn-quick";
    train_run(data_dir, "lightgcn", d, 15);
    return d;
  }();
  return dir;
}

inline std::string write_generated_request(const datasets::Dataset& ds, unlearning::RequestKind kind,
                                           double fraction, const std::string& name, bool drop = false,
                                           const std::string& modality = "") {
  unlearning::RequestSpec spec;
  spec.kind = kind;
  spec.fraction = fraction;
  spec.seed = kSeed;
  spec.drop = drop;
  spec.modality = modality;
  const std::string path = temp_root() + "/" + name + ".tsv";
  unlearning::write_request(unlearning::generate_request(ds, spec), path);
  return path;
}

// Unlearns `request` from the tiny world's fully trained LightGCN run with `method`'s defaults (quiet).
inline UnlearnResult unlearn_tiny(const std::string& request, Method method, const std::string& out,
                                  std::ostream& log) {
  UnlearnJob job;
  job.run_dir = tiny_world().run_dir_full();
  job.request_files = {request};
  job.out_dir = out;
  job.options.method = method;
  job.options.quiet = true;
  return run_unlearn_job(job, log).back();
}

// Gold's per-user forget Recall@20 over the affected users (mask = D_r train items): mean, standard error and
// the number of users.
struct GoldForgetRecall {
  double mean = 0, standard_error = 0;
  size_t users = 0;
};
inline GoldForgetRecall gold_forget_recall(const std::string& gold_dir, const RequestView& view) {
  ModelRun gr = load_model_run(gold_dir, view.retain, "gold");
  const eval::Evaluator ev(datasets::UserItems::build(view.retain.train, view.retain.n_users),
                           view.retain.n_items, {}, Device::cpu());
  const datasets::UserItems targets = datasets::UserItems::build(view.forget, view.retain.n_users);
  std::vector<double> per_user;
  autograd::NoGrad ng;
  const models::Forward f = gr.model->forward(false);
  for (int32_t u : view.affected_users)
    per_user.push_back(
        eval::metric(ev.evaluate(f.users.value(), f.items.value(), targets, {u}).metrics, "Recall@20"));
  const double n = static_cast<double>(per_user.size());
  double mean = 0, var = 0;
  for (double v : per_user) mean += v / n;
  for (double v : per_user) var += (v - mean) * (v - mean) / (n - 1);
  return {mean, std::sqrt(var / n), per_user.size()};
}

}  // namespace lethe::unlearning::testing
