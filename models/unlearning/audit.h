// Audits of unlearned models: what "forgotten" means, measured from final embeddings,
// so that any set of checkpoints can be compared. One audit produces the JSON report (report.h writes it):
//
//   retain utility      Recall / NDCG / Precision / MAP @10/20/50 on the original test rows of users not in a
//                       user request (rows of items not in an item request), mask = D_r train items
//   forget recall       Recall@20 with targets D_f, mask = the user's retained train items
//   same users' test    Recall@20 on the affected users' own test rows (forgotten users for user requests)
//   membership inference  logistic regression on (score, rank percentile, z-score within the user), trained
//                       on the ORIGINAL model (members: retained train pairs; non-members: held-out
//                       valid/test pairs), evaluated per model on forget pairs (member) vs the same users'
//                       held-out pairs (non-member): balanced accuracy, ~0.5 = nothing left to detect
//   agreement with gold mean Jaccard of top-20 lists; Kendall's tau-b of scores on the forget pairs
//   RelItems            (item requests) users whose top 20 (mask = D_r train items, dropped items not masked)
//                       still holds a forgotten item, and that count against gold's (ERASE's "RelItems")
//   erased features     (modality requests, item drops) per feature-derived parameter the model declares
//                       (Model::modality_uses): how far the erased / dropped rows sit from their raw
//                       features, relative to the replacement (1 = as far as the replacement, 0 = the raw
//                       features survive); and the erased items' mean rank percentile over the evaluated
//                       users beside gold's
//   efficiency          time, speed-up vs gold, epochs (from the run metadata)
//   fairness            NDCG@20 of the most active 20% of users (D_r degree) vs the rest
//   sanity              parameters differ from the original; forget recall fell; methods differ pairwise
// See docs/unlearning.md, "Audits".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "models/unlearning/unlearning.h"

namespace lethe::unlearning {

// One model as the audit sees it: final embeddings (eval-time forward on the model's own training data),
// its parameters (for the sanity checks) and how it was produced.
struct AuditModel {
  std::string name;                                    // "original", "gold", "mmrecun", ...
  Tensor users, items;                                 // F32 [n_users, d], [n_items, d] on the CPU
  std::vector<std::pair<std::string, Tensor>> params;  // CPU copies
  std::vector<models::ModalityUse> modality_uses;      // the model's declaration (erased-feature audit)
  double time_s = -1.0;  // wall time of the method (original: its training), -1 unknown
  int64_t epochs = -1;
  std::string stop_reason;
  std::string stopped_on;  // what decided an until-forgotten stop (ForgetCheck::decided_by), else ""
};

// Embeddings and parameter copies of a model (eval-time forward).
AuditModel audit_model(const std::string& name, models::Model& model);

struct AuditOptions {
  int64_t mia_max_pairs = 20000;  // per class, for training and for evaluation (deterministic subsample)
  int64_t kendall_max_pairs = 3000;
  uint64_t seed = 0;
};

// models[0] must be "original"; a model named "gold", when present, is the reference for agreement and
// speed-up. Returns {"request": {...}, "rows": [...], "sanity": {...}, "mia_attack": {...}, ...}.
nlohmann::json run_audit(const RequestView& view, const std::vector<AuditModel>& models,
                         const AuditOptions& opt = {});

// Pieces, exposed for tests.
// Logistic regression (features standardised, full-batch gradient descent with a small L2 penalty).
struct Logistic {
  std::vector<double> mean, scale, w;
  double b = 0.0;
  void fit(const std::vector<std::vector<double>>& x, const std::vector<int>& y, int iterations = 500);
  double prob(const std::vector<double>& x) const;
};
double balanced_accuracy(const std::vector<int>& y, const std::vector<int>& pred);
double kendall_tau_b(const std::vector<double>& a, const std::vector<double>& b);
double jaccard(std::vector<int32_t> a, std::vector<int32_t> b);

}  // namespace lethe::unlearning
