// MMRec top-K metrics (docs/models.md, "Evaluation") computed from per-user hit lists.
//
// A user's hit list is the boolean vector hit[0..L) of the user's top-L recommendation list (L = the largest
// K, 50): hit[j] = 1 when the item at rank j+1 is one of the user's target items T_u. With n = |T_u|:
//   Recall@K    = sum_{j<=K} hit_j / n                       (denominator |T_u|, not min(K, |T_u|))
//   Precision@K = sum_{j<=K} hit_j / K
//   NDCG@K      = DCG@K / IDCG@K, DCG = sum hit_j / log2(j+1), IDCG over ranks 1..min(K, n)
//   MAP@K       = (1 / min(K, n)) sum_{j<=K} hit_j * Precision@j
// Values are averaged uniformly over users in double precision and are not rounded here; rounding to four
// decimals (MMRec's printed tables) happens only when formatting.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/error.h"

namespace lethe::eval {

// Metric name -> value, e.g. {"Recall@20": 0.0754, "NDCG@20": 0.0328, ...}.
using Metrics = std::map<std::string, double>;

// MMRec's defaults: metrics [Recall, NDCG, Precision, MAP] at topk [5, 10, 20, 50].
const std::vector<int>& default_topks();
const std::vector<std::string>& metric_kinds();  // {"Recall", "NDCG", "Precision", "MAP"}
// Names in MMRec's print order: Recall@5..@50, NDCG@5..@50, Precision@..., MAP@...
std::vector<std::string> metric_names(const std::vector<int>& topks = default_topks());

// Per-user values; `hits` may be shorter than k (positions past its end count as misses).
double recall_at(const std::vector<uint8_t>& hits, int k, int64_t n_targets);
double precision_at(const std::vector<uint8_t>& hits, int k);
double ndcg_at(const std::vector<uint8_t>& hits, int k, int64_t n_targets);
double map_at(const std::vector<uint8_t>& hits, int k, int64_t n_targets);

// Accumulates per-user metric sums; result() returns the averages over the users added.
class MetricAccumulator {
 public:
  explicit MetricAccumulator(std::vector<int> topks = default_topks());
  // hits[0..len): the user's hit vector; n_targets = |T_u| >= 1.
  void add_user(const uint8_t* hits, int len, int64_t n_targets);
  void add_user(const std::vector<uint8_t>& hits, int64_t n_targets) {
    add_user(hits.data(), static_cast<int>(hits.size()), n_targets);
  }
  void merge(const MetricAccumulator& other);  // same topks
  int64_t users() const { return users_; }
  Metrics result() const;  // all zeros when no user was added
  const std::vector<int>& topks() const { return topks_; }

 private:
  std::vector<int> topks_;
  int max_k_ = 0;
  int64_t users_ = 0;
  // sums_[kind][t]: kind 0..3 = Recall, NDCG, Precision, MAP; t indexes topks_.
  std::vector<std::vector<double>> sums_;
};

// Value of "Recall@20"-style keys; throws lethe::Error naming the key when absent.
double metric(const Metrics& m, const std::string& name);
// MMRec's one-line dump: "recall@5: 0.0123    recall@10: ..." (lower-case names, 4 decimals).
std::string format_mmrec(const Metrics& m, const std::vector<int>& topks = default_topks());
// A Markdown table: one row per metric kind, one column per K, values with 4 decimals.
std::string format_markdown(const Metrics& m, const std::vector<int>& topks = default_topks());
// Rounds to 4 decimals the way MMRec's evaluator does (Python round()).
double round4(double x);

}  // namespace lethe::eval
