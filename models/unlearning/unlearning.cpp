// Request views and the unlearning methods (unlearning.h): mmrecun, gold, finetune, neggrad.
#include "models/unlearning/unlearning.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <numeric>
#include <set>
#include <sstream>
#include <unordered_map>

#include "autograd/ops.h"
#include "autograd/optim.h"
#include "datasets/sampler.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "models/eval/evaluator.h"
#include "models/losses.h"
#include "models/training/trainer.h"

namespace lethe::unlearning {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

uint64_t pair_key(int32_t u, int32_t i) { return (static_cast<uint64_t>(static_cast<uint32_t>(u)) << 32) | static_cast<uint32_t>(i); }

std::vector<int32_t> sorted_union(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  return a;
}

std::vector<int32_t> distinct_users(const datasets::Interactions& x) {
  std::vector<int32_t> u = x.users;
  std::sort(u.begin(), u.end());
  u.erase(std::unique(u.begin(), u.end()), u.end());
  return u;
}

models::Batch to_batch(const datasets::BprBatch& b, Device dev) {
  const Shape s{static_cast<int64_t>(b.size())};
  models::Batch out;
  out.users = Tensor::from_vector(b.users, s, dev);
  out.pos = Tensor::from_vector(b.pos, s, dev);
  out.neg = Tensor::from_vector(b.neg, s, dev);
  return out;
}

// Scores s(u, pos) and s(u, neg) of a batch from a forward's final embeddings.
std::pair<autograd::Var, autograd::Var> batch_scores(const models::Forward& f, const models::Batch& b) {
  const autograd::Var u = autograd::gather_rows(f.users, b.users);
  return {autograd::rowdot(u, autograd::gather_rows(f.items, b.pos)), autograd::rowdot(u, autograd::gather_rows(f.items, b.neg))};
}

// The landing of until-forgotten (docs/unlearning.md): the epoch that crossed the reference started above
// it (theta0) and ended below it (theta1). Bisection on the segment theta0 + t (theta1 - theta0) for the
// smallest t (to 1/64) whose forget recall is still at or below the reference, so the method stops at the
// never-seen level rather than up to one epoch past it. Leaves the parameters at that t, `at` its check.
template <typename Check>
double land_on_reference(std::vector<autograd::Var> params, const std::vector<Tensor>& theta0, Check check, ForgetCheck& at) {
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
    if (c.forget_recall <= c.reference) {
      hi = mid;
      at = c;
    } else {
      lo = mid;
    }
  }
  set_to(hi);
  return hi;
}

std::vector<autograd::Var> param_vars(models::Model& m) {
  std::vector<autograd::Var> v;
  for (auto& [name, p] : m.parameters()) v.push_back(p);
  return v;
}

}  // namespace

// ---- request views ---------------------------------------------------------------------------------------

RequestView apply_requests(const datasets::Dataset& ds, const std::vector<unlearning::Request>& requests) {
  LETHE_CHECK(!requests.empty(), "unlearning: no request given");
  RequestView v;
  v.original = ds;
  v.current = ds;
  v.requests = requests;
  std::vector<uint8_t> dropped(static_cast<size_t>(ds.n_items), 0);
  for (const unlearning::Request& req : requests) {
    const unlearning::Resolution res = unlearning::resolve(v.current, req);  // throws on a bad request: nothing changed yet
    v.step_forget = res.forget;
    v.kind = req.kind;
    v.forgotten_users = sorted_union(v.forgotten_users, res.forgotten_users);
    if (req.kind == unlearning::RequestKind::Item) v.forgotten_items = sorted_union(v.forgotten_items, req.items);
    for (int32_t i : res.dropped_items) dropped[static_cast<size_t>(i)] = 1;
    for (const auto& [m, items] : res.erased) v.erased[m] = sorted_union(v.erased[m], items);
    v.current = unlearning::apply_request(v.current, res);
  }
  // Cumulative forget set: rows of the original train split missing from the final one (multiset difference,
  // so repeated pairs are handled), in the original train order.
  std::unordered_map<uint64_t, int64_t> left;
  for (size_t k = 0; k < v.current.train.size(); ++k) ++left[pair_key(v.current.train.users[k], v.current.train.items[k])];
  for (size_t k = 0; k < ds.train.size(); ++k) {
    auto it = left.find(pair_key(ds.train.users[k], ds.train.items[k]));
    if (it != left.end() && it->second > 0) {
      --it->second;
    } else {
      v.forget.push(ds.train.users[k], ds.train.items[k]);
    }
  }
  v.affected_users = distinct_users(v.forget);
  for (int32_t i = 0; i < ds.n_items; ++i)
    if (dropped[static_cast<size_t>(i)]) v.dropped_items.push_back(i);

  v.retain = models::TrainData{};
  v.retain.n_users = v.current.n_users;
  v.retain.n_items = v.current.n_items;
  v.retain.train = v.current.train;
  for (const auto& [name, ft] : v.current.features) v.retain.features[name] = ft.values;
  if (!v.dropped_items.empty()) v.retain.item_dropped = dropped;
  return v;
}

int64_t reset_feature_parameters(models::Model& model, const RequestView& view) {
  int64_t rows = 0;
  for (auto& [name, p] : model.parameters()) {
    for (const auto& [modality, table] : view.retain.features) {
      if (name != modality + "_embedding.weight") continue;
      if (p.value().shape() != table.shape()) continue;
      std::vector<int32_t> reset = view.dropped_items;
      auto it = view.erased.find(modality);
      if (it != view.erased.end()) reset = sorted_union(reset, it->second);
      if (reset.empty()) continue;
      const int64_t width = table.cols();
      std::vector<float> cur = p.value().to(Device::cpu()).astype(DType::F32).to_vector<float>();
      const std::vector<float> src = table.to(Device::cpu()).astype(DType::F32).to_vector<float>();
      for (int32_t i : reset)
        std::copy(src.begin() + i * width, src.begin() + (i + 1) * width, cur.begin() + i * width);
      p.mutable_value().copy_from(Tensor::from_vector(cur, p.value().shape()).astype(p.value().dtype()));
      rows += static_cast<int64_t>(reset.size());
    }
  }
  return rows;
}

// ---- methods ---------------------------------------------------------------------------------------------

Method parse_method(const std::string& s) {
  if (s == "mmrecun") return Method::MMRecUn;
  if (s == "gold") return Method::Gold;
  if (s == "finetune") return Method::Finetune;
  if (s == "neggrad") return Method::NegGrad;
  LETHE_CHECK(false, "unknown unlearning method '" << s << "' (mmrecun, gold, finetune, neggrad)");
  return Method::MMRecUn;
}

const char* method_name(Method m) {
  switch (m) {
    case Method::MMRecUn: return "mmrecun";
    case Method::Gold: return "gold";
    case Method::Finetune: return "finetune";
    case Method::NegGrad: return "neggrad";
  }
  return "?";
}

ForgetChecker::ForgetChecker(const RequestView& view, const datasets::Interactions& forget, Device dev) {
  if (forget.empty()) return;
  users_ = distinct_users(forget);
  const datasets::UserItems mask = datasets::UserItems::build(view.retain.train, view.retain.n_users);
  std::vector<uint8_t> in_users(static_cast<size_t>(view.original.n_users), 0);
  for (int32_t u : users_) {
    in_users[static_cast<size_t>(u)] = 1;
    (mask.degree(u) > 0 ? with_data_ : without_data_).push_back(u);
  }
  datasets::Interactions test;
  for (size_t k = 0; k < view.original.test.size(); ++k)
    if (in_users[static_cast<size_t>(view.original.test.users[k])]) test.push(view.original.test.users[k], view.original.test.items[k]);
  has_test_ = !test.empty();
  targets_ = datasets::UserItems::build(forget, view.retain.n_users);
  test_items_ = datasets::UserItems::build(test, view.retain.n_users);
  // Dropped items are not masked here: the audit asks whether the scores still single them out.
  ev_ = std::make_unique<eval::Evaluator>(mask, view.retain.n_items, std::vector<uint8_t>{}, dev);
}

ForgetCheck ForgetChecker::check(models::Model& model) const {
  ForgetCheck c;
  if (!ev_) return c;
  Tensor ue, ie;
  {
    autograd::NoGrad ng;
    models::Forward f = model.forward(false);
    ue = f.users.value();
    ie = f.items.value();
  }
  const eval::EvalResult fr = ev_->evaluate(ue, ie, targets_, users_);
  c.forget_recall = eval::metric(fr.metrics, "Recall@20");
  c.forget_users = fr.users;
  if (has_test_) {
    const eval::EvalResult tr = ev_->evaluate(ue, ie, test_items_, users_);
    c.test_recall = eval::metric(tr.metrics, "Recall@20");
    c.test_users = tr.users;
  }
  // Reference: test recall for users who keep data, the uninformed level (below) for those who do not.
  double with_sum = 0.0;
  int64_t with_n = 0;
  if (!with_data_.empty()) {
    const eval::EvalResult wr = ev_->evaluate(ue, ie, test_items_, with_data_);
    with_sum = eval::metric(wr.metrics, "Recall@20") * static_cast<double>(wr.users);
    with_n = wr.users;
  }
  c.users_without_data = static_cast<int64_t>(without_data_.size());
  double uninformed_sum = 0.0;
  // Uninformed level for users left without data: the expected recall of their forget targets when the
  // user vector carries no information, i.e. is a random direction (what gold has: an untrained initial
  // embedding), ranked against this model's item embeddings. Recall is linear in the hits, so the mean over
  // directions is sum over targets of (directions with the item in their top 20) / (directions * |targets|).
  // 1024 fixed directions: with 64 the estimate moved by ~5% between runs at Baby scale.
  if (!without_data_.empty()) {
    constexpr int64_t kDirs = 1024, kTop = 20;
    const int64_t n_items = ie.rows(), d = ie.cols();
    std::vector<float> dirs(static_cast<size_t>(kDirs * d));
    Rng rng(0x5eed);
    for (auto& x : dirs) x = static_cast<float>(rng.normal());
    // Scores and top 20 on the model's device; only the [kDirs, 20] indices come back.
    const Tensor sc = ops::matmul(Tensor::from_vector(dirs, {kDirs, d}, ie.device()).astype(ie.dtype()), ie, false, true);
    Tensor top_vals, top_idx;
    ops::topk_rows(sc, std::min(kTop, n_items), top_vals, top_idx);
    std::vector<int64_t> in_top(static_cast<size_t>(n_items), 0);  // directions ranking the item in their top 20
    for (int32_t i : top_idx.to_vector<int32_t>()) ++in_top[static_cast<size_t>(i)];
    for (int32_t u : without_data_) {
      int64_t hits = 0;
      for (int32_t p = targets_.indptr[u]; p < targets_.indptr[u + 1]; ++p) hits += in_top[static_cast<size_t>(targets_.items[p])];
      uninformed_sum += static_cast<double>(hits) / static_cast<double>(kDirs * std::max(1, targets_.degree(u)));
    }
  }
  const double n = static_cast<double>(with_n + c.users_without_data);
  c.reference = n > 0 ? (with_sum + uninformed_sum) / n : c.test_recall;
  return c;
}

ForgetCheck forget_check(models::Model& model, const RequestView& view, const datasets::Interactions& forget) {
  return ForgetChecker(view, forget, model.device()).check(model);
}

namespace {

// Gold: a fresh model (same config and seed as the original) trained on D_r by the MMRec trainer.
UnlearnResult run_gold(std::unique_ptr<models::Model>& model, const std::string& model_name, const models::Config& config,
                       const RequestView& view, const UnlearnOptions& opt, std::ostream& log) {
  const auto t0 = Clock::now();
  UnlearnResult r;
  r.method = "gold";
  const Device dev = model->device();
  training::TrainOptions to = training::TrainOptions::from_config(config);
  to.quiet = opt.quiet;
  to.progress = false;
  if (opt.epochs > 0) to.epochs = opt.epochs;  // only to shorten tests; the default keeps the original's
  auto fresh = models::create_model(model_name, config, view.retain, to.seed, dev);
  training::Trainer tr(*fresh, view.retain, view.current.valid, view.current.test, to, &log);
  const training::TrainResult res = tr.train();
  model = std::move(fresh);
  r.epochs_run = res.epochs_run;
  r.stop_reason = res.stop_reason;
  r.seconds = since(t0);
  r.extra["best_epoch"] = res.best_epoch;
  r.extra["best_valid_score"] = res.best_valid_score;
  r.extra["train_seconds"] = res.train_seconds;
  r.extra["eval_seconds"] = res.eval_seconds;
  for (const auto& e : res.epochs) {
    EpochLog l;
    l.epoch = e.epoch;
    l.loss = e.train_loss;
    r.epochs.push_back(l);
  }
  return r;
}

}  // namespace

void check_options(const UnlearnOptions& opt, const RequestView& view) {
  if (opt.method == Method::Gold) {  // gold retrains with the original configuration and early stopping
    LETHE_CHECK(!opt.until_forgotten, "unlearning: gold retrains with the original early stopping; --until-forgotten does not apply");
    return;
  }
  const bool has_forget = !view.step_forget.empty();
  LETHE_CHECK(opt.epochs > 0 || opt.until_forgotten,
              "unlearning: give a number of epochs (> 0) or the until-forgotten rule");
  LETHE_CHECK(!(opt.epochs > 0 && opt.until_forgotten), "unlearning: give either --epochs or --until-forgotten, not both");
  LETHE_CHECK(!opt.until_forgotten || opt.max_epochs > 0, "unlearning: --max-epochs must be > 0, got " << opt.max_epochs);
  LETHE_CHECK(has_forget || !opt.until_forgotten,
              "unlearning: a " << unlearning::request_kind_name(view.kind)
                               << " request has no forget set of interactions; until-forgotten does not apply (use --epochs)");
  LETHE_CHECK(has_forget || opt.method != Method::NegGrad,
              "unlearning: neggrad needs a forget set of interactions; a " << unlearning::request_kind_name(view.kind)
                                                                            << " request has none");
  LETHE_CHECK(opt.batch_size >= 1, "unlearning: batch size must be >= 1");
  LETHE_CHECK(opt.lr > 0, "unlearning: learning rate must be > 0");
  LETHE_CHECK(opt.own_rows_lr_factor > 0 && std::isfinite(opt.own_rows_lr_factor),
              "unlearning: the own-rows learning-rate factor must be > 0, got " << opt.own_rows_lr_factor);
  LETHE_CHECK(opt.alpha >= 0 && opt.beta >= 0 && opt.alpha + opt.beta > 0,
              "unlearning: alpha and beta must be >= 0 and not both 0");
}

UnlearnResult run_method(std::unique_ptr<models::Model>& model, const std::string& model_name,
                         const models::Config& config, const RequestView& view, const UnlearnOptions& opt) {
  LETHE_CHECK(model != nullptr, "unlearning: no model");
  std::ostream& log = opt.log ? *opt.log : std::cout;
  check_options(opt, view);
  if (opt.method == Method::Gold) return run_gold(model, model_name, config, view, opt, log);

  const bool has_forget = !view.step_forget.empty();
  const auto t0 = Clock::now();
  UnlearnResult r;
  r.method = method_name(opt.method);
  models::Model& m = *model;
  const Device dev = m.device();

  // 1. Every derived structure from D_r (graphs, kNN, pruning weights), and no erased feature in the params.
  m.set_data(view.retain);
  r.extra["feature_rows_reset"] = reset_feature_parameters(m, view);

  // 2. Samplers. Retain batches: negatives as in training, excluding the user's retained items. Forget
  // triples: j uniform over retained train items u has not interacted with (we also exclude u's forgotten
  // items, which are being pushed down themselves).
  datasets::BprSampler retain_s = datasets::BprSampler::for_training(view.retain.train, view.retain.n_users, opt.batch_size);
  datasets::Interactions seen = view.retain.train;
  for (size_t k = 0; k < view.step_forget.size(); ++k) seen.push(view.step_forget.users[k], view.step_forget.items[k]);
  const std::vector<int32_t> pool = datasets::unique_items(view.retain.train);
  LETHE_CHECK(!pool.empty(), "unlearning: the retain set is empty");
  datasets::BprSampler forget_s(view.step_forget, datasets::UserItems::build(seen, view.retain.n_users), pool, opt.batch_size);

  autograd::Adam adam(param_vars(m), opt.lr);  // fresh state
  // Users of this step left with no training data (user requests): their rows take the own-rows step, and
  // when the step has only such users the until-forgotten reference estimates gold's own level, so the
  // landing applies (for users who keep data it is their held-out recall, which gold can lie far below).
  const ForgetChecker checker(view, view.step_forget, dev);
  const std::vector<int32_t>& own = checker.users_without_data();
  const bool only_own = checker.all_without_data();
  if (opt.method == Method::MMRecUn && has_forget) {
    r.extra["own_rows"] = static_cast<int64_t>(own.size());
    r.extra["own_rows_lr_factor"] = opt.own_rows_lr_factor;
    if (!own.empty() && opt.own_rows_lr_factor != 1.0) {
      const std::string table = m.user_table();
      for (auto& [name, p] : m.parameters())
        if (name == table) adam.set_row_lr_factor(p, Tensor::from_vector(own, Shape{static_cast<int64_t>(own.size())}, dev), opt.own_rows_lr_factor);
    }
  }
  Rng retain_rng = Rng(opt.seed).fork(77);
  retain_s.shuffle(retain_rng);
  int64_t retain_next = 0;
  auto next_retain = [&]() {
    if (retain_next >= retain_s.num_batches()) {
      retain_s.shuffle(retain_rng);
      retain_next = 0;
    }
    return to_batch(retain_s.batch(retain_next++, retain_rng), dev);
  };

  const bool fwd_only = opt.method == Method::Finetune || !has_forget;  // modality requests: forward term alone
  const int64_t cap = opt.until_forgotten ? opt.max_epochs : opt.epochs;
  r.stop_reason = opt.until_forgotten ? "max-epochs" : "epochs";
  double untimed = 0.0;
  const bool land = opt.until_forgotten && opt.landing && only_own;
  std::vector<Tensor> epoch_start;  // parameter values before the epoch (for the landing)
  for (int64_t e = 0; e < cap; ++e) {
    Rng rng = Rng(opt.seed).fork(5000 + static_cast<uint64_t>(e));
    if (land) {
      epoch_start.clear();
      for (const autograd::Var& p : adam.params()) epoch_start.push_back(p.value().clone());
    }
    m.pre_epoch(rng);
    int64_t nb;
    if (fwd_only) {
      nb = retain_s.num_batches();  // one epoch = one pass over D_r
      retain_s.shuffle(retain_rng);
      retain_next = 0;
    } else {
      forget_s.shuffle(rng);
      nb = forget_s.num_batches();  // one epoch = one pass over D_f
    }
    double loss_sum = 0.0;
    for (int64_t b = 0; b < nb; ++b) {
      adam.zero_grad();
      const models::Forward f = m.forward(true);  // one forward shared by both terms
      autograd::Var loss;
      if (fwd_only) {
        loss = m.loss(f, next_retain());
      } else {
        const models::Batch bf = to_batch(forget_s.batch(b, rng), dev);
        auto [s_i, s_j] = batch_scores(f, bf);
        if (opt.method == Method::NegGrad) {
          // Gradient ascent on BPR over the forget set: minimise +ln sigmoid(s_i - s_j).
          loss = autograd::scale(models::bpr_loss_logsigmoid(s_i, s_j), -1.0);
        } else {
          // L_rev = mean -ln sigmoid(s_j - s_i); L_fwd = the backbone's own loss on a retain batch.
          loss = autograd::scale(models::bpr_loss_logsigmoid(s_j, s_i), opt.alpha);
          if (opt.beta > 0) loss = autograd::add(loss, autograd::scale(m.loss(f, next_retain()), opt.beta));
        }
      }
      autograd::backward(loss);
      adam.step();
      const double lv = loss.value().item();
      LETHE_CHECK(std::isfinite(lv), "unlearning: non-finite loss " << lv << " at epoch " << e << ", step " << b);
      loss_sum += lv;
      ++r.steps;
    }
    EpochLog el;
    el.epoch = e;
    el.loss = loss_sum;
    r.epochs_run = e + 1;
    bool stop = false;
    if (has_forget && (opt.until_forgotten || !opt.quiet)) {
      const auto tc = Clock::now();
      const ForgetCheck c = checker.check(m);
      // Part of the method under until-forgotten; only a progress line otherwise (not timed).
      if (!opt.until_forgotten) untimed += since(tc);
      stop = opt.until_forgotten && c.forget_recall <= c.reference;
      ForgetCheck landed = c;
      if (stop && land && c.forget_recall < c.reference) {
        const double frac = land_on_reference(adam.params(), epoch_start, [&] { return checker.check(m); }, landed);
        r.extra["landing_fraction"] = frac;
        r.extra["forget_recall_before_landing"] = c.forget_recall;
      }
      el.forget_recall = landed.forget_recall;
      el.test_recall = landed.test_recall;
      el.reference = landed.reference;
    }
    el.seconds = since(t0) - untimed;
    r.epochs.push_back(el);
    if (!opt.quiet) {
      std::ostringstream s;
      s << "  " << r.method << " epoch " << e << " [time: " << el.seconds << "s, loss: " << loss_sum << "]";
      if (el.forget_recall >= 0)
        s << " forget recall@20 " << el.forget_recall << " (reference " << el.reference << "; same users' test recall@20 "
          << el.test_recall << ")";
      log << s.str() << "\n" << std::flush;
    }
    if (stop) {
      r.stop_reason = "until-forgotten";
      break;
    }
  }
  r.seconds = since(t0) - untimed;
  return r;
}

}  // namespace lethe::unlearning
