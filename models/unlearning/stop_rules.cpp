// The until-forgotten measurement and the landing (stop_rules.h).
#include "models/unlearning/stop_rules.h"

#include <algorithm>
#include <cmath>

#include "datasets/sampler.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "engine/rng.h"
#include "models/eval/score_rows.h"
#include "models/layers.h"

namespace lethe::unlearning {

Reference parse_reference(const std::string& s) {
  if (s == "retained") return Reference::Retained;
  if (s == "heldout") return Reference::HeldOut;
  if (s == "two-sided") return Reference::TwoSided;
  LETHE_CHECK(false, "unknown until-forgotten reference '" << s << "' (retained, two-sided, heldout)");
  return Reference::Retained;
}

const char* reference_name(Reference r) {
  return r == Reference::HeldOut ? "heldout" : r == Reference::TwoSided ? "two-sided" : "retained";
}

ForgetChecker::ForgetChecker(const RequestView& view, const datasets::Interactions& forget, Device dev,
                             Reference rule)
    : rule_(rule) {
  if (forget.empty()) return;
  users_ = datasets::unique_users(forget);
  const datasets::UserItems mask = datasets::UserItems::build(view.retain.train, view.retain.n_users);
  std::vector<uint8_t> in_users(static_cast<size_t>(view.original.n_users), 0);
  for (int32_t u : users_) {
    in_users[static_cast<size_t>(u)] = 1;
    (mask.degree(u) > 0 ? with_data_ : without_data_).push_back(u);
  }
  datasets::Interactions test;
  for (size_t k = 0; k < view.original.test.size(); ++k)
    if (in_users[static_cast<size_t>(view.original.test.users[k])])
      test.push(view.original.test.users[k], view.original.test.items[k]);
  has_test_ = !test.empty();
  targets_ = datasets::UserItems::build(forget, view.retain.n_users);
  retained_ = mask;
  // Forgotten items with no retained training row (item requests: all of them).
  std::vector<uint8_t> has_data(static_cast<size_t>(view.retain.n_items), 0);
  for (int32_t i : view.retain.train.items) has_data[static_cast<size_t>(i)] = 1;
  for (int32_t i : datasets::unique_items(forget))
    if (!has_data[static_cast<size_t>(i)]) items_without_data_.push_back(i);
  test_items_ = datasets::UserItems::build(test, view.retain.n_users);
  // Items of forget pairs whose user keeps data and that keep data themselves (interaction requests), with
  // every item's retained users: the two-sided level replaces these items' vectors (header).
  kept_pairs_ = pairs_keeping_data(view, forget);
  kept_items_ = datasets::unique_items(kept_pairs_);
  if (!kept_items_.empty()) {
    datasets::Interactions by_item;
    for (size_t k = 0; k < view.retain.train.size(); ++k)
      by_item.push(view.retain.train.items[k], view.retain.train.users[k]);
    item_users_ = datasets::UserItems::build(by_item, view.retain.n_items);
  }
  if (rule_ != Reference::HeldOut && !items_without_data_.empty()) {
    // Pairs of an item without data and a user who keeps data (a user left without data is measured
    // against the random-direction level; an item only some of whose buyers a user request named is not
    // an item request's item).
    size_t gone_pairs = 0;
    for (size_t k = 0; k < forget.size(); ++k) {
      if (has_data[static_cast<size_t>(forget.items[k])]) continue;
      ++gone_pairs;
      if (mask.degree(forget.users[k]) > 0) item_pairs_.push(forget.users[k], forget.items[k]);
    }
    rank_decides_ = gone_pairs == forget.size();
  }
  // Dropped items are not masked here: the audit asks whether the scores still single them out.
  // Only Recall@20 is read: rank the top 20, not MMRec's top 50.
  eval::EvalOptions eo;
  eo.topks = {20};
  ev_ = std::make_unique<eval::Evaluator>(mask, view.retain.n_items, std::vector<uint8_t>{}, dev, eo);
}

namespace {

double mean_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// The mean rank percentile of `pairs` when the ID rows of `items` hold fresh draws of the model's
// initialisation (the same draws at every check) and every other parameter its current value; the item
// table is restored before returning.
double fresh_row_rank(models::Model& model, const std::vector<int32_t>& items,
                      const datasets::Interactions& pairs) {
  autograd::Var table = models::parameter(model, model.item_table());
  const Tensor saved = table.value().clone();
  Rng rng(0x17e5);
  models::set_rows(table.mutable_value(), items,
                   models::fresh_id_rows(model, model.item_table(), static_cast<int64_t>(items.size()), rng));
  double rank = 0.0;
  {
    autograd::NoGrad ng;
    const models::Forward f = model.forward(false);
    rank = mean_of(eval::pair_rank_percentiles(f.users.value(), f.items.value(), pairs));
  }
  table.mutable_value().copy_from(saved);
  return rank;
}

}  // namespace

ForgetCheck ForgetChecker::check(models::Model& model, bool diagnostics) const {
  ForgetCheck c;
  if (!ev_) return c;
  Tensor ue, ie;
  {
    LETHE_PROFILE_SCOPE("check:forward");
    autograd::NoGrad ng;
    models::Forward f = model.forward(false);
    ue = f.users.value();
    ie = f.items.value();
  }
  eval::EvalResult fr;
  {
    LETHE_PROFILE_SCOPE("check:forget_eval");
    fr = ev_->evaluate(ue, ie, targets_, users_);
  }
  c.forget_recall = eval::metric(fr.metrics, "Recall@20");
  c.forget_users = fr.users;
  if (!item_pairs_.empty() && (rank_decides_ || diagnostics)) {  // items without data: rank vs fresh rows
    LETHE_PROFILE_SCOPE("check:item_rank");
    c.item_rank = mean_of(eval::pair_rank_percentiles(ue, ie, item_pairs_));
    c.item_rank_reference = fixed_item_reference_ >= 0
                                ? fixed_item_reference_
                                : fresh_row_rank(model, items_without_data_, item_pairs_);
    c.recall_decides = !rank_decides_;
  }
  if (has_test_ && diagnostics) {
    const eval::EvalResult tr = ev_->evaluate(ue, ie, test_items_, users_);
    c.test_recall = eval::metric(tr.metrics, "Recall@20");
    c.test_users = tr.users;
  }
  c.users_without_data = static_cast<int64_t>(without_data_.size());
  double with_sum = 0.0, without_sum = 0.0;
  int64_t with_n = 0;
  const bool need_heldout = diagnostics || rule_ == Reference::HeldOut;
  // The two-sided level falls back to the user-side one where no forgotten item keeps data (header).
  const bool two_sided_applies = rule_ == Reference::TwoSided && !kept_items_.empty();
  const bool need_two_sided = !kept_items_.empty() && (diagnostics || two_sided_applies);
  const bool need_retained = diagnostics || (rule_ != Reference::HeldOut && !two_sided_applies);
  const bool pair_rank_applies = pair_rank_ && rule_ != Reference::HeldOut && !kept_pairs_.empty();
  const bool need_pair_rank = !kept_pairs_.empty() && (diagnostics || pair_rank_applies);
  Tensor um;  // each user's vector: the mean of its retained items' final embeddings (users with data)
  if (!with_data_.empty()) {
    int64_t heldout_n = 0;
    if (need_heldout) {  // the reference under Reference::HeldOut
      const eval::EvalResult wr = ev_->evaluate(ue, ie, test_items_, with_data_);
      heldout_n = wr.users;
      if (heldout_n > 0) c.ref_heldout = eval::metric(wr.metrics, "Recall@20");
    }
    // Retained-items level: each user's vector is the mean of the final embeddings of the user's retained
    // items (every such user has at least one, and forget targets, so all of them are evaluated).
    int64_t retained_n = 0, two_sided_n = 0;
    if (need_retained || need_two_sided || need_pair_rank) {
      LETHE_PROFILE_SCOPE("check:retained");
      std::vector<float> iv = ie.to(Device::cpu()).astype(DType::F32).to_vector<float>();
      const int64_t d = ie.cols();
      um = retained_item_means(iv, d, retained_, with_data_, ue.rows(), ie.device(), ie.dtype());
      if (need_retained) {
        const eval::EvalResult rr = ev_->evaluate(um, ie, targets_, with_data_);
        c.ref_retained = eval::metric(rr.metrics, "Recall@20");
        retained_n = rr.users;
      }
      // Two-sided level: also each forgotten pair's item vector is what the item's retained users say, the
      // direction of the mean of their final embeddings at the item's own norm.
      if (need_two_sided) {
        const std::vector<float> uvec = ue.to(Device::cpu()).astype(DType::F32).to_vector<float>();
        std::vector<double> m(static_cast<size_t>(d));
        for (int32_t i : kept_items_) {
          std::fill(m.begin(), m.end(), 0.0);
          for (int32_t p = item_users_.indptr[i]; p < item_users_.indptr[i + 1]; ++p)
            for (int64_t j = 0; j < d; ++j) m[j] += uvec[item_users_.items[p] * d + j];
          double mn = 0.0, own = 0.0;
          for (int64_t j = 0; j < d; ++j) {
            mn += m[j] * m[j];
            own += static_cast<double>(iv[i * d + j]) * iv[i * d + j];
          }
          const double scale = mn > 0.0 ? std::sqrt(own / mn) : 0.0;
          for (int64_t j = 0; j < d; ++j) iv[i * d + j] = static_cast<float>(m[j] * scale);
        }
        const Tensor im = Tensor::from_vector(iv, {ie.rows(), d}, ie.device()).astype(ie.dtype());
        const eval::EvalResult tr = ev_->evaluate(um, im, targets_, with_data_);
        c.ref_two_sided = eval::metric(tr.metrics, "Recall@20");
        two_sided_n = tr.users;
      }
    }
    if (rule_ == Reference::HeldOut) {
      with_n = heldout_n;
      with_sum = heldout_n > 0 ? c.ref_heldout * static_cast<double>(heldout_n) : 0.0;
    } else if (two_sided_applies) {
      with_n = two_sided_n;
      with_sum = c.ref_two_sided * static_cast<double>(with_n);
    } else {
      with_n = retained_n;
      with_sum = c.ref_retained * static_cast<double>(with_n);
    }
  }
  // Users left without data: the expected recall of their forget targets when the user vector carries no
  // information, i.e. is a random direction (gold's untrained initial row), ranked against this model's item
  // embeddings. Recall is linear in the hits, so the mean over directions is the sum over targets of
  // (directions with the item in their top 20) / (directions * |targets|). 1024 fixed directions: with 64 the
  // estimate moved by ~5% between runs at Baby scale.
  if (!without_data_.empty()) {
    LETHE_PROFILE_SCOPE("check:random_directions");
    constexpr int64_t kDirs = 1024, kTop = 20;
    const int64_t n_items = ie.rows(), d = ie.cols();
    std::vector<float> dirs(static_cast<size_t>(kDirs * d));
    Rng rng(0x5eed);
    for (auto& x : dirs) x = static_cast<float>(rng.normal());
    // Scores and top 20 on the model's device; only the [kDirs, 20] indices come back.
    const Tensor sc =
        ops::matmul(Tensor::from_vector(dirs, {kDirs, d}, ie.device()).astype(ie.dtype()), ie, false, true);
    Tensor top_vals, top_idx;
    ops::topk_rows(sc, std::min(kTop, n_items), top_vals, top_idx);
    std::vector<int64_t> in_top(static_cast<size_t>(n_items),
                                0);  // directions ranking the item in their top 20
    for (int32_t i : top_idx.to_vector<int32_t>()) ++in_top[static_cast<size_t>(i)];
    for (int32_t u : without_data_) {
      int64_t hits = 0;
      for (int32_t p = targets_.indptr[u]; p < targets_.indptr[u + 1]; ++p)
        hits += in_top[static_cast<size_t>(targets_.items[p])];
      without_sum += static_cast<double>(hits) / static_cast<double>(kDirs * std::max(1, targets_.degree(u)));
    }
    c.ref_no_data = without_sum / static_cast<double>(without_data_.size());
  }
  const double n = static_cast<double>(with_n + c.users_without_data);
  c.reference = n > 0 ? (with_sum + without_sum) / n : std::max(c.test_recall, 0.0);
  // The pairs' rank against the same users' rank when their vector is what their retained items say. It
  // decides only once the recall is at its level (forgotten() needs both), so a quiet check measures it only
  // then: the epochs before cost no more than without it.
  c.pair_rank_applies = pair_rank_applies;
  if (pair_rank_applies && recall_floor_ && n > 0) {
    const double ref = std::clamp(c.reference, 0.0, 1.0);
    c.recall_floor = std::max(0.0, ref - 2.0 * std::sqrt(ref * (1.0 - ref) / n));
  }
  if (need_pair_rank && um.defined() && (diagnostics || c.forget_recall <= c.reference)) {
    LETHE_PROFILE_SCOPE("check:pair_rank");
    c.pair_rank = mean_of(eval::pair_rank_percentiles(ue, ie, kept_pairs_));
    c.pair_rank_reference = mean_of(eval::pair_rank_percentiles(um, ie, kept_pairs_));
  }
  return c;
}

void ForgetChecker::fix_item_rank_reference(models::Model& model) {
  if (!item_pairs_.empty()) fixed_item_reference_ = fresh_row_rank(model, items_without_data_, item_pairs_);
}

datasets::Interactions pairs_keeping_data(const RequestView& view, const datasets::Interactions& forget) {
  std::vector<uint8_t> user_has(static_cast<size_t>(view.retain.n_users), 0),
      item_has(static_cast<size_t>(view.retain.n_items), 0);
  for (size_t k = 0; k < view.retain.train.size(); ++k) {
    user_has[static_cast<size_t>(view.retain.train.users[k])] = 1;
    item_has[static_cast<size_t>(view.retain.train.items[k])] = 1;
  }
  datasets::Interactions out;
  for (size_t k = 0; k < forget.size(); ++k)
    if (user_has[static_cast<size_t>(forget.users[k])] && item_has[static_cast<size_t>(forget.items[k])])
      out.push(forget.users[k], forget.items[k]);
  return out;
}

Tensor retained_item_means(const std::vector<float>& item_values, int64_t d,
                           const datasets::UserItems& retained, const std::vector<int32_t>& users,
                           int64_t n_users, Device device, DType dtype) {
  std::vector<float> uv(static_cast<size_t>(n_users * d), 0.0f);
  for (int32_t u : users) {
    const float w = 1.0f / static_cast<float>(retained.degree(u));
    for (int32_t p = retained.indptr[u]; p < retained.indptr[u + 1]; ++p)
      for (int64_t j = 0; j < d; ++j) uv[u * d + j] += w * item_values[retained.items[p] * d + j];
  }
  return Tensor::from_vector(uv, {n_users, d}, device).astype(dtype);
}

ForgetCheck forget_check(models::Model& model, const RequestView& view, const datasets::Interactions& forget,
                         Reference rule) {
  return ForgetChecker(view, forget, model.device(), rule).check(model);
}

double land_on_reference(std::vector<autograd::Var> params, const std::vector<Tensor>& theta0,
                         const std::function<ForgetCheck()>& check, ForgetCheck& at) {
  std::vector<Tensor> delta;
  for (size_t k = 0; k < params.size(); ++k) delta.push_back(ops::sub(params[k].value(), theta0[k]));
  auto set_to = [&](double t) {
    for (size_t k = 0; k < params.size(); ++k) {
      Tensor& v = params[k].mutable_value();
      v.copy_from(theta0[k]);
      ops::axpy(t, delta[k], v);
    }
  };
  double lo = 0.0, hi = 1.0;
  for (int it = 0; it < 6; ++it) {
    const double mid = 0.5 * (lo + hi);
    set_to(mid);
    const ForgetCheck c = check();
    if (c.forgotten()) {
      hi = mid;
      at = c;
    } else {
      lo = mid;
    }
  }
  set_to(hi);
  return hi;
}

}  // namespace lethe::unlearning
