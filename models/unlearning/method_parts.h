// What the unlearning methods share on the one training loop (internal to models/unlearning/): the batch
// sources over D_r and D_f, and the hook builders of each method. Public API: methods.h.
#pragma once

#include <cstdint>

#include "datasets/sampler.h"
#include "engine/rng.h"
#include "models/model.h"
#include "models/training/trainer.h"
#include "models/unlearning/methods.h"
#include "models/unlearning/request_view.h"

namespace lethe::unlearning::detail {

// Batch sources (docs/unlearning.md, "MMRecUn"):
//   retain  BPR batches over D_r, negatives as in training but from D_r; a stream of its own that cycles
//           over D_r (reshuffled when exhausted) and continues across epochs;
//   forget  triples (u, i, j) over the step's D_f with j uniform over the retained training items u has
//           not interacted with (nor forgotten: those are being pushed down themselves).
class Batches {
 public:
  Batches(const RequestView& view, const UnlearnOptions& opt, Device dev);
  models::Batch next_retain();
  // One epoch over D_r as the retain stream's next pass (forward-only methods): returns its batch count.
  int64_t restart_retain();
  int64_t retain_batches() const { return retain_.num_batches(); }
  // One epoch over D_f, shuffled with the epoch's generator: returns its batch count.
  int64_t begin_forget_epoch(Rng& rng);
  models::Batch forget_batch(int64_t b, Rng& rng);

 private:
  Device dev_;
  datasets::BprSampler retain_, forget_;
  Rng retain_rng_;
  int64_t retain_next_ = 0;
};

// The hooks of each method on the trainer (mmrecun.cpp, baselines.cpp). They keep references to `batches`
// and `opt`, which must outlive the training call.
training::TrainHooks mmrecun_hooks(Batches& batches, const UnlearnOptions& opt);
training::TrainHooks neggrad_hooks(Batches& batches);
training::TrainHooks forward_only_hooks(Batches& batches);  // finetune, and mmrecun without a forget set

// MMRecUn's own-rows step: the user-table rows of users and the item-table rows of items left with no
// training data take own_rows_lr_factor x lr (docs/unlearning.md, "Own rows"). Returns the number of rows.
int64_t apply_own_rows(training::Trainer& trainer, models::Model& model, const std::vector<int32_t>& users,
                       const std::vector<int32_t>& items, const UnlearnOptions& opt);

// MMRecUn's confined updates: only the user-table rows of the forget set's users and the item-table rows of
// its items move (docs/unlearning.md, "Confined updates"). Returns the number of trainable rows.
int64_t confine_to_forget_rows(training::Trainer& trainer, models::Model& model, const datasets::Interactions& forget);

// Gold: a fresh model trained from scratch on D_r with the original configuration and early stopping.
UnlearnResult run_gold(std::unique_ptr<models::Model>& model, const std::string& model_name,
                       const models::Config& config, const RequestView& view, const UnlearnOptions& opt,
                       std::ostream& log);

}  // namespace lethe::unlearning::detail
