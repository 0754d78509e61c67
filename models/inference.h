// Serving a trained model without the training stack: a Recommender reads a run directory's
// embeddings.safetensors (final user / item embeddings, each user's training items, dropped items) and
// scores users with one dot product per item. No data set, graph or model code is needed at load time.
//
//   auto rec = lethe::models::Recommender::load("runs/baby-lightgcn");
//   for (auto [item, score] : rec.top_k(42, 20)) ...
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace lethe::models {

class Recommender {
 public:
  // `path`: a run directory or an embeddings.safetensors file.
  static Recommender load(const std::string& path);

  // The k best items for `user`, best first, as (item id, score). exclude_seen drops the user's training
  // items; dropped (unlearned) items are never returned. Ties are broken by smaller item id.
  std::vector<std::pair<int32_t, float>> top_k(int32_t user, int64_t k, bool exclude_seen = true) const;
  // Scores of every item for `user` (dot products of the final embeddings), unmasked.
  std::vector<float> scores(int32_t user) const;

  int32_t n_users() const { return n_users_; }
  int32_t n_items() const { return n_items_; }
  int64_t dim() const { return dim_; }
  const std::string& model_name() const { return model_; }
  // The user's training items (sorted).
  std::vector<int32_t> seen(int32_t user) const;

 private:
  std::string model_;
  int32_t n_users_ = 0, n_items_ = 0;
  int64_t dim_ = 0;
  std::vector<float> users_, items_;  // row-major [n_users, dim], [n_items, dim]
  std::vector<int32_t> seen_indptr_, seen_items_;
  std::vector<uint8_t> dropped_;
};

}  // namespace lethe::models
