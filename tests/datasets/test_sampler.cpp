// Tests for UserItems and the BPR sampler (datasets/dataset.h, datasets/sampler.h).
#include <gtest/gtest.h>

#include <set>

#include "datasets/sampler.h"
#include "datasets/synthetic.h"
#include "tests/datasets/helpers.h"

using namespace lethe;
using namespace lethe::datasets;

TEST(UserItems, BuildAndContains) {
  Interactions x;
  x.push(2, 5);
  x.push(0, 3);
  x.push(2, 1);
  x.push(0, 0);
  UserItems ui = UserItems::build(x, 4);
  EXPECT_EQ(ui.indptr, (std::vector<int32_t>{0, 2, 2, 4, 4}));
  EXPECT_EQ(ui.items, (std::vector<int32_t>{0, 3, 1, 5}));
  EXPECT_EQ(ui.degree(2), 2);
  EXPECT_TRUE(ui.contains(2, 5));
  EXPECT_FALSE(ui.contains(1, 5));
  EXPECT_FALSE(ui.contains(7, 0));
  test::expect_error([&] { UserItems::build(x, 2); }, {"user id 2"});
}

TEST(BprSampler, NegativesFromPoolNeverTrainItemsAndBatchSizes) {
  Dataset ds = generate_synthetic(synth_preset("tiny"), 5);
  BprSampler s = BprSampler::for_training(ds.train, ds.n_users, 256);
  const int64_t E = static_cast<int64_t>(ds.train.size());
  EXPECT_EQ(s.num_batches(), (E + 255) / 256);
  const std::vector<int32_t> pool = unique_items(ds.train);
  const std::set<int32_t> pool_set(pool.begin(), pool.end());
  UserItems ui = UserItems::build(ds.train, ds.n_users);
  Rng rng(42);
  for (int epoch = 0; epoch < 3; ++epoch) {
    s.shuffle(rng);
    std::multiset<std::pair<int32_t, int32_t>> seen;
    int64_t rows = 0;
    for (int64_t b = 0; b < s.num_batches(); ++b) {
      BprBatch bt = s.batch(b, rng);
      EXPECT_EQ(static_cast<int64_t>(bt.size()), b + 1 < s.num_batches() ? 256 : E - 256 * b);
      for (size_t r = 0; r < bt.size(); ++r) {
        EXPECT_TRUE(pool_set.count(bt.neg[r]));
        EXPECT_FALSE(ui.contains(bt.users[r], bt.neg[r]));
        seen.insert({bt.users[r], bt.pos[r]});
      }
      rows += static_cast<int64_t>(bt.size());
    }
    EXPECT_EQ(rows, E);
    std::multiset<std::pair<int32_t, int32_t>> all;  // every positive exactly once per epoch
    for (int64_t r = 0; r < E; ++r) all.insert({ds.train.users[r], ds.train.items[r]});
    EXPECT_EQ(seen, all);
  }
}

TEST(BprSampler, DeterministicPerSeed) {
  Dataset ds = generate_synthetic(synth_preset("tiny"), 5);
  auto run = [&](uint64_t seed) {
    BprSampler s = BprSampler::for_training(ds.train, ds.n_users, 100);
    Rng rng(seed);
    s.shuffle(rng);
    std::vector<int32_t> out;
    for (int64_t b = 0; b < s.num_batches(); ++b) {
      BprBatch bt = s.batch(b, rng);
      out.insert(out.end(), bt.users.begin(), bt.users.end());
      out.insert(out.end(), bt.neg.begin(), bt.neg.end());
    }
    return out;
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
}

TEST(BprSampler, CustomPoolAndNearlyFullUser) {
  // User 0 owns items 0..8 of a pool 0..9: the only allowed negative is 9 (fallback path is exact).
  Interactions pos;
  for (int32_t i = 0; i < 9; ++i) pos.push(0, i);
  std::vector<int32_t> pool(10);
  for (int32_t i = 0; i < 10; ++i) pool[i] = i;
  BprSampler s(pos, UserItems::build(pos, 1), pool, 4);
  Rng rng(1);
  for (int64_t b = 0; b < s.num_batches(); ++b)
    for (int32_t n : s.batch(b, rng).neg) EXPECT_EQ(n, 9);
  // A user owning the whole pool is an error, not an endless loop.
  pool.pop_back();
  BprSampler full(pos, UserItems::build(pos, 1), pool, 4);
  test::expect_error([&] { full.batch(0, rng); }, {"user 0", "negative"});
}
