// Running an unlearning method on the one training loop (methods.h): the rebuild from D_r, the batch
// sources, the method's hooks (mmrecun.cpp, baselines.cpp), the stop rule (stop_rules.h) and the result.
#include "models/unlearning/methods.h"

#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

#include "engine/comm/communicator.h"
#include "engine/error.h"
#include "engine/profile.h"
#include "models/eval/score_rows.h"
#include "models/sharded.h"
#include "models/unlearning/method_parts.h"
#include "models/unlearning/stop_rules.h"

namespace lethe::unlearning {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

models::Batch to_batch(const datasets::BprBatch& b, Device dev) {
  const Shape s{static_cast<int64_t>(b.size())};
  models::Batch out;
  out.users = Tensor::from_vector(b.users, s, dev);
  out.pos = Tensor::from_vector(b.pos, s, dev);
  out.neg = Tensor::from_vector(b.neg, s, dev);
  return out;
}

datasets::BprSampler forget_sampler(const RequestView& view, int64_t batch_size) {
  datasets::Interactions seen = view.retain.train;
  for (size_t k = 0; k < view.step_forget.size(); ++k)
    seen.push(view.step_forget.users[k], view.step_forget.items[k]);
  const std::vector<int32_t> pool = datasets::unique_items(view.retain.train);
  LETHE_CHECK(!pool.empty(), "unlearning: the retain set is empty");
  return datasets::BprSampler(view.step_forget, datasets::UserItems::build(seen, view.retain.n_users), pool,
                              batch_size);
}

// Whether the model declares a use of a modality with erased rows in the view.
bool reads_erased_modality(const models::Model& m, const RequestView& view) {
  for (const models::ModalityUse& use : m.modality_uses())
    if (view.erased.count(use.modality)) return true;
  return false;
}

}  // namespace

namespace detail {

Batches::Batches(const RequestView& view, const UnlearnOptions& opt, Device dev)
    : dev_(dev),
      retain_(datasets::BprSampler::for_training(view.retain.train, view.retain.n_users, opt.batch_size)),
      forget_(forget_sampler(view, opt.batch_size)),
      retain_rng_(Rng(opt.seed).fork(77)) {
  retain_.shuffle(retain_rng_);
  if (opt.method == Method::MMRecUn && opt.pair_gate && !view.step_forget.empty()) {
    retained_ = datasets::UserItems::build(view.retain.train, view.retain.n_users);
    gate_pairs_ = pairs_keeping_data(view, view.step_forget);
    for (size_t k = 0; k < gate_pairs_.size(); ++k)
      gate_index_[(static_cast<int64_t>(gate_pairs_.users[k]) << 32) | gate_pairs_.items[k]] = k;
    gate_.assign(gate_pairs_.size(), 1.0f);
  }
}

double Batches::update_pair_gate(const Tensor& user_emb, const Tensor& item_emb) {
  if (gate_pairs_.empty()) return 0.0;
  const std::vector<double> own = eval::pair_rank_percentiles(user_emb, item_emb, gate_pairs_);
  // Each user's vector: the mean of its retained items' final embeddings (the user-side level's).
  const Tensor um = retained_item_means(item_emb.to(Device::cpu()).astype(DType::F32).to_vector<float>(),
                                        item_emb.cols(), retained_, datasets::unique_users(gate_pairs_),
                                        user_emb.rows(), item_emb.device(), item_emb.dtype());
  const std::vector<double> ref = eval::pair_rank_percentiles(um, item_emb, gate_pairs_);
  double open = 0;
  for (size_t k = 0; k < gate_.size(); ++k) {
    gate_[k] = own[k] > ref[k] ? 1.0f : 0.0f;
    open += gate_[k];
  }
  return open / static_cast<double>(gate_.size());
}

Tensor Batches::pair_gate(const models::Batch& bf) const {
  const std::vector<int32_t> users = bf.users.to(Device::cpu()).to_vector<int32_t>(),
                             items = bf.pos.to(Device::cpu()).to_vector<int32_t>();
  std::vector<float> g(users.size(), 1.0f);
  for (size_t k = 0; k < g.size(); ++k) {
    const auto it = gate_index_.find((static_cast<int64_t>(users[k]) << 32) | items[k]);
    if (it != gate_index_.end()) g[k] = gate_[it->second];
  }
  return Tensor::from_vector(g, Shape{static_cast<int64_t>(g.size())}, dev_);
}

models::Batch Batches::next_retain() {
  if (retain_next_ >= retain_.num_batches()) {
    retain_.shuffle(retain_rng_);
    retain_next_ = 0;
  }
  return to_batch(retain_.batch(retain_next_++, retain_rng_), dev_);
}

int64_t Batches::restart_retain() {
  retain_.shuffle(retain_rng_);
  retain_next_ = 0;
  return retain_.num_batches();
}

int64_t Batches::begin_forget_epoch(Rng& rng) {
  forget_.shuffle(rng);
  return forget_.num_batches();
}

models::Batch Batches::forget_batch(int64_t b, Rng& rng) { return to_batch(forget_.batch(b, rng), dev_); }

}  // namespace detail

Method parse_method(const std::string& s) {
  if (s == "mmrecun") return Method::MMRecUn;
  if (s == "gold") return Method::Gold;
  if (s == "finetune") return Method::Finetune;
  if (s == "neggrad") return Method::NegGrad;
  if (s == "sisa") return Method::Sisa;
  if (s == "influence") return Method::Influence;
  LETHE_CHECK(false,
              "unknown unlearning method '" << s << "' (mmrecun, gold, finetune, neggrad, sisa, influence)");
  return Method::MMRecUn;
}

const char* method_name(Method m) {
  switch (m) {
    case Method::MMRecUn:
      return "mmrecun";
    case Method::Gold:
      return "gold";
    case Method::Finetune:
      return "finetune";
    case Method::NegGrad:
      return "neggrad";
    case Method::Sisa:
      return "sisa";
    case Method::Influence:
      return "influence";
  }
  return "?";
}

void check_options(const UnlearnOptions& opt, const RequestView& view) {
  if (opt.method == Method::Gold ||
      opt.method == Method::Sisa) {  // retraining with the original early stopping
    LETHE_CHECK(!opt.until_forgotten,
                "unlearning: " << method_name(opt.method)
                               << " retrains with the original early stopping; until-forgotten "
                                  "does not apply");
    return;
  }
  const bool has_forget = !view.step_forget.empty();
  if (opt.method == Method::Influence) {  // one closed-form step: no epochs, no stop rule
    LETHE_CHECK(has_forget, "unlearning: influence needs a forget set of interactions; a "
                                << request_kind_name(view.kind) << " request has none");
    LETHE_CHECK(opt.epochs == 0 && !opt.until_forgotten,
                "unlearning: influence is one step (a conjugate-gradient solve); epochs and until-forgotten "
                "do not apply");
    LETHE_CHECK(opt.damping >= 0 && std::isfinite(opt.damping),
                "unlearning: damping must be >= 0, got " << opt.damping);
    LETHE_CHECK(opt.cg_max_iter >= 1, "unlearning: CG iterations must be >= 1, got " << opt.cg_max_iter);
    LETHE_CHECK(opt.cg_tol > 0, "unlearning: CG tolerance must be > 0, got " << opt.cg_tol);
    LETHE_CHECK(opt.batch_size >= 1, "unlearning: batch size must be >= 1");
    return;
  }
  LETHE_CHECK(opt.epochs > 0 || opt.until_forgotten,
              "unlearning: give a number of epochs (> 0) or the until-forgotten rule");
  LETHE_CHECK(!(opt.epochs > 0 && opt.until_forgotten),
              "unlearning: give either a number of epochs or the until-forgotten rule, not both");
  LETHE_CHECK(!opt.until_forgotten || opt.max_epochs > 0,
              "unlearning: the until-forgotten cap (max epochs) must be > 0, got " << opt.max_epochs);
  LETHE_CHECK(
      has_forget || !opt.until_forgotten,
      "unlearning: a " << request_kind_name(view.kind)
                       << " request has no forget set of interactions; until-forgotten does not apply "
                          "(give a number of epochs)");
  LETHE_CHECK(has_forget || opt.method != Method::NegGrad,
              "unlearning: neggrad needs a forget set of interactions; a " << request_kind_name(view.kind)
                                                                           << " request has none");
  LETHE_CHECK(opt.batch_size >= 1, "unlearning: batch size must be >= 1");
  LETHE_CHECK(opt.lr > 0, "unlearning: learning rate must be > 0");
  LETHE_CHECK(opt.own_rows_lr_factor > 0 && std::isfinite(opt.own_rows_lr_factor),
              "unlearning: the own-rows learning-rate factor must be > 0, got " << opt.own_rows_lr_factor);
  LETHE_CHECK(opt.alpha >= 0 && opt.beta >= 0 && opt.alpha + opt.beta > 0,
              "unlearning: alpha and beta must be >= 0 and not both 0");
  LETHE_CHECK(opt.sensitive_layers >= 0,
              "unlearning: the number of sensitive layers must be >= 0, got " << opt.sensitive_layers);
  LETHE_CHECK(
      opt.sensitive_layers == 0 || (opt.method == Method::MMRecUn && !opt.confine && has_forget),
      "unlearning: sensitive layers apply to mmrecun with --unconfined on a request with a forget set "
      "(confined updates already move only the forget set's ID rows)");
  LETHE_CHECK(
      !opt.branch_scaling || (opt.method == Method::MMRecUn && !opt.confine && has_forget),
      "unlearning: branch scaling applies to mmrecun with --unconfined on a request with a forget set "
      "(confined updates move no modality branch)");
}

namespace {

// Refuses a method the model or the ranks cannot run: sisa without shards, a sharded model by anything but
// sisa or gold, sisa or influence on several ranks.
void check_method_fits(const models::Model& model, const std::string& model_name,
                       const models::Config& config, const UnlearnOptions& opt) {
  const bool sharded = dynamic_cast<const models::ShardedModel*>(&model) != nullptr;
  LETHE_CHECK(opt.method != Method::Sisa || sharded,
              "unlearning: sisa needs a sharded original (config key shards > 1); this "
                  << model_name << " model has one shard");
  LETHE_CHECK(!sharded || opt.method == Method::Sisa || opt.method == Method::Gold,
              "unlearning: a sharded model (" << config.get_int("shards")
                                              << " shards) is unlearned by sisa or gold, not "
                                              << method_name(opt.method));
  // sisa's shard loop and influence's conjugate gradients are not split over ranks yet (docs/scaling.md).
  LETHE_CHECK(comm::world().size() == 1 || (opt.method != Method::Sisa && opt.method != Method::Influence),
              "unlearning: " << method_name(opt.method)
                             << " is not data-parallel yet; run it with one rank, not "
                             << comm::world().size());
}

// 1. Every derived structure from D_r (graphs, kNN, pruning weights), and no erased feature in the params.
void rebuild(models::Model& m, const RequestView& view, UnlearnResult& r) {
  LETHE_PROFILE_SCOPE("phase:rebuild");
  m.set_data(view.retain);
  r.extra["feature_rows_reset"] = reset_feature_parameters(m, view);
}

// 2. The loop's options: a fresh Adam (lr, no schedule, no weight decay), the method's own random stream, no
//    evaluation of its own (the stop rule below measures what it needs).
training::TrainOptions loop_options(const UnlearnOptions& opt, const std::string& method) {
  training::TrainOptions to;
  to.epochs = opt.until_forgotten ? opt.max_epochs : opt.epochs;
  to.batch_size = opt.batch_size;
  to.lr = opt.lr;
  to.seed = opt.seed;
  to.epoch_stream = 5000;
  to.eval_test = false;
  to.quiet = opt.quiet;
  to.progress = false;
  to.log_name = method + " ";
  to.comm = opt.comm;
  return to;
}

// The method's hooks: the forward term alone (finetune, modality requests), neggrad's, or MMRecUn's.
training::TrainHooks method_hooks(detail::Batches& batches, const UnlearnOptions& opt, bool has_forget) {
  const bool fwd_only = opt.method == Method::Finetune || !has_forget;  // modality requests: L_fwd alone
  return fwd_only                        ? detail::forward_only_hooks(batches)
         : opt.method == Method::NegGrad ? detail::neggrad_hooks(batches)
                                         : detail::mmrecun_hooks(batches, opt);
}

// Copies the reference candidates a check measured (those >= 0) into an epoch's log.
void add_candidates(EpochLog& el, const ForgetCheck& c) {
  for (const auto& [key, v] : {std::pair{"no_data", c.ref_no_data},
                               {"retained", c.ref_retained},
                               {"two_sided", c.ref_two_sided},
                               {"heldout", c.ref_heldout},
                               {"item_rank", c.item_rank},
                               {"item_rank_reference", c.item_rank_reference},
                               {"pair_rank", c.pair_rank},
                               {"pair_rank_reference", c.pair_rank_reference},
                               {"recall_floor", c.recall_floor}})
    if (v >= 0) el.candidates[key] = v;
}

// 4. The stop rule, checked after every epoch: until-forgotten (part of the method's time), or a progress
//    line only (not timed); with the landing, the parameters before each epoch.
class StopRule {
 public:
  StopRule(models::Model& m, const ForgetChecker& checker, const UnlearnOptions& opt, bool has_forget,
           Clock::time_point t0, UnlearnResult& r, std::ostream& log)
      : m_(m), checker_(checker), opt_(opt), has_forget_(has_forget), t0_(t0), r_(r), log_(log) {
    r_.stop_reason = opt_.until_forgotten ? "max-epochs" : "epochs";
    land_ = opt_.until_forgotten && opt_.landing &&
            (opt_.reference != Reference::HeldOut || checker_.all_without_data());
    for (auto& [name, p] : m_.parameters()) params_.push_back(p);
  }

  // Installs the rule's hooks (the snapshot before each epoch only when it lands).
  void install(training::TrainHooks& hooks) {
    if (land_) hooks.epoch_begin = [this](int64_t) { snapshot(); };
    hooks.on_epoch = [this](const training::EpochRecord& rec) { return on_epoch(rec); };
  }

  double untimed() const { return untimed_; }

 private:
  // The parameter values before the epoch (for the landing).
  void snapshot() {
    epoch_start_.clear();
    for (const autograd::Var& p : params_) epoch_start_.push_back(p.value().clone());
  }

  // Logs the epoch and returns whether training goes on.
  bool on_epoch(const training::EpochRecord& rec) {
    EpochLog el;
    el.epoch = rec.epoch;
    el.loss = rec.train_loss;
    r_.epochs_run = rec.epoch + 1;
    r_.steps += rec.batches;
    bool stop = false;
    if (has_forget_ && (opt_.until_forgotten || !opt_.quiet)) stop = check_forgotten(el);
    el.seconds = since(t0_) - untimed_;
    r_.epochs.push_back(el);
    if (stop) r_.stop_reason = "until-forgotten";
    return !stop;
  }

  // Measures the forget set (landing on the reference when it stops below it), fills el, prints the progress
  // line; returns whether until-forgotten stops here.
  bool check_forgotten(EpochLog& el) {
    const auto tc = Clock::now();
    ForgetCheck c;
    {
      LETHE_PROFILE_SCOPE("phase:forget_check");
      c = checker_.check(m_, !opt_.until_forgotten);  // progress lines carry the diagnostics
    }
    if (!opt_.until_forgotten) untimed_ += since(tc);
    const bool stop = opt_.until_forgotten && c.forgotten();
    ForgetCheck landed = c;
    if (stop && land_ && c.overshot()) {
      LETHE_PROFILE_SCOPE("phase:landing");
      r_.extra["landing_fraction"] = land_on_reference(
          params_, epoch_start_, [&] { return checker_.check(m_, false); }, landed);
      r_.extra["forget_recall_before_landing"] = c.forget_recall;
    }
    if (stop) {
      r_.extra["stopped_on"] = landed.decided_by();
      // The weaker evidence is said even with --quiet (on stderr then, by rank 0 alone): the recall is at its
      // floor, but the pairs still rank above what their users' retained data supports, which an attack can
      // read.
      if (landed.decided_by() == "recall floor" && (!opt_.quiet || comm::world().rank() == 0))
        (opt_.quiet ? std::cerr : log_)
            << "  warning: stopped at the recall floor: the forget pairs still rank above their users' "
               "retained data (pair rank "
            << landed.pair_rank << " against " << landed.pair_rank_reference
            << "); --no-recall-floor waits for the rank (docs/unlearning.md, \"Recall floor\")\n";
    }
    el.forget_recall = landed.forget_recall;
    el.test_recall = landed.test_recall;
    el.reference = landed.reference;
    add_candidates(el, landed);
    if (!opt_.quiet) {
      std::ostringstream s;
      s << "  forget recall@20 " << el.forget_recall << " (reference " << el.reference
        << "; same users' test recall@20 " << el.test_recall << "; candidates " << el.candidates.dump()
        << ")";
      log_ << s.str() << "\n" << std::flush;
    }
    return stop;
  }

  models::Model& m_;
  const ForgetChecker& checker_;
  const UnlearnOptions& opt_;
  const bool has_forget_;
  const Clock::time_point t0_;
  UnlearnResult& r_;
  std::ostream& log_;
  bool land_ = false;
  std::vector<Tensor> epoch_start_;  // parameter values before the epoch (for the landing)
  std::vector<autograd::Var> params_;
  double untimed_ = 0.0;
};

// Runs finetune, neggrad or MMRecUn on the one training loop.
UnlearnResult run_on_loop(models::Model& m, const std::string& model_name, const RequestView& view,
                          const UnlearnOptions& opt, std::ostream& log) {
  const bool has_forget = !view.step_forget.empty();
  const auto t0 = Clock::now();
  UnlearnResult r;
  r.method = method_name(opt.method);
  const Device dev = m.device();
  rebuild(m, view, r);

  // A modality request the model never read (LightGCN and an image request): no parameter and no structure
  // was built from the erased rows, so the model after the rebuild already is the model trained without them
  // (gold retrains to the same values); any training here would only move it away from gold.
  // docs/unlearning.md, "Modality requests".
  if (!has_forget && view.dropped_items.empty() && !reads_erased_modality(m, view)) {
    r.stop_reason = "model-unaffected";
    r.seconds = since(t0);
    if (!opt.quiet)
      log << r.method << ": " << model_name
          << " reads none of the erased modalities; nothing to erase, no training\n";
    return r;
  }

  training::Trainer trainer(m, view.retain, {}, {}, loop_options(opt, r.method), &log);
  detail::Batches batches(view, opt, dev);
  training::TrainHooks hooks = method_hooks(batches, opt, has_forget);

  // 3. MMRecUn: the ID-table rows the forget set shaped are the only ones that move (unless unconfined),
  //    each at lr x max(1, factor x the share of its data the request removed). The until-forgotten
  //    reference estimates gold's level for every kind (stop_rules.h), so the landing applies to every kind;
  //    under the plain held-out reference only where every user of the step is left without data.
  ForgetChecker checker(view, view.step_forget, dev, opt.reference);
  checker.set_pair_rank(opt.pair_rank);
  checker.set_recall_floor(opt.recall_floor);
  if (has_forget) checker.fix_item_rank_reference(m);  // before any row moves (stop_rules.h)
  if (opt.method == Method::MMRecUn && has_forget) {
    const detail::ForgetRows rows = detail::forget_rows(view);
    if (opt.confine) r.extra["trainable_rows"] = detail::confine_to_forget_rows(trainer, m, rows);
    if (opt.sensitive_layers > 0)
      r.extra["sensitive_layers"] = detail::confine_to_sensitive_layers(trainer, m, batches, opt);
    if (opt.branch_scaling)
      r.extra["branch_scaling"] = detail::scale_modality_branches(trainer, m, batches, opt);
    r.extra["faster_rows"] = detail::apply_share_factors(trainer, m, rows, opt.own_rows_lr_factor);
    r.extra["own_rows_lr_factor"] = opt.own_rows_lr_factor;
  } else if (opt.method == Method::MMRecUn && opt.confine && !view.erased.empty()) {
    // Modality requests: only the erased items' rows move (docs/unlearning.md, "Confined updates").
    r.extra["trainable_rows"] = detail::confine_to_erased_rows(trainer, m, view);
  }

  StopRule rule(m, checker, opt, has_forget, t0, r, log);
  rule.install(hooks);
  trainer.train(hooks);
  r.seconds = since(t0) - rule.untimed();
  // The final state with every diagnostic, for the log (not timed: the method is done).
  if (has_forget && opt.until_forgotten && !r.epochs.empty()) {
    const ForgetCheck c = checker.check(m, true);
    EpochLog& el = r.epochs.back();
    el.test_recall = c.test_recall;
    add_candidates(el, c);
  }
  return r;
}

}  // namespace

UnlearnResult run_method(std::unique_ptr<models::Model>& model, const std::string& model_name,
                         const models::Config& config, const RequestView& view, const UnlearnOptions& opt) {
  LETHE_CHECK(model != nullptr, "unlearning: no model");
  std::ostream& log = opt.log ? *opt.log : std::cout;
  check_options(opt, view);
  check_method_fits(*model, model_name, config, opt);
  if (opt.method == Method::Gold) return detail::run_gold(model, model_name, config, view, opt, log);
  if (opt.method == Method::Sisa) return detail::run_sisa(model, config, view, opt, log);
  if (opt.method == Method::Influence) return detail::run_influence(*model, view, opt);
  return run_on_loop(*model, model_name, view, opt, log);
}

}  // namespace lethe::unlearning
