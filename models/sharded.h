// SISA sharding (docs/unlearning.md, "SISA"): K sub-models of one backbone, each trained on its own shard of
// the users (a balanced partition drawn from the seed), combined at scoring time. A ShardedModel is a Model,
// so run directories, evaluation and audits read it like any other: its parameters are the sub-models'
// ("shard<k>." + name) and its forward is the combined scores written as embeddings of width K * d:
//   own   users: the user's own shard block (other blocks zero); items: every shard's block side by side,
//         so score(u, i) = s_k(u, i) with k the shard of u;
//   mean  users: every block / K, so score(u, i) = mean over k of s_k(u, i).
// Sub-models never train jointly: training::train_shards trains each on the one trainer (loss() refuses).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/model.h"

namespace lethe::models {

class ShardedModel : public Model {
 public:
  // `config` holds shards = K > 1; the sub-models are `backbone` with shards = 1, shard k initialised from
  // shard_seed(seed, k) on shard_data(data, k).
  ShardedModel(const std::string& backbone, const Config& config, const TrainData& data, uint64_t seed,
               Device dev);

  std::string name() const override { return backbone_; }
  std::vector<std::pair<std::string, autograd::Var>> parameters() override;
  std::string user_table() const override;
  std::string item_table() const override;
  IdInit id_init() const override { return shards_[0]->id_init(); }
  std::vector<ModalityUse> modality_uses() const override;
  void set_data(const TrainData& data) override;
  Forward forward(bool training) override;
  autograd::Var loss(const Forward& f, const Batch& b) override;

  int64_t num_shards() const { return static_cast<int64_t>(shards_.size()); }
  Model& shard(int64_t k) { return *shards_.at(static_cast<size_t>(k)); }
  // Replaces sub-model k with a fresh one (initialised from shard_seed) on shard_data(data, k).
  void reset_shard(int64_t k, const TrainData& data);
  const std::vector<int32_t>& shard_of_user() const { return shard_of_user_; }
  int32_t shard_of(int32_t user) const { return shard_of_user_.at(static_cast<size_t>(user)); }
  // The training data of shard k: the rows of its users; features and catalogue as in `data`.
  TrainData shard_data(const TrainData& data, int64_t k) const;
  // The valid / test rows of shard k's users.
  datasets::Interactions shard_rows(const datasets::Interactions& rows, int64_t k) const;
  uint64_t shard_seed(int64_t k) const;
  const std::string& combiner() const { return combiner_; }

 private:
  std::string backbone_, combiner_;
  Config sub_config_;
  uint64_t seed_;
  std::vector<int32_t> shard_of_user_;
  std::vector<std::unique_ptr<Model>> shards_;
  std::vector<Tensor> members_;  // per shard: [n_users] 1 for its users, 0 otherwise (own combiner)
};

// The balanced partition: users shuffled by Rng(seed).fork(0x5157A) and dealt round-robin, so shard sizes
// differ by at most one.
std::vector<int32_t> partition_users(int32_t n_users, int64_t shards, uint64_t seed);

}  // namespace lethe::models
