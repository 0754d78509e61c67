// Full-ranking evaluation (docs/models.md, "Evaluation") from final user / item embeddings on any device.
//
// For each block of users: scores = U[block] @ I^T on the embeddings' device, the user's masked items
// (MMRec: the user's TRAINING items) and every item dropped from the catalogue set to -1e10, a top-50 per
// row (no full sort), and only the [block, 50] index matrix read back to the host, where hits are checked
// against the user's target items and fed to MetricAccumulator. The default users are the distinct users
// of the target split in order of first appearance.
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/dataset.h"
#include "engine/comm/communicator.h"
#include "engine/tensor.h"
#include "models/eval/metrics.h"

namespace lethe::eval {

struct EvalOptions {
  int64_t batch_size = 4096;                   // users per block (MMRec eval_batch_size)
  std::vector<int> topks = default_topks();    // the list length is the largest K (50)
  int64_t max_block_elems = int64_t(1) << 26;  // caps block x n_items scores (256 MB of F32); same results
  // evaluate() over these ranks (null: this process alone): rank r ranks the r-th block of the users, and
  // every rank gathers every user's hits and adds them up in user order, so the metrics are bitwise those
  // of one process (docs/scaling.md, "Data-parallel steps"). Every rank must call evaluate() alike.
  comm::Communicator* comm = nullptr;
};

struct EvalResult {
  Metrics metrics;
  int64_t users = 0;     // users evaluated
  int64_t skipped = 0;   // users given but with no target items (not evaluated)
  double seconds = 0.0;  // wall time of the whole evaluation
};

// Distinct users of x in order of first appearance.
std::vector<int32_t> users_in_order(const datasets::Interactions& x);

class Evaluator {
 public:
  // mask: per-user items never to rank (the training items); item_dropped: empty or n_items flags.
  // The CSR patterns are uploaded to `dev` once.
  Evaluator(const datasets::UserItems& mask, int32_t n_items, const std::vector<uint8_t>& item_dropped,
            Device dev, EvalOptions opt = {});

  // MMRec evaluation of a split: users = users_in_order(targets), T_u = the user's rows of `targets`.
  EvalResult evaluate(const Tensor& user_emb, const Tensor& item_emb,
                      const datasets::Interactions& targets) const;
  // Generic: evaluate `users` (users with no targets are skipped and counted) against `targets`.
  EvalResult evaluate(const Tensor& user_emb, const Tensor& item_emb, const datasets::UserItems& targets,
                      const std::vector<int32_t>& users) const;

  // Top-k item ids (and scores) for `users` with the same masking: row-major [users.size(), k].
  void top_k(const Tensor& user_emb, const Tensor& item_emb, const std::vector<int32_t>& users, int64_t k,
             std::vector<int32_t>& items, std::vector<float>* scores = nullptr) const;

  const EvalOptions& options() const { return opt_; }
  int32_t n_items() const { return n_items_; }

 private:
  // Calls fn(row0, n, indices[n, k]) for each block of users.
  template <class Fn>
  void for_each_block(const Tensor& user_emb, const Tensor& item_emb, const std::vector<int32_t>& users,
                      int64_t k, std::vector<float>* scores, Fn&& fn) const;

  int32_t n_users_ = 0, n_items_ = 0;
  Device dev_;
  EvalOptions opt_;
  Tensor mask_indptr_, mask_cols_;  // I32 CSR of masked items per user, on dev_
  Tensor drop_indptr_, drop_cols_;  // I32 one-row CSR of dropped items (undefined when none)
};

// Score a masked item gets; anything below it is impossible for finite embeddings of sane size.
inline constexpr double kMaskedScore = -1e10;

}  // namespace lethe::eval
