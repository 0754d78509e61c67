// The train pipeline behind `lethe train` and `lethe demo`, as a library function so that the command, the
// demo and the tests run the same code (the unlearn / audit / eval pipelines are in
// models/unlearning/pipeline.h). The job's fields are what a caller chooses; the command line binds its
// options straight into them.
//
// run_train_job writes the run directory whole or not at all (docs/training.md, "Run directories"):
//   1. before any work: the configuration is assembled strictly (models/registry.h: an unknown key is an
//      error naming it, where it was set and the closest known key), the output is locked, refused when it
//      exists (unless `replace`) and known to be writable (its staging directory is created), the data set
//      loads with its checks (datasets/mmrec_io.h), the memory the model needs is available, and a resume
//      checkpoint fits the model, the data and the configuration (changed keys must be allowed);
//   2. the trainer writes train_log.jsonl (and last.safetensors) into the staging directory, then the run's
//      files are written there;
//   3. the staging directory is renamed into place. An error or a non-finite training loss leaves no run
//      directory (the old one, if any, is untouched).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "engine/comm/communicator.h"
#include "engine/error.h"
#include "models/config.h"
#include "models/eval/evaluator.h"
#include "models/training/run_dir.h"
#include "models/training/trainer.h"

namespace lethe::training {

struct TrainJob {
  std::string data_dir;                  // MMRec data set directory
  std::string model;                     // registry name
  std::string config_file;               // YAML file of overrides (optional)
  std::vector<std::string> assignments;  // "key=value" overrides, applied after config_file
  std::optional<uint64_t> seed;          // replaces the configuration's seed
  std::optional<int64_t> epochs;         // replaces the configuration's epochs
  int64_t max_epochs = 0;                // stop after this many epochs in this call (0: no cap)
  std::string out_dir;                   // the run directory to write
  bool replace = false;                  // an existing run directory at out_dir is replaced whole
  std::string device = "cpu";
  int64_t checkpoint_every = 0;  // > 0: last.safetensors every N epochs (resumable, also after a crash)
  // A last.safetensors to continue from, or a run directory: its last.safetensors, or the one an
  // interrupted job left in its staging directory. Continuing the run at out_dir replaces it (no `replace`
  // needed), and the log of the epochs up to the checkpoint is kept.
  std::string resume;
  std::vector<std::string> resume_may_change;  // configuration keys allowed to differ from the checkpoint's
  bool keep_eval_repeats = false;  // valid/test with MMRec's repeated rows (datasets::ReadOptions)
  bool quiet = false;              // no per-epoch lines
  bool progress = true;            // progress bar on stderr when it is a terminal
  // Data-parallel over these ranks (null: this process alone; docs/scaling.md, "Data-parallel steps").
  // Every rank runs the job; only rank 0 takes the output directory and writes the run.
  comm::Communicator* comm = nullptr;
};

struct TrainOutcome {
  RunInfo info;  // what run.json says
  TrainResult result;
  eval::EvalResult valid, test;  // the best checkpoint's final evaluation
  std::vector<int> topks;
  std::vector<std::string> removed;  // leftovers of interrupted writers that were removed
};

TrainOutcome run_train_job(const TrainJob& job, std::ostream& log);

// Thrown when a resumed checkpoint was trained with a configuration that differs in `keys`, none of them
// in TrainJob::resume_may_change.
class ConfigChanged : public Error {
 public:
  ConfigChanged(const std::string& msg, std::vector<std::string> keys) : Error(msg), keys(std::move(keys)) {}
  std::vector<std::string> keys;
};

// Fails (naming the sizes) when training `config`'s model on `ds` needs more memory than the machine has
// available: a lower bound from the embedding tables (with gradients and Adam state), the feature tables
// and the per-user / per-item index arrays, checked before anything of that size is allocated. `what`
// says what was attempted ("training lightgcn").
void check_memory(const datasets::Dataset& ds, const models::Config& config, const std::string& what);
// The lower bound check_memory uses, in bytes.
double memory_needed(const datasets::Dataset& ds, const models::Config& config);

}  // namespace lethe::training
