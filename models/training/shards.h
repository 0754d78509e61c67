// Training a sharded model (models/sharded.h; docs/unlearning.md, "SISA"): each listed shard is replaced by a
// fresh sub-model (initialised from its own seed) and trained on the one trainer with the rows of its users
// only: its training data, its valid rows for early stopping, its test rows, and its own seed for sampling.
// A shard's result is then a pure function of (configuration, seed, k, its users' rows), which is what makes
// retraining the shards a request touches exact.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <vector>

#include "models/sharded.h"
#include "models/training/trainer.h"

namespace lethe::training {

struct ShardResult {
  int64_t shard = 0;
  int64_t train_rows = 0;
  TrainResult result;  // untrained shard (no rows): epochs_run 0, stop_reason "no data"
};

// Trains shards `which` (all when empty) of `model` on `data` / `valid` / `test`, with `opt` (its seed,
// out_dir, resume and checkpoint_every are replaced per shard: shard seeds, no files, no resume).
std::vector<ShardResult> train_shards(models::ShardedModel& model, const models::TrainData& data,
                                      const datasets::Interactions& valid, const datasets::Interactions& test,
                                      const TrainOptions& opt, std::ostream* log,
                                      std::vector<int64_t> which = {});

}  // namespace lethe::training
