// Full-ranking evaluator: masking of training / dropped items, hits against targets, blocking invariance.
#include <gtest/gtest.h>

#include "datasets/dataset.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include "models/eval/evaluator.h"

using namespace lethe;
using namespace lethe::eval;

namespace {

// 3 users, 6 items, d = 1: score(u, i) = user_w[u] * item_w[i], so every user ranks items by item_w
// (user weights are positive): item order 0 > 1 > 2 > 3 > 4 > 5.
struct Toy {
  Tensor U = Tensor::from_vector(std::vector<float>{1.0f, 2.0f, 0.5f}, {3, 1});
  Tensor I = Tensor::from_vector(std::vector<float>{6.f, 5.f, 4.f, 3.f, 2.f, 1.f}, {6, 1});
  datasets::Interactions train, valid, test;
  Toy() {
    train.push(0, 0);
    train.push(0, 1);  // user 0 trained on the two best items
    train.push(1, 2);
    train.push(2, 5);
    valid.push(0, 2);  // user 0's valid item: the best unmasked one
    valid.push(1, 4);
    test.push(1, 0);
    test.push(1, 5);  // user 1 first in the test split
    test.push(0, 3);
  }
};

}  // namespace

TEST(Evaluator, UsersInOrderOfFirstAppearance) {
  datasets::Interactions x;
  x.push(5, 1);
  x.push(2, 1);
  x.push(5, 3);
  x.push(0, 2);
  EXPECT_EQ(users_in_order(x), (std::vector<int32_t>{5, 2, 0}));
}

TEST(Evaluator, TrainItemsAreNeverRecommended) {
  Toy t;
  Evaluator ev(datasets::UserItems::build(t.train, 3), 6, {}, Device::cpu(), EvalOptions{4096, {1, 2, 3}});
  std::vector<int32_t> items;
  std::vector<float> scores;
  ev.top_k(t.U, t.I, {0, 1, 2}, 3, items, &scores);
  ASSERT_EQ(items.size(), 9u);
  EXPECT_EQ(std::vector<int32_t>(items.begin(), items.begin() + 3),
            (std::vector<int32_t>{2, 3, 4}));  // not 0, 1
  EXPECT_EQ(std::vector<int32_t>(items.begin() + 3, items.begin() + 6), (std::vector<int32_t>{0, 1, 3}));
  EXPECT_EQ(std::vector<int32_t>(items.begin() + 6, items.end()), (std::vector<int32_t>{0, 1, 2}));
  EXPECT_FLOAT_EQ(scores[0], 4.0f);
  EXPECT_FLOAT_EQ(scores[3], 12.0f);
}

TEST(Evaluator, ValidItemsStayRankableAtTest) {
  Toy t;
  Evaluator ev(datasets::UserItems::build(t.train, 3), 6, {}, Device::cpu(), EvalOptions{4096, {1, 2}});
  // Valid: user 0 -> item 2 at rank 1 (hit); user 1 -> item 4 at rank 4 (miss at 1 and 2).
  const EvalResult v = ev.evaluate(t.U, t.I, t.valid);
  EXPECT_EQ(v.users, 2);
  EXPECT_DOUBLE_EQ(v.metrics.at("Recall@1"), 0.5);
  EXPECT_DOUBLE_EQ(v.metrics.at("Precision@2"), 0.25);
  // Test: user 0's valid item 2 is NOT masked, so it takes rank 1 and test item 3 comes second.
  // user 1 (T = {0, 5}): ranks 0, 1, 3, 4, 5 -> hit at rank 1 only within top 2.
  const EvalResult r = ev.evaluate(t.U, t.I, t.test);
  EXPECT_EQ(r.users, 2);
  EXPECT_DOUBLE_EQ(r.metrics.at("Recall@1"), (0.0 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(r.metrics.at("Recall@2"), (1.0 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(r.metrics.at("MAP@2"), (0.5 / 1 + 1.0 / 2) / 2);
}

TEST(Evaluator, DroppedItemsAreMaskedForEveryone) {
  Toy t;
  std::vector<uint8_t> dropped(6, 0);
  dropped[0] = 1;
  dropped[2] = 1;
  Evaluator ev(datasets::UserItems::build(t.train, 3), 6, dropped, Device::cpu(), EvalOptions{4096, {2}});
  std::vector<int32_t> items;
  ev.top_k(t.U, t.I, {0, 1, 2}, 2, items);
  EXPECT_EQ(items, (std::vector<int32_t>{3, 4, 1, 3, 1, 3}));
}

TEST(Evaluator, GenericTargetsSkipUsersWithoutTargets) {
  Toy t;
  // Forget-set style audit: targets = user 0's train items, mask = nothing of theirs (user 0 retains none).
  datasets::Interactions retained;
  retained.push(1, 2);
  retained.push(2, 5);
  Evaluator audit(datasets::UserItems::build(retained, 3), 6, {}, Device::cpu(), EvalOptions{4096, {1, 2}});
  datasets::Interactions forget;
  forget.push(0, 0);
  forget.push(0, 1);
  const EvalResult r = audit.evaluate(t.U, t.I, datasets::UserItems::build(forget, 3), {0, 1, 2});
  EXPECT_EQ(r.users, 1);
  EXPECT_EQ(r.skipped, 2);
  EXPECT_DOUBLE_EQ(r.metrics.at("Recall@2"), 1.0);  // the model still ranks its forgotten items first
  EXPECT_DOUBLE_EQ(r.metrics.at("Recall@1"), 0.5);
}

TEST(Evaluator, BlockSizeDoesNotChangeResults) {
  // 50 users x 80 items with random embeddings and random train / test splits.
  const int U = 50, N = 80, d = 8;
  Rng rng(7);
  std::vector<float> u(U * d), it(N * d);
  for (auto& x : u) x = static_cast<float>(rng.normal());
  for (auto& x : it) x = static_cast<float>(rng.normal());
  datasets::Interactions train, test;
  for (int a = 0; a < U; ++a)
    for (int b = 0; b < N; ++b) {
      const double p = rng.uniform();
      if (p < 0.1)
        train.push(a, b);
      else if (p < 0.15)
        test.push(a, b);
    }
  const Tensor Ut = Tensor::from_vector(u, {U, d}), It = Tensor::from_vector(it, {N, d});
  Evaluator big(datasets::UserItems::build(train, U), N, {}, Device::cpu(), EvalOptions{4096});
  Evaluator small(datasets::UserItems::build(train, U), N, {}, Device::cpu(), EvalOptions{7});
  const EvalResult a = big.evaluate(Ut, It, test), b = small.evaluate(Ut, It, test);
  EXPECT_GT(a.users, 40);
  for (const auto& [k, v] : a.metrics) EXPECT_DOUBLE_EQ(v, b.metrics.at(k)) << k;
  // No training item appears in any top-50 list.
  std::vector<int32_t> items;
  std::vector<int32_t> users(U);
  for (int a2 = 0; a2 < U; ++a2) users[a2] = a2;
  small.top_k(Ut, It, users, 50, items);
  const auto mask = datasets::UserItems::build(train, U);
  int masked_seen = 0;
  for (int a2 = 0; a2 < U; ++a2)
    for (int j = 0; j < 50; ++j)
      if (N - mask.degree(a2) >= 50) masked_seen += mask.contains(a2, items[a2 * 50 + j]);
  EXPECT_EQ(masked_seen, 0);
}

TEST(Evaluator, RejectsBadInputs) {
  Toy t;
  Evaluator ev(datasets::UserItems::build(t.train, 3), 6, {}, Device::cpu());
  const Tensor wrong = Tensor::zeros({5, 1});
  EXPECT_THROW(ev.evaluate(t.U, wrong, t.valid), Error);
  datasets::Interactions bad;
  bad.push(7, 1);
  EXPECT_THROW(ev.evaluate(t.U, t.I, bad), Error);
}
