// What the unlearning methods share on the one training loop (internal to models/unlearning/): the batch
// sources over D_r and D_f, and the hook builders of each method. Public API: methods.h.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>

#include "datasets/sampler.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "models/model.h"
#include "models/sharded.h"
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
  // Per-pair gate (opt.pair_gate; docs/unlearning.md, "Pair gate"): from the current final embeddings, a
  // forget pair whose user and item keep data stays open while it ranks, over all items, above where the
  // mean of its user's retained items' embeddings ranks it; update_pair_gate recomputes every pair's gate,
  // pair_gate gives a forget batch's triples theirs (1 for pairs without such a level). Returns the open
  // share.
  double update_pair_gate(const Tensor& user_emb, const Tensor& item_emb);
  Tensor pair_gate(const models::Batch& bf) const;
  bool has_pair_gate() const { return !gate_pairs_.empty(); }

 private:
  Device dev_;
  datasets::UserItems retained_;
  datasets::Interactions gate_pairs_;               // forget pairs of a user and an item that keep data
  std::unordered_map<int64_t, size_t> gate_index_;  // (user << 32 | item) -> index in gate_pairs_
  std::vector<float> gate_;                         // per gate pair: 1 open, 0 closed
  datasets::BprSampler retain_, forget_;
  Rng retain_rng_;
  int64_t retain_next_ = 0;
};

// The hooks of each method on the trainer (mmrecun.cpp, baselines.cpp). They keep references to `batches`
// and `opt`, which must outlive the training call.
training::TrainHooks mmrecun_hooks(Batches& batches, const UnlearnOptions& opt);
// The reverse term with a 0/1 mask per triple (a constant: no gradient through it): -mean over every triple
// of mask * ln sigmoid(s(u,j) - s(u,i)).
autograd::Var masked_reverse_loss(const autograd::Var& s_i, const autograd::Var& s_j, const Tensor& mask);
// MMRecUn's reverse term with the ranking gate: the mask is 1 where s(u,i) > s(u,j) at this step, else 0.
autograd::Var gated_reverse_loss(const autograd::Var& s_i, const autograd::Var& s_j);
// The scores s(u, i) of a batch's users and positives and s(u, j) of its negatives, from one forward.
std::pair<autograd::Var, autograd::Var> pair_scores(const models::Forward& f, const models::Batch& b);
// MMRecUn's reverse term L_rev on a forget batch (with opt.rank_gate, gated_reverse_loss; with `pair_gate`,
// Batches::pair_gate of the batch, masked by it too).
autograd::Var reverse_loss(const models::Forward& f, const models::Batch& bf, const UnlearnOptions& opt,
                           const Tensor* pair_gate = nullptr);
training::TrainHooks neggrad_hooks(Batches& batches);
training::TrainHooks forward_only_hooks(Batches& batches);  // finetune, and mmrecun without a forget set

// The ID-table rows the forget set shaped (docs/unlearning.md, "Own rows"): the step's users and items,
// each with the share of its training interactions that the request removed (1: the row lost all its data).
struct ForgetRows {
  std::vector<int32_t> users, items;
  std::vector<double> user_share, item_share;
};
ForgetRows forget_rows(const RequestView& view);

// MMRecUn's confined updates: only those rows move; every other parameter keeps its trained value
// (docs/unlearning.md, "Confined updates"). Returns the number of trainable rows.
int64_t confine_to_forget_rows(training::Trainer& trainer, models::Model& model, const ForgetRows& rows);

// Modality requests under MMRecUn's confined updates: only the erased items' rows move, in the item table
// and in every per-item parameter fed by an erased modality (Model::modality_uses); shared layers keep
// their trained values (docs/unlearning.md, "Confined updates"). Returns the number of trainable rows.
int64_t confine_to_erased_rows(training::Trainer& trainer, models::Model& model, const RequestView& view);

// TRU-style layer isolation (unconfined MMRecUn; docs/unlearning.md, "Sensitive layers"): one pass of the
// reverse term over the forget set (its own generator, seeded from opt.seed) gives each parameter tensor p
// the sensitivity sum_e |d L_rev / d p_e|, the first-order decrease of L_rev per unit learning rate when p
// alone takes one step of a fresh Adam (which moves every entry by about lr along the sign of its gradient);
// only the opt.sensitive_layers most sensitive tensors move. Returns every tensor's sensitivity, most
// sensitive first, with the moving ones marked.
nlohmann::json confine_to_sensitive_layers(training::Trainer& trainer, models::Model& model, Batches& batches,
                                           const UnlearnOptions& opt);
// The pass both TRU-style passes share: per parameter tensor (model.parameters() order), sum_e |dL_rev/dp_e|
// accumulated over one pass of the reverse term over the forget set (its own generator, seeded from
// opt.seed; evaluation mode). Leaves every gradient cleared.
std::vector<double> reverse_sensitivity(models::Model& model, Batches& batches, const UnlearnOptions& opt);

// TRU-style branch-wise modality scaling (unconfined MMRecUn; docs/unlearning.md, "Branch scaling"): a
// modality's branch is its per-item feature tables and the layers that read it alone
// (Model::modality_uses); its sensitivity is the sum of reverse_sensitivity over them. Every branch then
// learns at lr x (the least sensitive branch's sensitivity / its own), so each modality's branch lowers
// L_rev by the same first-order amount per step. Throws when the model declares no branch; where the
// reverse term reaches no branch (FREEDOM) nothing is scaled. Returns each branch with its sensitivity and
// factor.
nlohmann::json scale_modality_branches(training::Trainer& trainer, models::Model& model, Batches& batches,
                                       const UnlearnOptions& opt);

// MMRecUn's own-rows step: each of those rows learns at lr x max(1, factor x share), so a row that lost all
// its data travels as far as training moved it, one that lost a little moves a little (docs/unlearning.md,
// "Own rows"). Returns the number of rows faster than lr.
int64_t apply_share_factors(training::Trainer& trainer, models::Model& model, const ForgetRows& rows,
                            double factor);

// Gold: a fresh model trained from scratch on D_r with the original configuration and early stopping.
UnlearnResult run_gold(std::unique_ptr<models::Model>& model, const std::string& model_name,
                       const models::Config& config, const RequestView& view, const UnlearnOptions& opt,
                       std::ostream& log);

// SISA: the shards of the sharded model that the request touches, retrained from scratch on their rows of D_r
// with the original configuration; every other shard keeps its parameters (sisa.cpp).
UnlearnResult run_sisa(std::unique_ptr<models::Model>& model, const models::Config& config,
                       const RequestView& view, const UnlearnOptions& opt, std::ostream& log);
// The shards a request touches: those holding a user of the step's forget set, or every shard when the
// request changed features a sharded backbone reads (erased or dropped rows).
std::vector<int64_t> touched_shards(models::ShardedModel& model, const RequestView& view);

// Influence (influence.cpp): the restricted objective, flattened over P = the ID-table rows of the forget
// set's users and items (user rows first, each row's d entries in order).
class InfluenceObjective {
 public:
  // Calls model.pre_epoch once with a fixed generator: every evaluation sees one training view.
  InfluenceObjective(models::Model& model, const RequestView& view, const UnlearnOptions& opt);
  int64_t dim() const { return dim_; }
  int64_t retain_rows() const { return retain_rows_; }
  std::vector<double> forget_gradient();                  // grad_P sum_{D_f} l
  std::vector<double> retain_gradient();                  // grad_P sum_{S} l, S = the rows of D_r touching P
  double retain_value();                                  // sum_{S} l
  std::vector<double> hvp(const std::vector<double>& v);  // H_r v, central difference of retain_gradient
  std::vector<double> get() const;                        // the current values of P
  void set(const std::vector<double>& x);

 private:
  struct Table {
    autograd::Var param;
    std::vector<int32_t> ids;
  };
  autograd::Var sum_loss(const std::vector<models::Batch>& batches);
  std::vector<double> gradient(const std::vector<models::Batch>& batches);
  models::Model& model_;
  std::vector<Table> tables_;
  std::vector<models::Batch> retain_, forget_;
  int64_t dim_ = 0, retain_rows_ = 0;
};

struct CgResult {
  std::vector<double> x;
  int64_t iterations = 0;
  double residual = 0.0;  // ||b - A x|| / ||b||
};
// Thrown by conjugate_gradient when a search direction p has p'Ap <= 0.
class NotPositiveDefinite : public Error {
 public:
  using Error::Error;
};
// Solves A x = b (A symmetric positive definite, given by its products) from x = 0; stops at a relative
// residual <= tol or after max_iter products.
CgResult conjugate_gradient(const std::function<std::vector<double>(const std::vector<double>&)>& apply,
                            const std::vector<double>& b, int64_t max_iter, double tol);

UnlearnResult run_influence(models::Model& model, const RequestView& view, const UnlearnOptions& opt);

}  // namespace lethe::unlearning::detail
