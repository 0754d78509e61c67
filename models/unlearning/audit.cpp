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
#include "models/eval/score_rows.h"

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
  eval::for_each_score_row(m.users, m.items, users, [&](size_t r, const float* row) {
    double mean = 0, sq = 0;
    for (int64_t i = 0; i < n_items; ++i) mean += row[i];
    mean /= static_cast<double>(n_items);
    for (int64_t i = 0; i < n_items; ++i) sq += (row[i] - mean) * (row[i] - mean);
    const double sd = std::sqrt(sq / static_cast<double>(n_items)) + 1e-12;
    for (size_t k : by_user[users[r]]) {
      const float v = row[pairs.items[k]];
      out[k] = {static_cast<double>(v), eval::rank_percentile(row, n_items, v), (v - mean) / sd};
    }
  });
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
  LETHE_CHECK(!x.empty() && x.size() == y.size(),
              "logistic regression: " << x.size() << " rows, " << y.size() << " labels");
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
  LETHE_CHECK(p > 0 && n > 0,
              "balanced accuracy needs both classes (" << p << " positive, " << n << " negative rows)");
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
int64_t users_with_flagged_in_top20(const eval::Evaluator& ev, const AuditModel& m,
                                    const std::vector<int32_t>& users, const std::vector<uint8_t>& flagged) {
  std::vector<int32_t> top;
  ev.top_k(m.users, m.items, users, 20, top);
  int64_t n = 0;
  for (size_t u = 0; u < users.size(); ++u)
    n += std::any_of(top.begin() + u * 20, top.begin() + (u + 1) * 20,
                     [&](int32_t i) { return i >= 0 && flagged[static_cast<size_t>(i)]; });
  return n;
}

// Erased-feature audit of one model: for each declared parameter fed by a modality with erased or dropped
// rows, the mean over those rows of |P[i] - raw[i]| / |replacement[i] - raw[i]| (rows whose replacement
// equals the raw row are skipped), and the minimum over rows.
json erased_rows_json(const AuditModel& m, const RequestView& view) {
  json out = json::object();
  for (const models::ModalityUse& use : m.modality_uses) {
    std::vector<int32_t> rows = view.dropped_items;
    if (auto it = view.erased.find(use.modality); it != view.erased.end())
      rows.insert(rows.end(), it->second.begin(), it->second.end());
    if (rows.empty() || !view.original.features.count(use.modality)) continue;
    const Tensor& raw_t = view.original.features.at(use.modality).values;
    const std::vector<float> raw = raw_t.to_vector<float>(),
                             repl = view.retain.features.at(use.modality).to_vector<float>();
    const int64_t w = raw_t.cols();
    for (const std::string& name : use.parameters) {
      const auto p =
          std::find_if(m.params.begin(), m.params.end(), [&](const auto& np) { return np.first == name; });
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
      if (n > 0)
        out[name] = {{"modality", use.modality},
                     {"rows", n},
                     {"mean_distance_ratio", sum / n},
                     {"min_distance_ratio", lo}};
    }
  }
  return out;
}

// Mean rank percentile (1 = ranked first, 0 = last) of the flagged items over the users' full rankings,
// mask = D_r train items.
double mean_rank_percentile(const AuditModel& m, const std::vector<int32_t>& users,
                            const std::vector<int32_t>& items, const datasets::UserItems& mask) {
  const int64_t n_items = m.items.rows();
  double sum = 0;
  int64_t n = 0;
  std::vector<float> open;  // the user's scores outside the mask, sorted: "strictly below" is a lower bound
  eval::for_each_score_row(m.users, m.items, users, [&](size_t k, const float* s) {
    const int32_t u = users[k];
    open.clear();
    for (int64_t i = 0; i < n_items; ++i)
      if (!mask.contains(u, static_cast<int32_t>(i))) open.push_back(s[i]);
    std::sort(open.begin(), open.end());
    const int64_t candidates = static_cast<int64_t>(open.size());
    for (int32_t it : items) {
      if (mask.contains(u, it)) continue;
      const int64_t below = std::lower_bound(open.begin(), open.end(), s[it]) - open.begin();
      sum += candidates > 1 ? static_cast<double>(below) / static_cast<double>(candidates - 1) : 0.0;
      ++n;
    }
  });
  return n > 0 ? sum / static_cast<double>(n) : 0.0;
}

// What every model is measured against: the targets, users and evaluators derived from the view once.
struct AuditTargets {
  datasets::UserItems mask;            // D_r train items per user (masked in every ranking)
  datasets::Interactions retain_test;  // original test rows outside the request
  datasets::UserItems retain_targets;
  std::vector<int32_t> eval_users;        // users with retain test rows, in order
  std::vector<int32_t> active, inactive;  // fairness split: the most active 20% of eval_users by D_r degree
  datasets::Interactions affected_test;   // test rows of the forget set's users
  datasets::UserItems forget_targets, affected_targets;
  std::vector<int32_t> users_with_data;  // RelItems population: every user with D_r train rows
  std::vector<uint8_t> forgotten_item;   // item-request flags
  std::vector<int32_t> erased_items;     // modality requests: every erased row's item, once
  std::vector<int32_t> rank_users;       // a deterministic sample of eval_users for the rank percentile
};

AuditTargets audit_targets(const RequestView& view, const AuditOptions& opt) {
  const datasets::Dataset& ds = view.original;
  AuditTargets t;
  std::vector<uint8_t> forgotten_user(static_cast<size_t>(ds.n_users), 0),
      affected(static_cast<size_t>(ds.n_users), 0);
  t.forgotten_item.assign(static_cast<size_t>(ds.n_items), 0);
  for (int32_t u : view.forgotten_users) forgotten_user[static_cast<size_t>(u)] = 1;
  for (int32_t i : view.forgotten_items) t.forgotten_item[static_cast<size_t>(i)] = 1;
  for (int32_t u : view.affected_users) affected[static_cast<size_t>(u)] = 1;

  t.retain_test = filter_pairs(ds.test, [&](int32_t u, int32_t i) {
    return !forgotten_user[static_cast<size_t>(u)] && !t.forgotten_item[static_cast<size_t>(i)] &&
           (view.retain.item_dropped.empty() || !view.retain.item_dropped[static_cast<size_t>(i)]);
  });
  LETHE_CHECK(!t.retain_test.empty(),
              "audit: no test interactions outside the request to measure retain utility on");
  t.mask = datasets::UserItems::build(view.retain.train, ds.n_users);
  t.eval_users = eval::users_in_order(t.retain_test);
  t.retain_targets = datasets::UserItems::build(t.retain_test, ds.n_users);

  std::vector<int32_t> by_activity = t.eval_users;
  std::stable_sort(by_activity.begin(), by_activity.end(),
                   [&](int32_t a, int32_t b) { return t.mask.degree(a) > t.mask.degree(b); });
  const size_t n_active = std::max<size_t>(1, by_activity.size() / 5);
  t.active.assign(by_activity.begin(), by_activity.begin() + n_active);
  t.inactive.assign(by_activity.begin() + n_active, by_activity.end());

  t.affected_test =
      filter_pairs(ds.test, [&](int32_t u, int32_t) { return affected[static_cast<size_t>(u)] != 0; });
  t.forget_targets = datasets::UserItems::build(view.forget, ds.n_users);
  t.affected_targets = datasets::UserItems::build(t.affected_test, ds.n_users);

  for (int32_t u = 0; u < ds.n_users; ++u)
    if (t.mask.degree(u) > 0) t.users_with_data.push_back(u);
  for (const auto& [mname, items] : view.erased)
    t.erased_items.insert(t.erased_items.end(), items.begin(), items.end());
  std::sort(t.erased_items.begin(), t.erased_items.end());
  t.erased_items.erase(std::unique(t.erased_items.begin(), t.erased_items.end()), t.erased_items.end());
  for (size_t k : subsample(t.eval_users.size(), 500, opt.seed + 6)) t.rank_users.push_back(t.eval_users[k]);
  return t;
}

// The membership-inference attack: trained on the original model (D_r train pairs against held-out pairs),
// evaluated per model on forget pairs against the same users' held-out pairs.
struct MembershipAttack {
  Logistic attack;
  datasets::Interactions forget, heldout;  // evaluation pairs
  json info = json::object();
  bool usable() const { return !forget.empty() && !heldout.empty(); }
};

MembershipAttack train_membership_attack(const RequestView& view, const AuditModel& original,
                                         const AuditOptions& opt) {
  MembershipAttack a;
  if (!view.has_forget_set()) return a;
  const datasets::Dataset& ds = view.original;
  const datasets::Interactions heldout_all = concat(ds.valid, ds.test);
  const datasets::Interactions members =
      take(view.retain.train, subsample(view.retain.train.size(), opt.mia_max_pairs, opt.seed + 1));
  const datasets::Interactions nonmembers =
      take(heldout_all, subsample(heldout_all.size(), opt.mia_max_pairs, opt.seed + 2));
  LETHE_CHECK(!nonmembers.empty(),
              "audit: no held-out (valid / test) pairs to train the membership attack on");
  std::vector<std::vector<double>> x = pair_features(original, members);
  const std::vector<std::vector<double>> xn = pair_features(original, nonmembers);
  std::vector<int> y(x.size(), 1);
  x.insert(x.end(), xn.begin(), xn.end());
  y.resize(x.size(), 0);
  a.attack.fit(x, y);
  std::vector<int> pred;
  for (const auto& r : x) pred.push_back(a.attack.prob(r) >= 0.5);
  a.info["train_members"] = members.size();
  a.info["train_nonmembers"] = nonmembers.size();
  a.info["train_balanced_accuracy"] = balanced_accuracy(y, pred);
  a.info["features"] = {"score", "rank_percentile", "z_score_within_user"};
  a.info["weights"] = a.attack.w;
  a.info["bias"] = a.attack.b;
  std::vector<uint8_t> affected(static_cast<size_t>(ds.n_users), 0);
  for (int32_t u : view.affected_users) affected[static_cast<size_t>(u)] = 1;
  a.forget = take(view.forget, subsample(view.forget.size(), opt.mia_max_pairs, opt.seed + 3));
  const datasets::Interactions same_users_heldout =
      filter_pairs(heldout_all, [&](int32_t u, int32_t) { return affected[static_cast<size_t>(u)] != 0; });
  a.heldout = take(same_users_heldout, subsample(same_users_heldout.size(), opt.mia_max_pairs, opt.seed + 4));
  a.info["eval_forget_pairs"] = a.forget.size();
  a.info["eval_heldout_pairs"] = a.heldout.size();
  return a;
}

double attack_balanced_accuracy(const MembershipAttack& a, const AuditModel& m) {
  std::vector<int> y, pred;
  for (const auto& f : pair_features(m, a.forget)) {
    y.push_back(1);
    pred.push_back(a.attack.prob(f) >= 0.5);
  }
  for (const auto& f : pair_features(m, a.heldout)) {
    y.push_back(0);
    pred.push_back(a.attack.prob(f) >= 0.5);
  }
  return balanced_accuracy(y, pred);
}

// Gold's side of the agreement measures, computed once.
struct GoldReference {
  const AuditModel* model = nullptr;
  datasets::Interactions tau_pairs;  // Kendall's tau sample of forget pairs
  std::vector<double> tau_scores;
  std::vector<int32_t> top;  // top 20 per eval user
  int64_t relitems = -1;     // users with a forgotten item in their top 20 (item requests)
};

// Mean Jaccard@20 of two [users x 20] top lists.
double mean_jaccard20(const std::vector<int32_t>& a, const std::vector<int32_t>& b, size_t users) {
  if (users == 0) return 0.0;
  double sum = 0;
  for (size_t u = 0; u < users; ++u)
    sum += jaccard(std::vector<int32_t>(a.begin() + u * 20, a.begin() + (u + 1) * 20),
                   std::vector<int32_t>(b.begin() + u * 20, b.begin() + (u + 1) * 20));
  return sum / static_cast<double>(users);
}

// One model's row of the report.
json audit_row(const AuditModel& m, const RequestView& view, const AuditTargets& t, const eval::Evaluator& ev,
               const eval::Evaluator& ev_nodrop, const MembershipAttack& mia, const GoldReference& gold) {
  json r;
  r["model"] = m.name;
  const eval::EvalResult ret = ev.evaluate(m.users, m.items, t.retain_targets, t.eval_users);
  r["retain_recall@20"] = eval::metric(ret.metrics, "Recall@20");
  r["retain_ndcg@20"] = eval::metric(ret.metrics, "NDCG@20");
  r["retain_metrics"] = metrics_json(ret.metrics);
  r["retain_users"] = ret.users;
  r["forget_recall@20"] = nullptr;
  if (view.has_forget_set()) {
    const eval::EvalResult fr = ev_nodrop.evaluate(m.users, m.items, t.forget_targets, view.affected_users);
    r["forget_recall@20"] = eval::metric(fr.metrics, "Recall@20");
    r["forget_users"] = fr.users;
    if (!t.affected_test.empty()) {
      const eval::EvalResult tr =
          ev_nodrop.evaluate(m.users, m.items, t.affected_targets, view.affected_users);
      r[view.kind == unlearning::RequestKind::User ? "forgotten_users_test_recall@20"
                                                   : "affected_users_test_recall@20"] =
          eval::metric(tr.metrics, "Recall@20");
    }
  }
  r["mia_balanced_accuracy"] = mia.usable() ? json(attack_balanced_accuracy(mia, m)) : json(nullptr);
  r["jaccard@20_vs_gold"] = nullptr;
  if (gold.model) {
    std::vector<int32_t> top;
    ev.top_k(m.users, m.items, t.eval_users, 20, top);
    r["jaccard@20_vs_gold"] = mean_jaccard20(top, gold.top, t.eval_users.size());
    r["kendall_tau_forget_vs_gold"] =
        gold.tau_pairs.size() >= 2 ? json(kendall_tau_b(pair_scores(m, gold.tau_pairs), gold.tau_scores))
                                   : json(nullptr);
  }
  if (!view.forgotten_items.empty()) {
    const int64_t n = users_with_flagged_in_top20(ev_nodrop, m, t.users_with_data, t.forgotten_item);
    r["relitems@20"] = n;
    r["relitems@20_vs_gold"] =
        gold.relitems > 0 ? json(static_cast<double>(n) / static_cast<double>(gold.relitems)) : json(nullptr);
  }
  if (!view.erased.empty() || !view.dropped_items.empty()) r["erased_features"] = erased_rows_json(m, view);
  if (!t.erased_items.empty())
    r["erased_items_rank_percentile"] = mean_rank_percentile(m, t.rank_users, t.erased_items, t.mask);
  r["time_s"] = m.time_s >= 0 ? json(m.time_s) : json(nullptr);
  // The original's time is its training: no speed-up to report for it.
  const AuditModel* g = gold.model;
  r["speedup_vs_gold"] = (g && m.name != "original" && g->time_s > 0 && m.time_s > 0)
                             ? json(g->time_s / m.time_s)
                             : json(nullptr);
  r["epochs"] = m.epochs >= 0 ? json(m.epochs) : json(nullptr);
  if (!m.stop_reason.empty()) r["stop_reason"] = m.stop_reason;
  if (!m.stopped_on.empty()) r["stopped_on"] = m.stopped_on;
  const double n_act =
      eval::metric(ev.evaluate(m.users, m.items, t.retain_targets, t.active).metrics, "NDCG@20");
  const double n_rest =
      t.inactive.empty()
          ? 0.0
          : eval::metric(ev.evaluate(m.users, m.items, t.retain_targets, t.inactive).metrics, "NDCG@20");
  r["fairness"] = {{"ndcg@20_active20", n_act}, {"ndcg@20_rest", n_rest}, {"gap", n_act - n_rest}};
  return r;
}

// Largest absolute parameter difference of two models (infinite when their parameter lists differ).
double params_max_diff(const AuditModel& a, const AuditModel& b) {
  if (a.params.size() != b.params.size()) return INFINITY;
  double d = 0;
  for (size_t k = 0; k < a.params.size(); ++k) {
    if (a.params[k].first != b.params[k].first || a.params[k].second.shape() != b.params[k].second.shape())
      return INFINITY;
    d = std::max(d, ops::max_abs_diff(a.params[k].second, b.params[k].second));
  }
  return d;
}

// Sanity: every method's parameters moved and its forget recall fell (into its row); the methods differ
// pairwise.
json sanity_json(const RequestView& view, const std::vector<AuditModel>& models, json& rows) {
  for (size_t k = 1; k < models.size(); ++k) {
    json s;
    s["params_max_abs_diff_vs_original"] = params_max_diff(models[k], models[0]);
    s["params_differ_from_original"] = params_max_diff(models[k], models[0]) > 0;
    if (view.has_forget_set())
      s["forget_recall_fell"] =
          rows[k]["forget_recall@20"].get<double>() < rows[0]["forget_recall@20"].get<double>();
    rows[k]["sanity"] = s;
  }
  json differ = json::array();
  for (size_t a = 1; a < models.size(); ++a)
    for (size_t b = a + 1; b < models.size(); ++b)
      differ.push_back({{"models", {models[a].name, models[b].name}},
                        {"differ", params_max_diff(models[a], models[b]) > 0}});
  return {{"methods_differ", differ}};
}

json request_json(const RequestView& view) {
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
  return req;
}

}  // namespace

json run_audit(const RequestView& view, const std::vector<AuditModel>& models, const AuditOptions& opt) {
  LETHE_CHECK(!models.empty() && models[0].name == "original", "audit: the first model must be the original");
  const datasets::Dataset& ds = view.original;
  for (const AuditModel& m : models)
    LETHE_CHECK(m.users.rows() == ds.n_users && m.items.rows() == ds.n_items,
                "audit: model '" << m.name << "' has " << m.users.rows() << " users / " << m.items.rows()
                                 << " items, the data set " << ds.n_users << " / " << ds.n_items);
  const AuditTargets t = audit_targets(view, opt);
  const eval::Evaluator ev(t.mask, ds.n_items, view.retain.item_dropped, Device::cpu());
  const eval::Evaluator ev_nodrop(t.mask, ds.n_items, {}, Device::cpu());  // forget targets and RelItems
  const MembershipAttack mia = train_membership_attack(view, models[0], opt);

  GoldReference gold;
  for (const AuditModel& m : models)
    if (m.name == "gold") gold.model = &m;
  if (gold.model) {
    gold.tau_pairs = take(view.forget, subsample(view.forget.size(), opt.kendall_max_pairs, opt.seed + 5));
    gold.tau_scores = pair_scores(*gold.model, gold.tau_pairs);
    ev.top_k(gold.model->users, gold.model->items, t.eval_users, 20, gold.top);
    if (!view.forgotten_items.empty())
      gold.relitems =
          users_with_flagged_in_top20(ev_nodrop, *gold.model, t.users_with_data, t.forgotten_item);
  }

  json rows = json::array();
  for (const AuditModel& m : models) rows.push_back(audit_row(m, view, t, ev, ev_nodrop, mia, gold));
  json out;
  out["sanity"] = sanity_json(view, models, rows);
  out["request"] = request_json(view);
  out["rows"] = rows;
  out["mia_attack"] = mia.info;
  const bool relitems = !view.forgotten_items.empty();
  out["evaluation"] = {
      {"retain_test_rows", t.retain_test.size()},
      {"retain_users", t.eval_users.size()},
      {"active_users", t.active.size()},
      {"affected_test_rows", t.affected_test.size()},
      {"relitems_users", relitems ? json(t.users_with_data.size()) : json(nullptr)},
      {"gold_relitems@20", gold.relitems >= 0 ? json(gold.relitems) : json(nullptr)},
      {"rank_percentile_users", t.erased_items.empty() ? json(nullptr) : json(t.rank_users.size())}};
  return out;
}

}  // namespace lethe::unlearning
