// Full score rows of chosen users, for measurements that need more than a top-k: the rank of a given item
// (the audit's membership features, the unlearning stop rule's item rank; docs/unlearning.md, "Stopping").
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "datasets/dataset.h"
#include "engine/tensor.h"

namespace lethe::eval {

// Calls fn(k, row) for each users[k] with row = that user's scores against every item (n_items floats, valid
// during the call). Scored in blocks of users on the embeddings' device (about 16M scores per block), read
// back one block at a time.
void for_each_score_row(const Tensor& user_emb, const Tensor& item_emb, const std::vector<int32_t>& users,
                        const std::function<void(size_t, const float*)>& fn);

// The fraction of the other n_items - 1 entries of a score row strictly below v (1 = ranked first, 0 = last).
double rank_percentile(const float* row, int64_t n_items, float v);

// Per pair (u, i) of `pairs`: the fraction of the other items that u's scores rank strictly below i
// (1 = ranked first, 0 = last; over all items, nothing masked).
std::vector<double> pair_rank_percentiles(const Tensor& user_emb, const Tensor& item_emb,
                                          const datasets::Interactions& pairs);

}  // namespace lethe::eval
