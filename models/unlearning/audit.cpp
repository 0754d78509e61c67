// The unlearning audits (audit.h): utility, forget recall, membership inference, agreement with gold,
// fairness and sanity, computed from final embeddings on the CPU.
#include "models/unlearning/audit.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "autograd/var.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "models/eval/evaluator.h"

namespace lethe::unlearning {

namespace {

using json = nlohmann::json;

// Deterministic subsample of row indices [0, n) of at most `cap` (sorted, so the original order is kept).
std::vector<size_t> subsample(size_t n, int64_t cap, uint64_t seed) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  if (cap <= 0 || static_cast<int64_t>(n) <= cap) return idx;
  Rng rng(seed);
  for (size_t k = 0; k < static_cast<size_t>(cap); ++k) {  // partial Fisher-Yates
    const size_t j = k + rng.below(static_cast<uint32_t>(n - k));
    std::swap(idx[k], idx[j]);
  }
  idx.resize(static_cast<size_t>(cap));
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Membership features of (user, item) pairs under one model: the score, its rank percentile among all items
// (fraction of items scored strictly lower) and its z-score within the user's score row.
std::vector<std::vector<double>> pair_features(const AuditModel& m, const datasets::Interactions& pairs) {
  std::vector<std::vector<double>> out(pairs.size());
  if (pairs.empty()) return out;
  std::map<int32_t, std::vector<size_t>> by_user;
  for (size_t k = 0; k < pairs.size(); ++k) by_user[pairs.users[k]].push_back(k);
  std::vector<int32_t> users;
  for (auto& [u, v] : by_user) users.push_back(u);
  const int64_t n_items = m.items.rows();
  const int64_t block = std::max<int64_t>(1, (int64_t(1) << 24) / std::max<int64_t>(n_items, 1));
  for (size_t b0 = 0; b0 < users.size(); b0 += static_cast<size_t>(block)) {
    const size_t b1 = std::min(users.size(), b0 + static_cast<size_t>(block));
    std::vector<int32_t> bu(users.begin() + b0, users.begin() + b1);
    const Tensor rows = ops::gather_rows(m.users, Tensor::from_vector(bu));
    const std::vector<float> s = ops::matmul(rows, m.items, false, true).to_vector<float>();
    for (size_t r = 0; r < bu.size(); ++r) {
      const float* row = s.data() + r * static_cast<size_t>(n_items);
      double mean = 0, sq = 0;
      for (int64_t i = 0; i < n_items; ++i) mean += row[i];
      mean /= static_cast<double>(n_items);
      for (int64_t i = 0; i < n_items; ++i) sq += (row[i] - mean) * (row[i] - mean);
      const double sd = std::sqrt(sq / static_cast<double>(n_items)) + 1e-12;
      for (size_t k : by_user[bu[r]]) {
        const float v = row[pairs.items[k]];
        int64_t lower = 0;
        for (int64_t i = 0; i < n_items; ++i) lower += row[i] < v;
        out[k] = {static_cast<double>(v), static_cast<double>(lower) / std::max<int64_t>(1, n_items - 1), (v - mean) / sd};
      }
    }
  }
  return out;
}

// Pairs (u, i) of `x` restricted by a predicate.
template <class Pred>
datasets::Interactions filter_pairs(const datasets::Interactions& x, Pred keep) {
  datasets::Interactions out;
  for (size_t k = 0; k < x.size(); ++k)
    if (keep(x.users[k], x.items[k])) out.push(x.users[k], x.items[k]);
  return out;
}

datasets::Interactions take(const datasets::Interactions& x, const std::vector<size_t>& idx) {
  datasets::Interactions out;
  for (size_t k : idx) out.push(x.users[k], x.items[k]);
  return out;
}

datasets::Interactions concat(const datasets::Interactions& a, const datasets::Interactions& b) {
  datasets::Interactions out = a;
  for (size_t k = 0; k < b.size(); ++k) out.push(b.users[k], b.items[k]);
  return out;
}

// Scores s(u, i) of pairs under a model.
std::vector<double> pair_scores(const AuditModel& m, const datasets::Interactions& pairs) {
  std::vector<double> out(pairs.size());
  const std::vector<float> U = m.users.to_vector<float>(), I = m.items.to_vector<float>();
  const int64_t d = m.users.cols();
  for (size_t k = 0; k < pairs.size(); ++k) {
    double s = 0;
    const float* u = U.data() + static_cast<size_t>(pairs.users[k]) * d;
    const float* it = I.data() + static_cast<size_t>(pairs.items[k]) * d;
    for (int64_t c = 0; c < d; ++c) s += static_cast<double>(u[c]) * it[c];
    out[k] = s;
  }
  return out;
}

json metrics_json(const eval::Metrics& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

}  // namespace

// ---- small pieces ----------------------------------------------------------------------------------------

void Logistic::fit(const std::vector<std::vector<double>>& x, const std::vector<int>& y, int iterations) {
  LETHE_CHECK(!x.empty() && x.size() == y.size(), "logistic regression: " << x.size() << " rows, " << y.size() << " labels");
  const size_t n = x.size(), f = x[0].size();
  mean.assign(f, 0.0);
  scale.assign(f, 1.0);
  for (const auto& r : x)
    for (size_t c = 0; c < f; ++c) mean[c] += r[c] / static_cast<double>(n);
  for (size_t c = 0; c < f; ++c) {
    double sq = 0;
    for (const auto& r : x) sq += (r[c] - mean[c]) * (r[c] - mean[c]);
    scale[c] = std::sqrt(sq / static_cast<double>(n)) + 1e-12;
  }
  // Class weights balance members and non-members, so the decision threshold 0.5 targets balanced accuracy.
  double pos = 0;
  for (int v : y) pos += v;
  const double w_pos = pos > 0 ? 0.5 * n / pos : 0.0, w_neg = pos < n ? 0.5 * n / (n - pos) : 0.0;
  w.assign(f, 0.0);
  b = 0.0;
  const double lr = 0.5, l2 = 1e-4;
  std::vector<double> z(f);
  for (int it = 0; it < iterations; ++it) {
    std::vector<double> gw(f, 0.0);
    double gb = 0;
    for (size_t k = 0; k < n; ++k) {
      double t = b;
      for (size_t c = 0; c < f; ++c) {
        z[c] = (x[k][c] - mean[c]) / scale[c];
        t += w[c] * z[c];
      }
      const double p = 1.0 / (1.0 + std::exp(-t));
      const double g = (p - y[k]) * (y[k] ? w_pos : w_neg) / static_cast<double>(n);
      for (size_t c = 0; c < f; ++c) gw[c] += g * z[c];
      gb += g;
    }
    for (size_t c = 0; c < f; ++c) w[c] -= lr * (gw[c] + l2 * w[c]);
    b -= lr * gb;
  }
}

double Logistic::prob(const std::vector<double>& x) const {
  double t = b;
  for (size_t c = 0; c < w.size(); ++c) t += w[c] * (x[c] - mean[c]) / scale[c];
  return 1.0 / (1.0 + std::exp(-t));
}

double balanced_accuracy(const std::vector<int>& y, const std::vector<int>& pred) {
  double tp = 0, p = 0, tn = 0, n = 0;
  for (size_t k = 0; k < y.size(); ++k) {
    if (y[k]) {
      ++p;
      tp += pred[k] == 1;
    } else {
      ++n;
      tn += pred[k] == 0;
    }
  }
  LETHE_CHECK(p > 0 && n > 0, "balanced accuracy needs both classes (" << p << " positive, " << n << " negative rows)");
  return 0.5 * (tp / p + tn / n);
}

double kendall_tau_b(const std::vector<double>& a, const std::vector<double>& b) {
  LETHE_CHECK(a.size() == b.size(), "kendall tau: " << a.size() << " vs " << b.size() << " values");
  double conc = 0, disc = 0, ta = 0, tb = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = i + 1; j < a.size(); ++j) {
      const double da = a[i] - a[j], db = b[i] - b[j];
      if (da == 0 && db == 0) continue;
      if (da == 0) {
        ++ta;
      } else if (db == 0) {
        ++tb;
      } else if ((da > 0) == (db > 0)) {
        ++conc;
      } else {
        ++disc;
      }
    }
  const double den = std::sqrt((conc + disc + ta) * (conc + disc + tb));
  return den > 0 ? (conc - disc) / den : 0.0;
}

double jaccard(std::vector<int32_t> a, std::vector<int32_t> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<int32_t> inter;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(inter));
  const double uni = static_cast<double>(a.size() + b.size() - inter.size());
  return uni > 0 ? static_cast<double>(inter.size()) / uni : 1.0;
}

AuditModel audit_model(const std::string& name, models::Model& model) {
  AuditModel a;
  a.name = name;
  {
    autograd::NoGrad ng;
    models::Forward f = model.forward(false);
    a.users = f.users.value().to(Device::cpu()).astype(DType::F32);
    a.items = f.items.value().to(Device::cpu()).astype(DType::F32);
  }
  for (auto& [n, p] : model.parameters()) a.params.emplace_back(n, p.value().to(Device::cpu()));
  a.modality_uses = model.modality_uses();
  return a;
}

// ---- the audit -------------------------------------------------------------------------------------------

namespace {

// Users (of `users`) whose top 20 holds at least one flagged item.
int64_t users_with_flagged_in_top20(const eval::Evaluator& ev, const AuditModel& m, const std::vector<int32_t>& users,
                                    const std::vector<uint8_t>& flagged) {
  std::vector<int32_t> top;
  ev.top_k(m.users, m.items, users, 20, top);
  int64_t n = 0;
  for (size_t u = 0; u < users.size(); ++u)
    n += std::any_of(top.begin() + u * 20, top.begin() + (u + 1) * 20,
                     [&](int32_t i) { return i >= 0 && flagged[static_cast<size_t>(i)]; });
  return n;
}

// Erased-feature audit of one model: for each declared parameter fed by a modality with erased or dropped rows,
// the mean over those rows of |P[i] - raw[i]| / |replacement[i] - raw[i]| (rows whose replacement equals the
// raw row are skipped), and the minimum over rows.
json erased_rows_json(const AuditModel& m, const RequestView& view) {
  json out = json::object();
  for (const models::ModalityUse& use : m.modality_uses) {
    std::vector<int32_t> rows = view.dropped_items;
    if (auto it = view.erased.find(use.modality); it != view.erased.end()) rows.insert(rows.end(), it->second.begin(), it->second.end());
    if (rows.empty() || !view.original.features.count(use.modality)) continue;
    const Tensor& raw_t = view.original.features.at(use.modality).values;
    const std::vector<float> raw = raw_t.to_vector<float>(), repl = view.retain.features.at(use.modality).to_vector<float>();
    const int64_t w = raw_t.cols();
    for (const std::string& name : use.parameters) {
      const auto p = std::find_if(m.params.begin(), m.params.end(), [&](const auto& np) { return np.first == name; });
      if (p == m.params.end() || p->second.cols() != w) continue;
      const std::vector<float> v = p->second.astype(DType::F32).to_vector<float>();
      double sum = 0, lo = INFINITY;
      int64_t n = 0;
      for (int32_t i : rows) {
        double dp = 0, dr = 0;
        for (int64_t j = 0; j < w; ++j) {
          const double a = v[i * w + j] - raw[i * w + j], b = repl[i * w + j] - raw[i * w + j];
          dp += a * a;
          dr += b * b;
        }
        if (dr == 0) continue;
        const double ratio = std::sqrt(dp / dr);
        sum += ratio;
        lo = std::min(lo, ratio);
        ++n;
      }
      if (n > 0) out[name] = {{"modality", use.modality}, {"rows", n}, {"mean_distance_ratio", sum / n}, {"min_distance_ratio", lo}};
    }
  }
  return out;
}

// Mean rank percentile (1 = ranked first, 0 = last) of the flagged items over the users' full rankings,
// mask = D_r train items.
double mean_rank_percentile(const AuditModel& m, const std::vector<int32_t>& users, const std::vector<int32_t>& items,
                            const datasets::UserItems& mask) {
  const int64_t d = m.users.cols(), n_items = m.items.rows();
  const std::vector<float> uv = m.users.to_vector<float>(), iv = m.items.to_vector<float>();
  double sum = 0;
  int64_t n = 0;
  std::vector<float> s(static_cast<size_t>(n_items));
  for (int32_t u : users) {
    for (int64_t i = 0; i < n_items; ++i) {
      float acc = 0;
      for (int64_t j = 0; j < d; ++j) acc += uv[u * d + j] * iv[i * d + j];
      s[static_cast<size_t>(i)] = acc;
    }
    int64_t candidates = 0;
    for (int64_t i = 0; i < n_items; ++i) candidates += !mask.contains(u, static_cast<int32_t>(i));
    for (int32_t it : items) {
      if (mask.contains(u, it)) continue;
      int64_t below = 0;
      for (int64_t i = 0; i < n_items; ++i)
        below += !mask.contains(u, static_cast<int32_t>(i)) && s[static_cast<size_t>(i)] < s[static_cast<size_t>(it)];
      sum += candidates > 1 ? static_cast<double>(below) / static_cast<double>(candidates - 1) : 0.0;
      ++n;
    }
  }
  return n > 0 ? sum / static_cast<double>(n) : 0.0;
}

}  // namespace

json run_audit(const RequestView& view, const std::vector<AuditModel>& models, const AuditOptions& opt) {
  LETHE_CHECK(!models.empty() && models[0].name == "original", "audit: the first model must be the original");
  const datasets::Dataset& ds = view.original;
  for (const AuditModel& m : models)
    LETHE_CHECK(m.users.rows() == ds.n_users && m.items.rows() == ds.n_items,
                "audit: model '" << m.name << "' has " << m.users.rows() << " users / " << m.items.rows()
                                 << " items, the data set " << ds.n_users << " / " << ds.n_items);
  const AuditModel* gold = nullptr;
  for (const AuditModel& m : models)
    if (m.name == "gold") gold = &m;

  std::vector<uint8_t> forgotten_user(static_cast<size_t>(ds.n_users), 0), forgotten_item(static_cast<size_t>(ds.n_items), 0),
      affected(static_cast<size_t>(ds.n_users), 0);
  for (int32_t u : view.forgotten_users) forgotten_user[static_cast<size_t>(u)] = 1;
  for (int32_t i : view.forgotten_items) forgotten_item[static_cast<size_t>(i)] = 1;
  for (int32_t u : view.affected_users) affected[static_cast<size_t>(u)] = 1;

  // Retain-utility targets: original test rows outside the request.
  const datasets::Interactions retain_test = filter_pairs(ds.test, [&](int32_t u, int32_t i) {
    return !forgotten_user[static_cast<size_t>(u)] && !forgotten_item[static_cast<size_t>(i)] &&
           (view.retain.item_dropped.empty() || !view.retain.item_dropped[static_cast<size_t>(i)]);
  });
  LETHE_CHECK(!retain_test.empty(), "audit: no test interactions outside the request to measure retain utility on");
  const datasets::UserItems mask = datasets::UserItems::build(view.retain.train, ds.n_users);
  const eval::Evaluator ev(mask, ds.n_items, view.retain.item_dropped, Device::cpu());
  const eval::Evaluator ev_nodrop(mask, ds.n_items, {}, Device::cpu());
  const std::vector<int32_t> eval_users = eval::users_in_order(retain_test);
  const datasets::UserItems retain_targets = datasets::UserItems::build(retain_test, ds.n_users);

  // Fairness split: the most active 20% of the evaluated users by D_r train degree.
  std::vector<int32_t> by_activity = eval_users;
  std::stable_sort(by_activity.begin(), by_activity.end(),
                   [&](int32_t a, int32_t b) { return mask.degree(a) > mask.degree(b); });
  const size_t n_active = std::max<size_t>(1, by_activity.size() / 5);
  const std::vector<int32_t> active(by_activity.begin(), by_activity.begin() + n_active),
      inactive(by_activity.begin() + n_active, by_activity.end());

  // Forget-set users and their held-out test rows (forget recall, same users' test recall).
  const datasets::Interactions affected_test =
      filter_pairs(ds.test, [&](int32_t u, int32_t) { return affected[static_cast<size_t>(u)] != 0; });
  const datasets::UserItems forget_targets = datasets::UserItems::build(view.forget, ds.n_users);
  const datasets::UserItems affected_targets = datasets::UserItems::build(affected_test, ds.n_users);

  // Membership-inference attack, trained on the original model.
  json mia_info = json::object();
  Logistic attack;
  datasets::Interactions mia_forget, mia_heldout;
  const bool do_mia = view.has_forget_set();
  if (do_mia) {
    const datasets::Interactions heldout_all = concat(ds.valid, ds.test);
    const datasets::Interactions members = take(view.retain.train, subsample(view.retain.train.size(), opt.mia_max_pairs, opt.seed + 1));
    const datasets::Interactions nonmembers = take(heldout_all, subsample(heldout_all.size(), opt.mia_max_pairs, opt.seed + 2));
    LETHE_CHECK(!nonmembers.empty(), "audit: no held-out (valid / test) pairs to train the membership attack on");
    std::vector<std::vector<double>> x = pair_features(models[0], members);
    const std::vector<std::vector<double>> xn = pair_features(models[0], nonmembers);
    std::vector<int> y(x.size(), 1);
    x.insert(x.end(), xn.begin(), xn.end());
    y.resize(x.size(), 0);
    attack.fit(x, y);
    std::vector<int> pred;
    for (const auto& r : x) pred.push_back(attack.prob(r) >= 0.5);
    mia_info["train_members"] = members.size();
    mia_info["train_nonmembers"] = nonmembers.size();
    mia_info["train_balanced_accuracy"] = balanced_accuracy(y, pred);
    mia_info["features"] = {"score", "rank_percentile", "z_score_within_user"};
    mia_info["weights"] = attack.w;
    mia_info["bias"] = attack.b;
    mia_forget = take(view.forget, subsample(view.forget.size(), opt.mia_max_pairs, opt.seed + 3));
    const datasets::Interactions same_users_heldout =
        filter_pairs(heldout_all, [&](int32_t u, int32_t) { return affected[static_cast<size_t>(u)] != 0; });
    mia_heldout = take(same_users_heldout, subsample(same_users_heldout.size(), opt.mia_max_pairs, opt.seed + 4));
    mia_info["eval_forget_pairs"] = mia_forget.size();
    mia_info["eval_heldout_pairs"] = mia_heldout.size();
  }
  const bool mia_ok = do_mia && !mia_forget.empty() && !mia_heldout.empty();

  // Kendall's tau sample of forget pairs.
  const datasets::Interactions tau_pairs = take(view.forget, subsample(view.forget.size(), opt.kendall_max_pairs, opt.seed + 5));
  std::vector<double> gold_tau_scores;
  std::vector<int32_t> gold_top;
  if (gold) {
    gold_tau_scores = pair_scores(*gold, tau_pairs);
    ev.top_k(gold->users, gold->items, eval_users, 20, gold_top);
  }

  // RelItems (item requests): every user with retained data, dropped items not masked (their scores are audited).
  std::vector<uint8_t> forgotten_flag(static_cast<size_t>(ds.n_items), 0);
  for (int32_t i : view.forgotten_items) forgotten_flag[static_cast<size_t>(i)] = 1;
  std::vector<int32_t> users_with_data;
  for (int32_t u = 0; u < ds.n_users; ++u)
    if (mask.degree(u) > 0) users_with_data.push_back(u);
  const bool do_relitems = !view.forgotten_items.empty();
  const int64_t gold_relitems = (do_relitems && gold) ? users_with_flagged_in_top20(ev_nodrop, *gold, users_with_data, forgotten_flag) : -1;
  // Erased items (modality requests): a deterministic sample of evaluated users for the rank percentile.
  std::vector<int32_t> erased_items;
  for (const auto& [mname, items] : view.erased) erased_items.insert(erased_items.end(), items.begin(), items.end());
  std::sort(erased_items.begin(), erased_items.end());
  erased_items.erase(std::unique(erased_items.begin(), erased_items.end()), erased_items.end());
  std::vector<int32_t> rank_users;
  for (size_t k : subsample(eval_users.size(), 500, opt.seed + 6)) rank_users.push_back(eval_users[k]);

  json rows = json::array();
  std::vector<double> forget_recalls;
  for (const AuditModel& m : models) {
    json r;
    r["model"] = m.name;
    const eval::EvalResult ret = ev.evaluate(m.users, m.items, retain_targets, eval_users);
    r["retain_recall@20"] = eval::metric(ret.metrics, "Recall@20");
    r["retain_ndcg@20"] = eval::metric(ret.metrics, "NDCG@20");
    r["retain_metrics"] = metrics_json(ret.metrics);
    r["retain_users"] = ret.users;
    if (view.has_forget_set()) {
      const eval::EvalResult fr = ev_nodrop.evaluate(m.users, m.items, forget_targets, view.affected_users);
      r["forget_recall@20"] = eval::metric(fr.metrics, "Recall@20");
      forget_recalls.push_back(r["forget_recall@20"].get<double>());
      r["forget_users"] = fr.users;
      if (!affected_test.empty()) {
        const eval::EvalResult tr = ev_nodrop.evaluate(m.users, m.items, affected_targets, view.affected_users);
        r[view.kind == unlearning::RequestKind::User ? "forgotten_users_test_recall@20" : "affected_users_test_recall@20"] =
            eval::metric(tr.metrics, "Recall@20");
      }
    } else {
      r["forget_recall@20"] = nullptr;
    }
    if (mia_ok) {
      std::vector<int> y, pred;
      for (const auto& f : pair_features(m, mia_forget)) {
        y.push_back(1);
        pred.push_back(attack.prob(f) >= 0.5);
      }
      for (const auto& f : pair_features(m, mia_heldout)) {
        y.push_back(0);
        pred.push_back(attack.prob(f) >= 0.5);
      }
      r["mia_balanced_accuracy"] = balanced_accuracy(y, pred);
    } else {
      r["mia_balanced_accuracy"] = nullptr;
    }
    if (gold) {
      std::vector<int32_t> top;
      ev.top_k(m.users, m.items, eval_users, 20, top);
      double jsum = 0;
      for (size_t u = 0; u < eval_users.size(); ++u)
        jsum += jaccard(std::vector<int32_t>(top.begin() + u * 20, top.begin() + (u + 1) * 20),
                        std::vector<int32_t>(gold_top.begin() + u * 20, gold_top.begin() + (u + 1) * 20));
      r["jaccard@20_vs_gold"] = eval_users.empty() ? 0.0 : jsum / static_cast<double>(eval_users.size());
      r["kendall_tau_forget_vs_gold"] =
          tau_pairs.size() >= 2 ? json(kendall_tau_b(pair_scores(m, tau_pairs), gold_tau_scores)) : json(nullptr);
    } else {
      r["jaccard@20_vs_gold"] = nullptr;
    }
    if (do_relitems) {
      const int64_t n = users_with_flagged_in_top20(ev_nodrop, m, users_with_data, forgotten_flag);
      r["relitems@20"] = n;
      r["relitems@20_vs_gold"] = gold_relitems > 0 ? json(static_cast<double>(n) / static_cast<double>(gold_relitems))
                                                   : json(nullptr);
    }
    if (!view.erased.empty() || !view.dropped_items.empty()) r["erased_features"] = erased_rows_json(m, view);
    if (!erased_items.empty()) r["erased_items_rank_percentile"] = mean_rank_percentile(m, rank_users, erased_items, mask);
    r["time_s"] = m.time_s >= 0 ? json(m.time_s) : json(nullptr);
    // The original's time is its training: no speed-up to report for it.
    r["speedup_vs_gold"] =
        (gold && m.name != "original" && gold->time_s > 0 && m.time_s > 0) ? json(gold->time_s / m.time_s) : json(nullptr);
    r["epochs"] = m.epochs >= 0 ? json(m.epochs) : json(nullptr);
    if (!m.stop_reason.empty()) r["stop_reason"] = m.stop_reason;
    const double n_act = eval::metric(ev.evaluate(m.users, m.items, retain_targets, active).metrics, "NDCG@20");
    const double n_rest =
        inactive.empty() ? 0.0 : eval::metric(ev.evaluate(m.users, m.items, retain_targets, inactive).metrics, "NDCG@20");
    r["fairness"] = {{"ndcg@20_active20", n_act}, {"ndcg@20_rest", n_rest}, {"gap", n_act - n_rest}};
    rows.push_back(r);
  }

  // Sanity: parameters moved, forget recall fell, methods differ from each other.
  json sanity = json::object();
  auto max_diff = [](const AuditModel& a, const AuditModel& b) -> double {
    if (a.params.size() != b.params.size()) return INFINITY;
    double d = 0;
    for (size_t k = 0; k < a.params.size(); ++k) {
      if (a.params[k].first != b.params[k].first || a.params[k].second.shape() != b.params[k].second.shape()) return INFINITY;
      d = std::max(d, ops::max_abs_diff(a.params[k].second, b.params[k].second));
    }
    return d;
  };
  for (size_t k = 1; k < models.size(); ++k) {
    json s;
    s["params_max_abs_diff_vs_original"] = max_diff(models[k], models[0]);
    s["params_differ_from_original"] = max_diff(models[k], models[0]) > 0;
    if (view.has_forget_set()) s["forget_recall_fell"] = forget_recalls[k] < forget_recalls[0];
    rows[k]["sanity"] = s;
  }
  json differ = json::array();
  for (size_t a = 1; a < models.size(); ++a)
    for (size_t b = a + 1; b < models.size(); ++b)
      differ.push_back({{"models", {models[a].name, models[b].name}}, {"differ", max_diff(models[a], models[b]) > 0}});
  sanity["methods_differ"] = differ;

  json req;
  req["kind"] = unlearning::request_kind_name(view.kind);
  req["steps"] = view.requests.size();
  json files = json::array();
  for (const auto& r : view.requests) files.push_back(r.file);
  req["files"] = files;
  req["rows"] = view.requests.back().size();
  req["drop"] = view.requests.back().drop;
  req["forget_rows"] = view.forget.size();
  req["retain_rows"] = view.retain.train.size();
  req["affected_users"] = view.affected_users.size();
  req["forgotten_users"] = view.forgotten_users.size();
  req["forgotten_items"] = view.forgotten_items.size();
  req["dropped_items"] = view.dropped_items.size();
  json er = json::object();
  for (const auto& [mname, items] : view.erased) er[mname] = items.size();
  req["erased"] = er;

  json out;
  out["request"] = req;
  out["rows"] = rows;
  out["sanity"] = sanity;
  out["mia_attack"] = mia_info;
  out["evaluation"] = {{"retain_test_rows", retain_test.size()},
                       {"retain_users", eval_users.size()},
                       {"active_users", active.size()},
                       {"affected_test_rows", affected_test.size()},
                       {"relitems_users", do_relitems ? json(users_with_data.size()) : json(nullptr)},
                       {"gold_relitems@20", gold_relitems >= 0 ? json(gold_relitems) : json(nullptr)},
                       {"rank_percentile_users", erased_items.empty() ? json(nullptr) : json(rank_users.size())}};
  return out;
}

}  // namespace lethe::unlearning
