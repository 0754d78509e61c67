// The MMRec training loop (docs/models.md, "Training") for any Model.
//
// Per epoch e: model.pre_epoch(rng); shuffle the BPR rows; for each batch draw fresh negatives, build the
// batch tensors on the model's device, forward(true), loss, zero_grad, backward, Adam step; the epoch's
// train loss is the sum of batch losses (kept on the device and read back once per epoch; a NaN/Inf batch
// loss stops training with the epoch and batch named). Then lr = lr0 * a^((e+1)/b). Every eval_step epochs:
// full-ranking evaluation on valid (timed) and test; early stopping on the valid metric (Recall@20): an
// improvement must be strictly greater than the best so far (compared after MMRec's 4-decimal rounding),
// cur_step counts consecutive non-improving evaluations and training stops when cur_step > stopping_step.
// The parameters of the best-valid epoch are kept and (by default) restored at the end.
//
// Randomness: epoch e's sampling uses Rng(seed).fork(epoch_stream + e) — a pure function of (seed, e) — so
// that a run resumed from a checkpoint after epoch e-1 draws exactly what the uninterrupted run draws.
//
// This is the only training loop. Training from scratch uses the default batches and the model's loss;
// every unlearning method (models/unlearning/) is a loss plus hooks on it (TrainHooks): its batch source,
// its per-epoch check, and the same read-back and non-finite policy.
//
// Data parallelism (docs/scaling.md, "Data-parallel steps"): with a communicator of P > 1 ranks, every rank
// draws the same batches, trains on its share of each (models/batch_share.h), and the gradients are summed
// over the ranks before Adam, so every rank takes the one-process step up to the order of the additions.
// Evaluation splits the users into blocks, one per rank, and gathers the hits. Only rank 0 logs and writes.
//
// Log lines have MMRec's shape:
//   epoch N training [time: X.XXs, train loss: L]
//   epoch N evaluating [time: Y.YYs, valid_score: R]
//   valid result: / test result: followed by MMRec's metric dump.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "autograd/optim.h"
#include "datasets/dataset.h"
#include "datasets/sampler.h"
#include "engine/comm/communicator.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "models/config.h"
#include "models/eval/evaluator.h"
#include "models/eval/metrics.h"
#include "models/model.h"

namespace lethe::training {

using models::Batch;
using models::Config;
using models::Forward;
using models::Model;
using models::TrainData;

struct TrainOptions {
  int64_t epochs = 1000;         // epochs
  int64_t stopping_step = 20;    // stopping_step
  int64_t eval_step = 1;         // eval_step
  int64_t batch_size = 2048;     // train_batch_size
  double lr = 1e-3;              // learning_rate
  double lr_a = 1.0, lr_b = 50;  // learning_rate_scheduler [a, b]
  double weight_decay = 0.0;     // weight_decay (Adam's L2)
  uint64_t seed = 999;           // seed (first element when a list)
  int64_t max_epochs = 0;        // hard cap on epochs run in this call (0: none); --epochs on the CLI
  std::string valid_metric = "Recall@20";
  int64_t eval_batch_size = 4096;
  std::vector<int> topks = eval::default_topks();
  bool eval_test = true;         // evaluate test beside valid at each evaluation (MMRec does)
  bool restore_best = true;      // put the best-valid parameters back into the model at the end
  bool quiet = false;            // no log lines
  bool progress = true;          // progress bar on stderr, only when stderr is a terminal
  std::string out_dir;           // when set: train_log.jsonl is appended here
  int64_t checkpoint_every = 0;  // >0: write out_dir/last.safetensors every N epochs (for --resume)
  std::string resume;            // a last.safetensors to continue from
  // Epoch e draws from Rng(seed).fork(epoch_stream + e). Training uses 1000; unlearning uses its own
  // stream, so that it never replays the draws that built the original model.
  uint64_t epoch_stream = 1000;
  std::string log_name;  // prefix of the log lines ("" for training, the method's name otherwise)
  // Data-parallel over these ranks (null or one rank: this process alone). Ranks other than 0 neither log
  // nor write (out_dir and checkpoint_every are ignored there).
  comm::Communicator* comm = nullptr;

  // Reads the MMRec keys above from a Config (defaults as listed when a key is absent).
  static TrainOptions from_config(const Config& c);
};

struct EpochRecord {
  int64_t epoch = 0;
  double train_loss = 0.0;     // sum of the batch losses
  int64_t batches = 0;         // optimizer steps taken
  double train_seconds = 0.0;  // pre_epoch + all batches
  double lr = 0.0;             // learning rate used during this epoch
  bool evaluated = false;
  double eval_seconds = 0.0;  // valid evaluation (MMRec's timed evaluation)
  double test_seconds = 0.0;  // test evaluation
  double valid_score = 0.0;   // valid_metric, rounded to 4 decimals as MMRec compares it
  eval::Metrics valid, test;
  bool improved = false;
};

struct TrainResult {
  int64_t best_epoch = -1;
  double best_valid_score = -1.0;
  eval::Metrics best_valid, best_test;
  int64_t epochs_run = 0;      // epochs trained in this call
  int64_t last_epoch = -1;     // index of the last completed epoch
  double train_seconds = 0.0;  // sum over epochs
  double eval_seconds = 0.0;   // valid + test evaluation
  std::string stop_reason;     // "early stopping", "epochs", "max_epochs", "hook"
  std::vector<EpochRecord> epochs;
};

// MMRec's early-stopping rule on its own, for reuse and tests.
struct EarlyStopping {
  int64_t stopping_step = 20;
  double best = -1.0;    // MMRec starts from best_valid_score = -1
  int64_t cur_step = 0;  // consecutive evaluations without improvement
  int64_t best_epoch = -1;
  // Feeds one evaluation; returns true when training must stop. *improved says whether it is a new best.
  bool update(double score, int64_t epoch, bool* improved = nullptr);
};

// How a method plugs into the loop (every hook is optional; none = training from scratch):
//   epoch_begin(e)                  before epoch e (e.g. keep the parameters the epoch starts from)
//   begin_epoch(e, rng) -> batches   the number of batches of epoch e (after pre_epoch, with its generator);
//   make_batch(e, b, rng) -> Batch   batch b of it (default: BPR batches over TrainData::train)
//   batch_loss(model, f, batch, ...) the loss of one step from its forward (default: model.loss(f, batch));
//                                    `rng` is the epoch's generator, for hooks that draw more batches
//   on_epoch(record) -> bool         after epoch e and its evaluation; false stops training ("hook")
// One forward per step is shared by everything batch_loss computes.
struct TrainHooks {
  std::function<void(int64_t epoch)> epoch_begin;
  std::function<int64_t(int64_t epoch, Rng& rng)> begin_epoch;
  std::function<Batch(int64_t epoch, int64_t batch_index, Rng& rng)> make_batch;
  std::function<autograd::Var(Model&, const Forward&, const Batch&, int64_t epoch, int64_t batch_index,
                              Rng& rng)>
      batch_loss;
  std::function<bool(const EpochRecord&)> on_epoch;
};

// Thrown by Trainer::train_epoch (and so by train()) when a batch loss is NaN or infinite.
class NonFiniteLoss : public Error {
 public:
  NonFiniteLoss(int64_t epoch, int64_t batch, double value);
  int64_t epoch, batch;
};

class Trainer {
 public:
  // data: what the model trains on (and whose train items are masked at evaluation); the trainer copies
  // what it needs. valid / test: the evaluation splits (either may be empty: no evaluation of it; no valid
  // split = no evaluation and no early stopping). log: where the MMRec lines go (default std::cout).
  Trainer(Model& model, const TrainData& data, datasets::Interactions valid, datasets::Interactions test,
          TrainOptions opt, std::ostream* log = nullptr);

  TrainResult train(const TrainHooks& hooks = {});

  // One epoch of training (no evaluation, no lr step); returns the summed loss (and the number of steps in
  // *batches when given). Throws NonFiniteLoss on a NaN/Inf loss.
  double train_epoch(int64_t epoch, const TrainHooks& hooks = {}, int64_t* batches = nullptr);
  // Eval-view forward + evaluation of `split` ("valid" or "test").
  eval::EvalResult evaluate(const std::string& split);
  // Final embeddings of the eval-time forward (no gradient recording).
  std::pair<Tensor, Tensor> embeddings();

  // Writes a resumable checkpoint (parameters, Adam state, trainer state, best snapshot).
  void save_resume_checkpoint(const std::string& path, int64_t epoch);

  autograd::Adam& optimizer() { return *opt_; }
  const eval::Evaluator& evaluator() const { return evaluator_; }
  const TrainOptions& options() const { return opt_o_; }
  Model& model() { return model_; }
  // The parameters of the best-valid epoch (empty before the first evaluation).
  const std::vector<Tensor>& best_parameters() const { return best_params_; }

 private:
  void load_resume_checkpoint(const std::string& path);
  void log_line(const std::string& s);
  void append_log(const EpochRecord& r);
  // Sums every parameter's gradient over the ranks (no-op with one).
  void allreduce_gradients();

  Model& model_;
  datasets::Interactions valid_, test_;
  TrainOptions opt_o_;
  std::ostream* log_;
  std::unique_ptr<autograd::Adam> opt_;
  datasets::BprSampler sampler_;
  eval::Evaluator evaluator_;
  EarlyStopping stopper_;
  std::vector<Tensor> best_params_;
  eval::Metrics best_valid_, best_test_;
  int64_t start_epoch_ = 0;
  std::string fingerprint_;
};

}  // namespace lethe::training
