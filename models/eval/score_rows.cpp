// Full score rows of chosen users (score_rows.h).
#include "models/eval/score_rows.h"

#include <algorithm>
#include <map>

#include "engine/ops.h"

namespace lethe::eval {

void for_each_score_row(const Tensor& user_emb, const Tensor& item_emb, const std::vector<int32_t>& users,
                        const std::function<void(size_t, const float*)>& fn) {
  const int64_t n_items = item_emb.rows();
  const int64_t block = std::max<int64_t>(1, (int64_t(1) << 24) / std::max<int64_t>(n_items, 1));
  for (size_t b0 = 0; b0 < users.size(); b0 += static_cast<size_t>(block)) {
    const size_t b1 = std::min(users.size(), b0 + static_cast<size_t>(block));
    const std::vector<int32_t> bu(users.begin() + static_cast<std::ptrdiff_t>(b0),
                                  users.begin() + static_cast<std::ptrdiff_t>(b1));
    const Tensor rows = ops::gather_rows(
        user_emb, Tensor::from_vector(bu, Shape{static_cast<int64_t>(bu.size())}, user_emb.device()));
    Tensor s = ops::matmul(rows, item_emb, false, true);
    if (s.dtype() != DType::F32) s = s.astype(DType::F32);
    if (!s.device().is_cpu()) s = s.to(Device::cpu());  // one copy back; on the CPU none
    const float* p = s.data<float>();
    for (size_t r = 0; r < bu.size(); ++r) fn(b0 + r, p + r * static_cast<size_t>(n_items));
  }
}

double rank_percentile(const float* row, int64_t n_items, float v) {
  int64_t lower = 0;
  for (int64_t i = 0; i < n_items; ++i) lower += row[i] < v;
  return static_cast<double>(lower) / static_cast<double>(std::max<int64_t>(1, n_items - 1));
}

std::vector<double> pair_rank_percentiles(const Tensor& user_emb, const Tensor& item_emb,
                                          const datasets::Interactions& pairs) {
  std::vector<double> out(pairs.size(), 0.0);
  std::map<int32_t, std::vector<size_t>> by_user;
  for (size_t k = 0; k < pairs.size(); ++k) by_user[pairs.users[k]].push_back(k);
  std::vector<int32_t> users;
  for (const auto& [u, ks] : by_user) users.push_back(u);
  const int64_t n_items = item_emb.rows();
  for_each_score_row(user_emb, item_emb, users, [&](size_t r, const float* row) {
    for (size_t k : by_user[users[r]]) out[k] = rank_percentile(row, n_items, row[pairs.items[k]]);
  });
  return out;
}

}  // namespace lethe::eval
