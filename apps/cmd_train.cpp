// `lethe train`: train a recommender on an MMRec data set and write a run directory (models/training/run_dir.h).
#include <filesystem>
#include <iostream>

#include "apps/command.h"
#include "datasets/mmrec_io.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/profile.h"
#include "models/eval/metrics.h"
#include "models/model.h"
#include "models/training/checkpoint.h"
#include "models/training/run_dir.h"
#include "models/training/trainer.h"

namespace {

struct TrainArgs {
  std::string data, model, config, out, device = "cpu", resume;
  std::vector<std::string> sets;
  int64_t seed = -1, epochs = -1, max_epochs = 0, checkpoint_every = 0;
  bool quiet = false;
  bool profile = false;
  std::string trace;  // --trace FILE: Chrome trace of every op and phase
};

int run_train(const TrainArgs& a) {
  using namespace lethe;
  using namespace lethe::models;
  using namespace lethe::training;
  Config cfg = default_config(a.model);
  if (!a.config.empty()) cfg.merge(Config::from_yaml_file(a.config));
  for (const auto& kv : a.sets) cfg.set_from_assignment(kv);
  if (a.seed >= 0) cfg.set("seed", std::to_string(a.seed));
  if (a.epochs >= 0) cfg.set("epochs", std::to_string(a.epochs));
  const Device dev = parse_device(a.device);
  LETHE_CHECK(!dev.is_cuda() || cuda_available(), "--device " << a.device << ": no usable CUDA device in this build");

  datasets::Dataset ds = datasets::load_mmrec(a.data);
  for (const auto& w : ds.warnings) std::cerr << "warning: " << w << "\n";
  TrainData td = make_train_data(ds);
  TrainOptions opt = TrainOptions::from_config(cfg);
  opt.out_dir = a.out;
  opt.quiet = a.quiet;
  opt.max_epochs = a.max_epochs;
  opt.checkpoint_every = a.checkpoint_every;
  opt.resume = a.resume;
  if (!a.quiet)
    std::cout << "lethe train: " << a.model << " on " << a.data << " (" << ds.n_users << " users, " << ds.n_items
              << " items, " << ds.train.size() << " train rows) device " << dev.str() << ", seed " << opt.seed
              << "\n";

  if (a.profile) prof::enable(true);  // from model construction (graphs) to the end of the final evaluation
  if (!a.trace.empty()) prof::start_trace();
  auto model = create_model(a.model, cfg, td, opt.seed, dev);
  Trainer trainer(*model, td, ds.valid, ds.test, opt);
  TrainResult res = trainer.train();  // leaves the best-valid parameters in the model

  RunInfo info;
  info.model = a.model;
  info.data_dir = std::filesystem::absolute(a.data).lexically_normal().string();
  info.fingerprint = data_fingerprint(td);
  info.seed = opt.seed;
  info.device = dev.str();
  info.config = cfg;
  info.summary["best_epoch"] = res.best_epoch;
  info.summary["best_valid_score"] = res.best_valid_score;
  info.summary["valid_metric"] = opt.valid_metric;
  info.summary["epochs_run"] = res.epochs_run;
  info.summary["last_epoch"] = res.last_epoch;
  info.summary["stop_reason"] = res.stop_reason;
  info.summary["train_seconds"] = res.train_seconds;
  info.summary["eval_seconds"] = res.eval_seconds;
  info.summary["train_seconds_per_epoch"] = res.epochs_run > 0 ? res.train_seconds / res.epochs_run : 0.0;
  write_run(a.out, info, *model, td, res.best_epoch);

  // Final report: the best checkpoint on test (and valid), as MMRec reports best_test_upon_valid.
  const eval::EvalResult valid = trainer.evaluate("valid");
  const eval::EvalResult test = trainer.evaluate("test");
  nlohmann::json extra;
  extra["model"] = a.model;
  extra["best_epoch"] = res.best_epoch;
  extra["users"] = test.users;
  extra["eval_seconds"] = test.seconds;
  extra["valid_metrics"] = nlohmann::json(valid.metrics);
  write_metrics(a.out, "test", test.metrics, opt.topks, extra);
  std::cout << "best valid (epoch " << res.best_epoch << "): " << eval::format_mmrec(valid.metrics, opt.topks) << "\n"
            << "best test  (epoch " << res.best_epoch << "): " << eval::format_mmrec(test.metrics, opt.topks) << "\n"
            << "stopped: " << res.stop_reason << " after " << res.epochs_run << " epochs; train "
            << res.train_seconds << " s, evaluation " << res.eval_seconds << " s\n"
            << "run written to " << a.out << "\n";
  if (a.profile) {
    prof::enable(false);
    prof::report(std::cout);
  }
  if (!a.trace.empty()) prof::write_trace(a.trace);
  return 0;
}

lethe::apps::Register reg("train", "Train a recommender on an MMRec data set and write a run directory",
                         [](CLI::App& sub) -> lethe::apps::Runner {
                           auto a = std::make_shared<TrainArgs>();
                           sub.add_option("--data", a->data, "MMRec data set directory")->required();
                           sub.add_option("--model", a->model, "model name (bpr, lightgcn, vbpr, freedom, mgcn)")
                               ->required();
                           sub.add_option("--config", a->config, "YAML file of configuration overrides");
                           sub.add_option("--set", a->sets, "override one key: key=value (repeatable)");
                           sub.add_option("--seed", a->seed, "random seed (default: config seed, 999)");
                           sub.add_option("--epochs", a->epochs, "number of epochs (config epochs)");
                           sub.add_option("--max-epochs", a->max_epochs, "stop after this many epochs in this call");
                           sub.add_option("--device", a->device, "cpu, cuda or cuda:N");
                           sub.add_option("--out", a->out, "run directory to write")->required();
                           sub.add_option("--checkpoint-every", a->checkpoint_every,
                                          "write OUT/last.safetensors every N epochs (resumable)");
                           sub.add_option("--resume", a->resume, "continue from a last.safetensors");
                           sub.add_flag("--quiet", a->quiet, "no per-epoch log lines");
                           sub.add_flag("--profile", a->profile,
                                        "time every op and training phase; print the table at the end");
                           sub.add_option("--trace", a->trace,
                                          "write a Chrome trace of every op and phase (opens in Perfetto) to this file");
                           return [a] { return run_train(*a); };
                         });

}  // namespace
