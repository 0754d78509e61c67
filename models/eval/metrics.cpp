// MMRec top-K metrics from hit lists (see metrics.h for the formulas).
#include "models/eval/metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "engine/device.h"
#include "engine/error.h"

namespace lethe::eval {

const std::vector<int>& default_topks() {
  static const std::vector<int> k{5, 10, 20, 50};
  return k;
}

const std::vector<std::string>& metric_kinds() {
  static const std::vector<std::string> k{"Recall", "NDCG", "Precision", "MAP"};
  return k;
}

std::vector<std::string> metric_names(const std::vector<int>& topks) {
  std::vector<std::string> out;
  for (const auto& kind : metric_kinds())
    for (int k : topks) out.push_back(kind + "@" + std::to_string(k));
  return out;
}

namespace {
inline bool hit(const uint8_t* h, int len, int j) { return j < len && h[j] != 0; }
}  // namespace

double recall_at(const std::vector<uint8_t>& hits, int k, int64_t n_targets) {
  LETHE_CHECK(n_targets > 0, "recall_at: user has no target items");
  int64_t s = 0;
  for (int j = 0; j < k; ++j) s += hit(hits.data(), static_cast<int>(hits.size()), j);
  return static_cast<double>(s) / static_cast<double>(n_targets);
}

double precision_at(const std::vector<uint8_t>& hits, int k) {
  LETHE_CHECK(k > 0, "precision_at: k must be positive");
  int64_t s = 0;
  for (int j = 0; j < k; ++j) s += hit(hits.data(), static_cast<int>(hits.size()), j);
  return static_cast<double>(s) / k;
}

double ndcg_at(const std::vector<uint8_t>& hits, int k, int64_t n_targets) {
  LETHE_CHECK(n_targets > 0, "ndcg_at: user has no target items");
  double dcg = 0, idcg = 0;
  for (int j = 0; j < k; ++j) {
    const double disc = 1.0 / std::log2(static_cast<double>(j) + 2.0);  // rank r = j+1: 1/log2(r+1)
    if (hit(hits.data(), static_cast<int>(hits.size()), j)) dcg += disc;
    if (j < n_targets) idcg += disc;
  }
  return dcg / idcg;
}

double map_at(const std::vector<uint8_t>& hits, int k, int64_t n_targets) {
  LETHE_CHECK(n_targets > 0, "map_at: user has no target items");
  double s = 0;
  int64_t cum = 0;
  for (int j = 0; j < k; ++j) {
    if (hit(hits.data(), static_cast<int>(hits.size()), j)) {
      ++cum;
      s += static_cast<double>(cum) / (j + 1);  // hit_j * Precision@j
    }
  }
  return s / static_cast<double>(std::min<int64_t>(k, n_targets));
}

MetricAccumulator::MetricAccumulator(std::vector<int> topks) : topks_(std::move(topks)) {
  LETHE_CHECK(!topks_.empty(), "metrics: empty topk list");
  for (int k : topks_) {
    LETHE_CHECK(k > 0, "metrics: topk values must be positive, got " << k);
    max_k_ = std::max(max_k_, k);
  }
  sums_.assign(4, std::vector<double>(topks_.size(), 0.0));
}

void MetricAccumulator::add_user(const uint8_t* h, int len, int64_t n) {
  LETHE_CHECK(n > 0, "metrics: a user with no target items cannot be evaluated");
  // One pass over ranks 1..max_k; the running sums are read off at every K.
  double dcg = 0, idcg = 0, ap = 0;
  int64_t cum = 0;
  size_t t = 0;
  std::vector<std::pair<int, size_t>> order;  // (K, index into topks_) sorted by K
  for (size_t i = 0; i < topks_.size(); ++i) order.emplace_back(topks_[i], i);
  std::sort(order.begin(), order.end());
  for (int j = 0; j < max_k_ && t < order.size(); ++j) {
    const double disc = 1.0 / std::log2(static_cast<double>(j) + 2.0);
    if (hit(h, len, j)) {
      ++cum;
      dcg += disc;
      ap += static_cast<double>(cum) / (j + 1);
    }
    if (j < n) idcg += disc;
    while (t < order.size() && order[t].first == j + 1) {
      const int k = order[t].first;
      const size_t i = order[t].second;
      sums_[0][i] += static_cast<double>(cum) / static_cast<double>(n);
      sums_[1][i] += dcg / idcg;
      sums_[2][i] += static_cast<double>(cum) / k;
      sums_[3][i] += ap / static_cast<double>(std::min<int64_t>(k, n));
      ++t;
    }
  }
  ++users_;
}

void MetricAccumulator::merge(const MetricAccumulator& o) {
  LETHE_CHECK(o.topks_ == topks_, "metrics: cannot merge accumulators with different topk lists");
  for (size_t a = 0; a < sums_.size(); ++a)
    for (size_t i = 0; i < topks_.size(); ++i) sums_[a][i] += o.sums_[a][i];
  users_ += o.users_;
}

Metrics MetricAccumulator::result() const {
  Metrics m;
  const double inv = users_ > 0 ? 1.0 / static_cast<double>(users_) : 0.0;
  for (size_t a = 0; a < sums_.size(); ++a)
    for (size_t i = 0; i < topks_.size(); ++i)
      m[metric_kinds()[a] + "@" + std::to_string(topks_[i])] = sums_[a][i] * inv;
  return m;
}

double metric(const Metrics& m, const std::string& name) {
  auto it = m.find(name);
  LETHE_CHECK(it != m.end(), "metrics: no metric named '" << name
                                                          << "' (valid_metric must be one of "
                                                             "Recall/NDCG/Precision/MAP @ an evaluated K)");
  return it->second;
}

double round4(double x) {
  // printf rounds the exact binary value correctly (ties to even), as Python's round(x, 4) does.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", x);
  return std::strtod(buf, nullptr);
}

namespace {
std::string fmt4(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", x);
  return buf;
}
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

std::string format_mmrec(const Metrics& m, const std::vector<int>& topks) {
  std::ostringstream os;
  bool first = true;
  for (const auto& name : metric_names(topks)) {
    auto it = m.find(name);
    if (it == m.end()) continue;
    if (!first) os << "    ";
    first = false;
    os << lower(name) << ": " << fmt4(it->second);
  }
  return os.str();
}

std::string format_markdown(const Metrics& m, const std::vector<int>& topks) {
  std::ostringstream os;
  os << "| metric |";
  for (int k : topks) os << " @" << k << " |";
  os << "\n|---|";
  for (size_t i = 0; i < topks.size(); ++i) os << "---|";
  os << "\n";
  for (const auto& kind : metric_kinds()) {
    os << "| " << kind << " |";
    for (int k : topks) {
      auto it = m.find(kind + "@" + std::to_string(k));
      os << " " << (it == m.end() ? std::string("-") : fmt4(it->second)) << " |";
    }
    os << "\n";
  }
  return os.str();
}

}  // namespace lethe::eval
