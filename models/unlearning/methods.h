// Unlearning methods (docs/unlearning.md, "Methods"): each maps (a trained model, a request view) to an
// unlearned model, and each is a loss plus hooks on the one training loop (models/training/trainer.h):
//
//   mmrecun   L = alpha * L_rev(B_f) + beta * L_fwd(B_r)                         mmrecun.cpp
//   finetune  L_fwd(B_r) alone, from the original parameters                      baselines.cpp
//   neggrad   gradient ascent on the forget set alone                             baselines.cpp
//   gold      retrain from scratch on D_r with the original configuration         baselines.cpp
//   sisa      retrain only the shards of a sharded model that the request touches  sisa.cpp
//   influence one damped Newton step on the forget set's rows (influence function)  influence.cpp
//
// Before any step every method rebuilds every structure derived from the data from D_r
// (Model::set_data(view.retain)) and erases removed features from the parameters, so no forgotten edge or
// feature survives. Stopping: a fixed number of epochs or until-forgotten (stop_rules.h).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/comm/communicator.h"
#include "models/config.h"
#include "models/model.h"
#include "models/unlearning/request_view.h"
#include "models/unlearning/stop_rules.h"

namespace lethe::unlearning {

enum class Method { MMRecUn, Gold, Finetune, NegGrad, Sisa, Influence };
Method parse_method(const std::string& s);  // "mmrecun", "gold", "finetune", "neggrad", "sisa", "influence"
const char* method_name(Method m);

struct UnlearnOptions {
  Method method = Method::MMRecUn;
  double alpha = 1.0, beta = 1.0;  // MMRecUn weights of L_rev and L_fwd
  double lr = 1e-3;                // fresh Adam
  // MMRecUn: the learning-rate factor for the rows of users and items left with no training data (user and
  // item requests). Nothing but the reverse term trains those rows, and they must travel as far as the whole
  // original training moved them, in the |D_f| / batch steps of an epoch (docs/unlearning.md, "Own rows").
  double own_rows_lr_factor = 30.0;
  // MMRecUn: only the ID-table rows the forget set shaped move (its users' rows and its items' rows); every
  // other parameter keeps the trained value. Fresh Adam moves every entry by about lr per step whatever its
  // gradient, so unconfined steps shake the whole model away from gold.
  // See docs/unlearning.md, "Confined updates". false: every parameter moves (the paper's plain form).
  bool confine = true;
  // MMRecUn, TRU-style ranking gate: the reverse term acts only on forget triples whose forgotten item still
  // ranks above its negative (docs/unlearning.md, "Ranking gate").
  bool rank_gate = false;
  // MMRecUn, TRU-style layer isolation (with confine = false): only the `sensitive_layers` parameter tensors
  // whose one Adam step lowers the reverse term most move (docs/unlearning.md, "Sensitive layers"); 0: off.
  int64_t sensitive_layers = 0;
  // MMRecUn, TRU-style branch-wise modality scaling (with confine = false): each modality branch
  // (Model::modality_uses) learns at lr x (the least sensitive branch's reverse-term sensitivity / its own),
  // so no modality dominates the reverse update (docs/unlearning.md, "Branch scaling").
  bool branch_scaling = false;
  int64_t batch_size = 2048;                  // B_f and B_r
  int64_t epochs = 0;                         // fixed number of epochs (> 0), or 0 with until_forgotten
  bool until_forgotten = false;               // stop once forget Recall@20 <= ForgetCheck::reference
  Reference reference = Reference::TwoSided;  // how until-forgotten estimates gold's level (stop_rules.h)
  int64_t max_epochs = 300;                   // cap for until_forgotten
  // until_forgotten, interaction requests: also wait for the forget pairs' mean rank percentile to reach the
  // user-side rank level (ForgetChecker::set_pair_rank; docs/unlearning.md, "Stopping"). false: recall alone.
  bool pair_rank = true;
  // With pair_rank: the rank holds the run on only until the forget recall is two standard errors below
  // its reference (ForgetChecker::set_recall_floor; docs/unlearning.md, "Recall floor"). false: the rank
  // holds it on however far the recall falls.
  bool recall_floor = true;
  // MMRecUn, forget pairs whose user and item both keep data (interaction requests): the reverse term acts
  // on a pair only while it ranks, over all items, above where the mean of its user's retained items' final
  // embeddings ranks it; recomputed at each epoch's first step (docs/unlearning.md, "Pair gate"). false:
  // every pair is pushed until the stop (the paper's form).
  bool pair_gate = true;
  // until_forgotten: the epoch that crosses the reference is cut back to the point of its parameter segment
  // where the forget recall meets the reference (bisection; docs/unlearning.md, "Landing").
  bool landing = true;
  // influence: the damping lambda of (H_r + lambda I) (docs/unlearning.md, "Influence") and the conjugate
  // gradient's limits.
  double damping = 1.0;
  int64_t cg_max_iter = 30;
  double cg_tol = 1e-4;
  uint64_t seed = 999;  // sampling randomness (gold: also the initialisation seed)
  bool quiet = false;
  std::ostream* log = nullptr;  // progress lines (default std::cout)
  // Data-parallel over these ranks (null: this process alone; docs/scaling.md, "Data-parallel steps").
  comm::Communicator* comm = nullptr;
};

struct EpochLog {
  int64_t epoch = 0;
  double loss = 0.0;                                     // sum of step losses
  double seconds = 0.0;                                  // cumulative wall time since the method started
  double forget_recall = -1.0;                           // Recall@20 on D_f (-1: not measured this epoch)
  double test_recall = -1.0;                             // Recall@20 on the same users' test rows
  double reference = -1.0;                               // ForgetCheck::reference
  nlohmann::json candidates = nlohmann::json::object();  // ForgetCheck's candidate levels (ref_*) that apply
};

struct UnlearnResult {
  std::string method;
  int64_t epochs_run = 0;
  int64_t steps = 0;
  std::string stop_reason;  // "epochs", "until-forgotten", "max-epochs", "early stopping", ...
  double seconds = 0.0;     // wall time of the whole method (rebuild, steps, stopping checks)
  std::vector<EpochLog> epochs;
  nlohmann::json extra = nlohmann::json::object();  // method specific (gold: best epoch, ...)
};

// Checks that the options make sense for the request (stopping rule, a forget set where the method needs
// one, weights, learning rate); throws lethe::Error with a one-line reason. run_method calls it first.
void check_options(const UnlearnOptions& opt, const RequestView& view);

// Runs a method. `model` holds the starting parameters (the original model, or the previous step's model
// for sequential requests) and is replaced by a fresh model for gold. `config` / `model_name` are the
// original run's. The model ends in the unlearned state, with set_data(view.retain) applied.
UnlearnResult run_method(std::unique_ptr<models::Model>& model, const std::string& model_name,
                         const models::Config& config, const RequestView& view, const UnlearnOptions& opt);

}  // namespace lethe::unlearning
