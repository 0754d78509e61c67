// SISA sharding (sharded.h; docs/unlearning.md, "SISA").
#include "models/sharded.h"

#include <numeric>

#include "autograd/ops.h"
#include "engine/error.h"
#include "models/layers.h"

namespace lethe::models {

std::vector<int32_t> partition_users(int32_t n_users, int64_t shards, uint64_t seed) {
  LETHE_CHECK(shards >= 1, "sharding: shards must be >= 1, got " << shards);
  LETHE_CHECK(shards <= n_users, "sharding: " << shards << " shards for " << n_users << " users");
  std::vector<int32_t> order(static_cast<size_t>(n_users));
  std::iota(order.begin(), order.end(), 0);
  Rng rng = Rng(seed).fork(0x5157A);
  rng.shuffle(order);
  std::vector<int32_t> shard(order.size());
  for (size_t p = 0; p < order.size(); ++p)
    shard[static_cast<size_t>(order[p])] = static_cast<int32_t>(p % static_cast<size_t>(shards));
  return shard;
}

ShardedModel::ShardedModel(const std::string& backbone, const Config& config, const TrainData& data,
                           uint64_t seed, Device dev)
    : backbone_(backbone), sub_config_(config), seed_(seed) {
  config_ = config;
  device_ = dev;
  const int64_t k = config.get_int("shards");
  LETHE_CHECK(k >= 2, "sharding: a sharded model needs shards >= 2, got " << k);
  combiner_ = config.get_string("shard_combiner", "own");
  LETHE_CHECK(combiner_ == "own" || combiner_ == "mean",
              "config: shard_combiner must be 'own' or 'mean', got '" << combiner_ << "'");
  sub_config_.set("shards", "1");
  shard_of_user_ = partition_users(data.n_users, k, seed);
  for (int64_t s = 0; s < k; ++s) {
    std::vector<float> member(shard_of_user_.size(), 0.0f);
    for (size_t u = 0; u < member.size(); ++u) member[u] = shard_of_user_[u] == s ? 1.0f : 0.0f;
    members_.push_back(Tensor::from_vector(member, Shape{data.n_users}).astype(model_dtype(config)).to(dev));
  }
  for (int64_t s = 0; s < k; ++s)
    shards_.push_back(create_model(backbone_, sub_config_, shard_data(data, s), shard_seed(s), dev));
}

uint64_t ShardedModel::shard_seed(int64_t k) const {
  return Rng(seed_).fork(0x5EED00 + static_cast<uint64_t>(k)).next_u64();
}

TrainData ShardedModel::shard_data(const TrainData& data, int64_t k) const {
  LETHE_CHECK(data.n_users == static_cast<int32_t>(shard_of_user_.size()),
              "sharding: the data has " << data.n_users << " users, the partition " << shard_of_user_.size());
  TrainData out;
  out.n_users = data.n_users;
  out.n_items = data.n_items;
  out.features = data.features;
  out.item_dropped = data.item_dropped;
  out.train = shard_rows(data.train, k);
  return out;
}

datasets::Interactions ShardedModel::shard_rows(const datasets::Interactions& rows, int64_t k) const {
  datasets::Interactions out;
  for (size_t r = 0; r < rows.size(); ++r)
    if (shard_of_user_.at(static_cast<size_t>(rows.users[r])) == k) out.push(rows.users[r], rows.items[r]);
  return out;
}

void ShardedModel::reset_shard(int64_t k, const TrainData& data) {
  shards_.at(static_cast<size_t>(k)) =
      create_model(backbone_, sub_config_, shard_data(data, k), shard_seed(k), device_);
}

std::vector<std::pair<std::string, autograd::Var>> ShardedModel::parameters() {
  std::vector<std::pair<std::string, autograd::Var>> out;
  for (size_t k = 0; k < shards_.size(); ++k)
    for (auto& [n, p] : shards_[k]->parameters()) out.emplace_back("shard" + std::to_string(k) + "." + n, p);
  return out;
}

std::string ShardedModel::user_table() const { return "shard0." + shards_[0]->user_table(); }
std::string ShardedModel::item_table() const { return "shard0." + shards_[0]->item_table(); }

std::vector<ModalityUse> ShardedModel::modality_uses() const {
  std::vector<ModalityUse> out = shards_[0]->modality_uses();
  for (ModalityUse& u : out) {
    std::vector<std::string> names;
    for (size_t k = 0; k < shards_.size(); ++k)
      for (const std::string& p : u.parameters) names.push_back("shard" + std::to_string(k) + "." + p);
    u.parameters = std::move(names);
  }
  return out;
}

void ShardedModel::set_data(const TrainData& data) {
  for (size_t k = 0; k < shards_.size(); ++k) shards_[k]->set_data(shard_data(data, static_cast<int64_t>(k)));
}

Forward ShardedModel::forward(bool training) {
  LETHE_CHECK(!training,
              "sharding: a sharded model has no joint training view; its shards train one by one "
              "(training::train_shards)");
  const int64_t k = num_shards();
  std::vector<autograd::Var> users, items;
  for (int64_t s = 0; s < k; ++s) {
    const Forward f = shards_[static_cast<size_t>(s)]->forward(false);
    items.push_back(f.items);
    if (combiner_ == "mean") {
      users.push_back(autograd::scale(f.users, 1.0 / static_cast<double>(k)));
    } else {
      users.push_back(autograd::scale_rows(f.users, autograd::constant(members_[static_cast<size_t>(s)])));
    }
  }
  Forward out;
  out.users = autograd::concat_cols(users);
  out.items = autograd::concat_cols(items);
  return out;
}

autograd::Var ShardedModel::loss(const Forward&, const Batch&) {
  LETHE_CHECK(
      false,
      "sharding: a sharded model has no joint loss; its shards train one by one (training::train_shards)");
  return {};
}

}  // namespace lethe::models
