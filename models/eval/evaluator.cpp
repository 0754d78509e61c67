// Full-ranking evaluation: blocked GEMM scores, CSR masking, top-k on the device, hits on the host.
#include "models/eval/evaluator.h"

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/ops.h"

namespace lethe::eval {

std::vector<int32_t> users_in_order(const datasets::Interactions& x) {
  std::vector<int32_t> out;
  std::unordered_set<int32_t> seen;
  seen.reserve(x.size());
  for (int32_t u : x.users)
    if (seen.insert(u).second) out.push_back(u);
  return out;
}

Evaluator::Evaluator(const datasets::UserItems& mask, int32_t n_items,
                     const std::vector<uint8_t>& item_dropped, Device dev, EvalOptions opt)
    : n_users_(mask.n_users), n_items_(n_items), dev_(dev), opt_(std::move(opt)) {
  LETHE_CHECK(opt_.batch_size > 0, "evaluator: eval_batch_size must be positive, got " << opt_.batch_size);
  LETHE_CHECK(!opt_.topks.empty(), "evaluator: empty topk list");
  LETHE_CHECK(
      static_cast<int64_t>(mask.indptr.size()) == int64_t(mask.n_users) + 1,
      "evaluator: mask CSR has " << mask.indptr.size() << " row pointers for " << mask.n_users << " users");
  for (int32_t i : mask.items)
    LETHE_CHECK(i >= 0 && i < n_items,
                "evaluator: masked item id " << i << " outside [0, " << n_items << ")");
  mask_indptr_ = Tensor::from_vector(mask.indptr, {static_cast<int64_t>(mask.indptr.size())}, dev);
  // An empty pattern still needs a one-element column buffer so that device pointers are valid.
  std::vector<int32_t> cols = mask.items.empty() ? std::vector<int32_t>{0} : mask.items;
  mask_cols_ = Tensor::from_vector(cols, {static_cast<int64_t>(cols.size())}, dev);
  if (!item_dropped.empty()) {
    LETHE_CHECK(
        static_cast<int64_t>(item_dropped.size()) == n_items,
        "evaluator: item_dropped has " << item_dropped.size() << " flags for " << n_items << " items");
    std::vector<int32_t> dropped;
    for (int32_t i = 0; i < n_items; ++i)
      if (item_dropped[i]) dropped.push_back(i);
    if (!dropped.empty()) {
      drop_indptr_ =
          Tensor::from_vector(std::vector<int32_t>{0, static_cast<int32_t>(dropped.size())}, {2}, dev);
      drop_cols_ = Tensor::from_vector(dropped, {static_cast<int64_t>(dropped.size())}, dev);
    }
  }
}

template <class Fn>
void Evaluator::for_each_block(const Tensor& user_emb, const Tensor& item_emb,
                               const std::vector<int32_t>& users, int64_t k, std::vector<float>* scores_out,
                               Fn&& fn) const {
  LETHE_CHECK(user_emb.ndim() == 2 && item_emb.ndim() == 2 && user_emb.dim(1) == item_emb.dim(1),
              "evaluator: embeddings must be [users, d] and [items, d], got "
                  << user_emb.describe() << " and " << item_emb.describe());
  LETHE_CHECK(item_emb.dim(0) == n_items_, "evaluator: item embeddings have "
                                               << item_emb.dim(0) << " rows, data has " << n_items_
                                               << " items");
  LETHE_CHECK(user_emb.device() == dev_ && item_emb.device() == dev_,
              "evaluator: embeddings on " << user_emb.device().str() << "/" << item_emb.device().str()
                                          << ", evaluator built for " << dev_.str());
  LETHE_CHECK(k >= 1 && k <= n_items_, "evaluator: top-k of " << k << " over " << n_items_ << " items");
  for (int32_t u : users)
    LETHE_CHECK(
        u >= 0 && u < n_users_ && u < user_emb.dim(0),
        "evaluator: user id " << u << " outside [0, " << std::min<int64_t>(n_users_, user_emb.dim(0)) << ")");
  if (users.empty()) return;
  const int64_t n = static_cast<int64_t>(users.size());
  const int64_t cap = std::max<int64_t>(1, opt_.max_block_elems / std::max<int64_t>(1, n_items_));
  const int64_t block = std::min(opt_.batch_size, cap);
  // Users and the all-zero pattern-row list (for the one-row dropped-item pattern) go up once.
  const Tensor users_t = Tensor::from_vector(users, {n}, dev_);
  Tensor zero_rows;
  if (drop_indptr_.defined()) zero_rows = Tensor::zeros({std::min(block, n)}, DType::I32, dev_);
  Tensor vals, idx;
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    const int64_t b1 = std::min(n, b0 + block);
    const Tensor ids = users_t.row_range(b0, b1);
    Tensor scores = ops::matmul(ops::gather_rows(user_emb, ids), item_emb, false, true);  // [b, I]
    ops::masked_fill_csr_rows(scores, mask_indptr_, mask_cols_, ids, kMaskedScore);
    if (drop_indptr_.defined())
      ops::masked_fill_csr_rows(scores, drop_indptr_, drop_cols_, zero_rows.row_range(0, b1 - b0),
                                kMaskedScore);
    ops::topk_rows(scores, k, vals, idx);
    const std::vector<int32_t> top = idx.to_vector<int32_t>();  // the only read-back per block
    if (scores_out) {
      const Tensor v = vals.dtype() == DType::F32 ? vals : vals.astype(DType::F32);
      const std::vector<float> s = v.to_vector<float>();
      scores_out->insert(scores_out->end(), s.begin(), s.end());
    }
    fn(b0, b1 - b0, top);
  }
}

EvalResult Evaluator::evaluate(const Tensor& user_emb, const Tensor& item_emb,
                               const datasets::Interactions& targets) const {
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t r = 0; r < targets.size(); ++r)
    LETHE_CHECK(targets.users[r] >= 0 && targets.users[r] < n_users_,
                "evaluator: target user id " << targets.users[r] << " outside [0, " << n_users_ << ")");
  const datasets::UserItems t = datasets::UserItems::build(targets, n_users_);
  EvalResult r = evaluate(user_emb, item_emb, t, users_in_order(targets));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

EvalResult Evaluator::evaluate(const Tensor& user_emb, const Tensor& item_emb,
                               const datasets::UserItems& targets, const std::vector<int32_t>& users) const {
  const auto t0 = std::chrono::steady_clock::now();
  LETHE_CHECK(targets.n_users <= n_users_ || targets.n_users == 0,
              "evaluator: targets cover " << targets.n_users << " users, mask covers " << n_users_);
  EvalResult res;
  std::vector<int32_t> eval_users;
  eval_users.reserve(users.size());
  for (int32_t u : users) {
    if (u >= 0 && u < targets.n_users && targets.degree(u) > 0)
      eval_users.push_back(u);
    else
      ++res.skipped;
  }
  const int max_k = *std::max_element(opt_.topks.begin(), opt_.topks.end());
  const int64_t k = std::min<int64_t>(max_k, n_items_);
  MetricAccumulator acc(opt_.topks);
  std::vector<uint8_t> hits(static_cast<size_t>(k));
  if (opt_.comm && opt_.comm->size() > 1) {
    // This rank's block of users; each user's row is its k hits and its number of targets.
    const auto [b0, b1] =
        comm::share(static_cast<int64_t>(eval_users.size()), opt_.comm->rank(), opt_.comm->size());
    const std::vector<int32_t> mine(eval_users.begin() + b0, eval_users.begin() + b1);
    Tensor rows = Tensor::zeros({b1 - b0, k + 1}, DType::I32, Device::cpu());
    int32_t* out = rows.data<int32_t>();
    for_each_block(user_emb, item_emb, mine, k, nullptr,
                   [&](int64_t row0, int64_t n, const std::vector<int32_t>& top) {
                     for (int64_t r = 0; r < n; ++r) {
                       const int32_t u = mine[row0 + r];
                       int32_t* row = out + (row0 + r) * (k + 1);
                       for (int64_t j = 0; j < k; ++j) row[j] = targets.contains(u, top[r * k + j]) ? 1 : 0;
                       row[k] = static_cast<int32_t>(targets.degree(u));
                     }
                   });
    const Tensor all = opt_.comm->allgather_rows(rows);
    const int32_t* a = all.data<int32_t>();
    for (int64_t r = 0; r < all.rows(); ++r) {
      for (int64_t j = 0; j < k; ++j) hits[j] = static_cast<uint8_t>(a[r * (k + 1) + j]);
      acc.add_user(hits.data(), static_cast<int>(k), a[r * (k + 1) + k]);
    }
  } else {
    for_each_block(user_emb, item_emb, eval_users, k, nullptr,
                   [&](int64_t row0, int64_t n, const std::vector<int32_t>& top) {
                     for (int64_t r = 0; r < n; ++r) {
                       const int32_t u = eval_users[row0 + r];
                       for (int64_t j = 0; j < k; ++j) hits[j] = targets.contains(u, top[r * k + j]) ? 1 : 0;
                       acc.add_user(hits.data(), static_cast<int>(k), targets.degree(u));
                     }
                   });
  }
  res.metrics = acc.result();
  res.users = acc.users();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

void Evaluator::top_k(const Tensor& user_emb, const Tensor& item_emb, const std::vector<int32_t>& users,
                      int64_t k, std::vector<int32_t>& items, std::vector<float>* scores) const {
  items.clear();
  if (scores) scores->clear();
  items.reserve(users.size() * static_cast<size_t>(k));
  for_each_block(user_emb, item_emb, users, k, scores,
                 [&](int64_t, int64_t, const std::vector<int32_t>& top) {
                   items.insert(items.end(), top.begin(), top.end());
                 });
}

}  // namespace lethe::eval
