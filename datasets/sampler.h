// BPR training batches (docs/datasets.md, "BPR batches"): each epoch the positive rows are shuffled and cut
// into batches; each positive gets one negative drawn uniformly from `neg_pool` (the items occurring in the
// training split), rejecting items in the user's `exclude` list (the user's training positives).
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/dataset.h"
#include "engine/rng.h"

namespace lethe::datasets {

struct BprBatch {
  std::vector<int32_t> users, pos, neg;
  size_t size() const { return users.size(); }
};

class BprSampler {
 public:
  // positives: rows to iterate; exclude: per-user forbidden negatives; neg_pool: candidate negatives.
  BprSampler(Interactions positives, UserItems exclude, std::vector<int32_t> neg_pool, int64_t batch_size);
  // The usual training sampler: positives = train, exclude = train per user, pool = unique train items.
  static BprSampler for_training(const Interactions& train, int32_t n_users, int64_t batch_size);

  void shuffle(Rng& rng);  // new row order; call at the start of every epoch
  int64_t num_batches() const;
  int64_t batch_size() const { return batch_size_; }
  // Batch b of the current order, with fresh negatives drawn from rng.
  BprBatch batch(int64_t b, Rng& rng) const;
  const Interactions& positives() const { return pos_; }

 private:
  Interactions pos_;
  UserItems exclude_;
  std::vector<int32_t> pool_;
  std::vector<int64_t> order_;
  int64_t batch_size_;
};

// Sorted unique item ids of the interactions.
std::vector<int32_t> unique_items(const Interactions& x);
// Sorted distinct users of x.
std::vector<int32_t> unique_users(const Interactions& x);

}  // namespace lethe::datasets
