// MMRec metric definitions (docs/models.md, "Evaluation") against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/device.h"
#include "engine/error.h"
#include "models/eval/metrics.h"

using namespace lethe::eval;

namespace {
const double L3 = 1.0 / std::log2(3.0), L5 = 1.0 / std::log2(5.0), L6 = 1.0 / std::log2(6.0);
}

TEST(Metrics, HandComputedUserWithFewerTargetsThanK) {
  // Ranks 1 and 3 hit, |T_u| = 4, K = 5.
  const std::vector<uint8_t> h{1, 0, 1, 0, 0};
  EXPECT_DOUBLE_EQ(recall_at(h, 5, 4), 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(precision_at(h, 5), 2.0 / 5.0);
  const double dcg = 1.0 + 0.5, idcg = 1.0 + L3 + 0.5 + L5;  // IDCG over min(5, 4) = 4 ranks
  EXPECT_NEAR(ndcg_at(h, 5, 4), dcg / idcg, 1e-15);
  EXPECT_NEAR(map_at(h, 5, 4), (1.0 + 2.0 / 3.0) / 4.0, 1e-15);  // divided by min(K, |T_u|) = 4
}

TEST(Metrics, RecallDividesByAllTargetsWhenMoreThanK) {
  // |T_u| = 10 > K = 5: recall denominator stays 10; NDCG / MAP use min(K, |T_u|) = 5.
  const std::vector<uint8_t> h{0, 1, 0, 0, 0};
  EXPECT_DOUBLE_EQ(recall_at(h, 5, 10), 0.1);
  EXPECT_DOUBLE_EQ(precision_at(h, 5), 0.2);
  EXPECT_NEAR(ndcg_at(h, 5, 10), L3 / (1.0 + L3 + 0.5 + L5 + L6), 1e-15);
  EXPECT_NEAR(map_at(h, 5, 10), 0.5 / 5.0, 1e-15);
}

TEST(Metrics, SingleTargetBelowK) {
  std::vector<uint8_t> h(10, 0);
  h[2] = 1;  // rank 3
  EXPECT_DOUBLE_EQ(recall_at(h, 10, 1), 1.0);
  EXPECT_DOUBLE_EQ(precision_at(h, 10), 0.1);
  EXPECT_NEAR(ndcg_at(h, 10, 1), 0.5, 1e-15);  // 1/log2(4) over IDCG 1
  EXPECT_NEAR(map_at(h, 10, 1), 1.0 / 3.0, 1e-15);
  // At K = 2 the hit is out of the list.
  EXPECT_DOUBLE_EQ(recall_at(h, 2, 1), 0.0);
  EXPECT_DOUBLE_EQ(ndcg_at(h, 2, 1), 0.0);
  EXPECT_DOUBLE_EQ(map_at(h, 2, 1), 0.0);
}

TEST(Metrics, PerfectListScoresOne) {
  const std::vector<uint8_t> h{1, 1, 1, 0, 0};
  EXPECT_NEAR(ndcg_at(h, 5, 3), 1.0, 1e-15);
  EXPECT_NEAR(map_at(h, 5, 3), 1.0, 1e-15);
  EXPECT_DOUBLE_EQ(recall_at(h, 5, 3), 1.0);
}

TEST(Metrics, AccumulatorAveragesUsersUniformly) {
  const std::vector<uint8_t> a{1, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<uint8_t> b{0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  MetricAccumulator acc({5, 10});
  acc.add_user(a, 4);
  acc.add_user(b, 12);
  EXPECT_EQ(acc.users(), 2);
  const Metrics m = acc.result();
  ASSERT_EQ(m.size(), 8u);
  for (int k : {5, 10}) {
    const std::string s = "@" + std::to_string(k);
    EXPECT_NEAR(m.at("Recall" + s), (recall_at(a, k, 4) + recall_at(b, k, 12)) / 2, 1e-15);
    EXPECT_NEAR(m.at("Precision" + s), (precision_at(a, k) + precision_at(b, k)) / 2, 1e-15);
    EXPECT_NEAR(m.at("NDCG" + s), (ndcg_at(a, k, 4) + ndcg_at(b, k, 12)) / 2, 1e-15);
    EXPECT_NEAR(m.at("MAP" + s), (map_at(a, k, 4) + map_at(b, k, 12)) / 2, 1e-15);
  }
  EXPECT_NEAR(m.at("Recall@10"), (0.5 + 2.0 / 12.0) / 2, 1e-15);
  // Merging two halves gives the same averages.
  MetricAccumulator x({5, 10}), y({5, 10});
  x.add_user(a, 4);
  y.add_user(b, 12);
  x.merge(y);
  EXPECT_EQ(x.result(), m);
}

TEST(Metrics, HitListShorterThanKCountsAsMisses) {
  // A catalogue of 3 items: hit list of length 3 evaluated at K = 5.
  MetricAccumulator acc({5});
  const std::vector<uint8_t> h{0, 1, 0};
  acc.add_user(h, 2);
  EXPECT_DOUBLE_EQ(acc.result().at("Recall@5"), 0.5);
  EXPECT_DOUBLE_EQ(acc.result().at("Precision@5"), 0.2);
}

TEST(Metrics, NamesFormattingAndRounding) {
  const auto names = metric_names();
  ASSERT_EQ(names.size(), 16u);
  EXPECT_EQ(names.front(), "Recall@5");
  EXPECT_EQ(names[6], "NDCG@20");
  EXPECT_EQ(names.back(), "MAP@50");
  Metrics m{{"Recall@5", 0.123456}, {"NDCG@5", 0.5}};
  EXPECT_EQ(format_mmrec(m, {5}), "recall@5: 0.1235    ndcg@5: 0.5000");
  EXPECT_NE(format_markdown(m, {5}).find("| Recall | 0.1235 |"), std::string::npos);
  EXPECT_DOUBLE_EQ(round4(0.12345), 0.1235);  // the double just above 0.12345 rounds up, as in Python
  EXPECT_DOUBLE_EQ(round4(0.123449), 0.1234);
  EXPECT_THROW(metric(m, "Recall@20"), lethe::Error);
  EXPECT_THROW(recall_at({1}, 1, 0), lethe::Error);
}
