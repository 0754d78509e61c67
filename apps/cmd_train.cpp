// `lethe train`: train a recommender on an MMRec data set and write a run directory. The work is the
// library's train pipeline (models/training/pipeline.h); this file binds the options into its TrainJob and
// owns every flag's spelling.
#include <iostream>
#include <memory>

#include "apps/command.h"
#include "engine/comm/communicator.h"
#include "engine/error.h"
#include "engine/profile.h"
#include "models/eval/metrics.h"
#include "models/training/pipeline.h"

namespace {

struct TrainCmd {
  lethe::training::TrainJob job;
  bool profile = false;
  std::string trace;  // --trace FILE: Chrome trace of every op and phase
};

int run_train(TrainCmd& c) {
  using namespace lethe;
  training::TrainJob& job = c.job;
  job.comm = &comm::world();          // mpirun -np N: data-parallel over N ranks (docs/scaling.md)
  if (c.profile) prof::enable(true);  // from model construction (graphs) to the end of the final evaluation
  if (!c.trace.empty()) prof::start_trace();
  training::TrainOutcome o;
  try {
    o = training::run_train_job(job, std::cout);
  } catch (const training::ConfigChanged& e) {
    std::string keys;
    for (const auto& k : e.keys) keys += " --allow-change " + k;
    LETHE_CHECK(false, e.what() << " (pass" << keys << " to accept the change)");
  }
  const training::TrainResult& res = o.result;
  std::cout << "best valid (epoch " << res.best_epoch << "): " << eval::format_mmrec(o.valid.metrics, o.topks)
            << "\n"
            << "best test  (epoch " << res.best_epoch << "): " << eval::format_mmrec(o.test.metrics, o.topks)
            << "\n"
            << "stopped: " << res.stop_reason << " after " << res.epochs_run << " epochs; train "
            << res.train_seconds << " s, evaluation " << res.eval_seconds << " s\n"
            << "run written to " << job.out_dir << "\n";
  if (c.profile) {
    prof::enable(false);
    prof::report(std::cout);
  }
  if (!c.trace.empty()) prof::write_trace(c.trace);
  return 0;
}

lethe::apps::Register reg(
    "train", "Train a recommender on an MMRec data set and write a run directory",
    [](CLI::App& sub) -> lethe::apps::Runner {
      auto c = std::make_shared<TrainCmd>();
      auto& j = c->job;
      sub.add_option("--data", j.data_dir, "MMRec data set directory")->required();
      sub.add_option("--model", j.model, "model name (bpr, lightgcn, vbpr, freedom, mgcn)")->required();
      sub.add_option("--config", j.config_file,
                     "YAML file of configuration overrides (unknown keys are errors)");
      sub.add_option("--set", j.assignments,
                     "override one key: key=value (repeatable; unknown keys are errors)");
      sub.add_option_function<uint64_t>(
          "--seed", [c](const uint64_t& s) { c->job.seed = s; },
          "random seed (default: the config's seed, 999)");
      sub.add_option_function<int64_t>(
             "--epochs", [c](const int64_t& e) { c->job.epochs = e; },
             "number of epochs (default: the config's)")
          ->check(CLI::NonNegativeNumber);
      sub.add_option_function<int64_t>(
             "--shards",
             [c](const int64_t& k) { c->job.assignments.push_back("shards=" + std::to_string(k)); },
             "SISA: train K sub-models on a balanced partition of the users (the config key shards; a run "
             "that "
             "`lethe unlearn --method sisa` can unlearn exactly, docs/unlearning.md)")
          ->check(CLI::PositiveNumber);
      sub.add_option_function<std::string>(
             "--shard-combiner",
             [c](const std::string& m) { c->job.assignments.push_back("shard_combiner=" + m); },
             "how a sharded run scores: own (the user's shard, the default) or mean (mean of the shards' "
             "scores)")
          ->check(CLI::IsMember({"own", "mean"}));
      sub.add_option("--max-epochs", j.max_epochs, "stop after this many epochs in this call")
          ->check(CLI::NonNegativeNumber);
      sub.add_option("--device", j.device, "cpu, cuda or cuda:N");
      sub.add_option("--out", j.out_dir, "run directory to write (must not exist, see --force)")->required();
      sub.add_flag("--force", j.replace,
                   "replace an existing run directory at --out (whole: no stale file survives)");
      sub.add_option("--checkpoint-every", j.checkpoint_every,
                     "write last.safetensors every N epochs (resumable with --resume, also after a crash)")
          ->check(CLI::NonNegativeNumber);
      sub.add_option(
          "--resume", j.resume,
          "continue from a last.safetensors, or from a run directory (its checkpoint, or that of an "
          "interrupted `lethe train` on it)");
      sub.add_option("--allow-change", j.resume_may_change,
                     "with --resume: a config key that may differ from the checkpoint's (repeatable)");
      sub.add_flag(
          "--keep-eval-repeats", j.keep_eval_repeats,
          "evaluate valid/test with repeated (user, item) rows kept, as MMRec does (docs/datasets.md)");
      sub.add_flag("--quiet", j.quiet, "no per-epoch log lines");
      sub.add_flag("--profile", c->profile, "time every op and training phase; print the table at the end");
      sub.add_option("--trace", c->trace,
                     "write a Chrome trace of every op and phase (opens in Perfetto) to this file");
      return [c] { return run_train(*c); };
    });

}  // namespace
