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
}

UnlearnResult run_method(std::unique_ptr<models::Model>& model, const std::string& model_name,
                         const models::Config& config, const RequestView& view, const UnlearnOptions& opt) {
  LETHE_CHECK(model != nullptr, "unlearning: no model");
  std::ostream& log = opt.log ? *opt.log : std::cout;
  check_options(opt, view);
  const bool sharded = dynamic_cast<models::ShardedModel*>(model.get()) != nullptr;
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
  if (opt.method == Method::Gold) return detail::run_gold(model, model_name, config, view, opt, log);
  if (opt.method == Method::Sisa) return detail::run_sisa(model, config, view, opt, log);
  if (opt.method == Method::Influence) return detail::run_influence(*model, view, opt);

  const bool has_forget = !view.step_forget.empty();
  const auto t0 = Clock::now();
  UnlearnResult r;
  r.method = method_name(opt.method);
  models::Model& m = *model;
  const Device dev = m.device();

  // 1. Every derived structure from D_r (graphs, kNN, pruning weights), and no erased feature in the params.
  {
    LETHE_PROFILE_SCOPE("phase:rebuild");
    m.set_data(view.retain);
    r.extra["feature_rows_reset"] = reset_feature_parameters(m, view);
  }

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

  // 2. The loop: a fresh Adam (lr, no schedule, no weight decay), the method's own random stream, no
  //    evaluation of its own (the stop rule below measures what it needs).
  training::TrainOptions to;
  to.epochs = opt.until_forgotten ? opt.max_epochs : opt.epochs;
  to.batch_size = opt.batch_size;
  to.lr = opt.lr;
  to.seed = opt.seed;
  to.epoch_stream = 5000;
  to.eval_test = false;
  to.quiet = opt.quiet;
  to.progress = false;
  to.log_name = r.method + " ";
  to.comm = opt.comm;
  training::Trainer trainer(m, view.retain, {}, {}, to, &log);
  detail::Batches batches(view, opt, dev);
  const bool fwd_only = opt.method == Method::Finetune || !has_forget;  // modality requests: L_fwd alone
  training::TrainHooks hooks = fwd_only                        ? detail::forward_only_hooks(batches)
                               : opt.method == Method::NegGrad ? detail::neggrad_hooks(batches)
                                                               : detail::mmrecun_hooks(batches, opt);

  // 3. MMRecUn: the ID-table rows the forget set shaped are the only ones that move (unless unconfined),
  //    each at lr x max(1, factor x the share of its data the request removed). The until-forgotten
  //    reference estimates gold's level for every kind (stop_rules.h), so the landing applies to every kind;
  //    under the plain held-out reference only where every user of the step is left without data.
  const ForgetChecker checker(view, view.step_forget, dev, opt.reference);
  if (opt.method == Method::MMRecUn && has_forget) {
    const detail::ForgetRows rows = detail::forget_rows(view);
    if (opt.confine) r.extra["trainable_rows"] = detail::confine_to_forget_rows(trainer, m, rows);
    r.extra["faster_rows"] = detail::apply_share_factors(trainer, m, rows, opt.own_rows_lr_factor);
    r.extra["own_rows_lr_factor"] = opt.own_rows_lr_factor;
  }

  // 4. The stop rule, checked after every epoch: until-forgotten (part of the method's time), or a
  //    progress line only (not timed).
  r.stop_reason = opt.until_forgotten ? "max-epochs" : "epochs";
  const bool land = opt.until_forgotten && opt.landing &&
                    (opt.reference == Reference::Retained || checker.all_without_data());
  std::vector<Tensor> epoch_start;  // parameter values before the epoch (for the landing)
  std::vector<autograd::Var> params;
  for (auto& [name, p] : m.parameters()) params.push_back(p);
  double untimed = 0.0;
  if (land)
    hooks.epoch_begin = [&](int64_t) {
      epoch_start.clear();
      for (const autograd::Var& p : params) epoch_start.push_back(p.value().clone());
    };
  hooks.on_epoch = [&](const training::EpochRecord& rec) {
    EpochLog el;
    el.epoch = rec.epoch;
    el.loss = rec.train_loss;
    r.epochs_run = rec.epoch + 1;
    r.steps += rec.batches;
    bool stop = false;
    if (has_forget && (opt.until_forgotten || !opt.quiet)) {
      const auto tc = Clock::now();
      ForgetCheck c;
      {
        LETHE_PROFILE_SCOPE("phase:forget_check");
        c = checker.check(m, !opt.until_forgotten);  // progress lines carry the diagnostics
      }
      if (!opt.until_forgotten) untimed += since(tc);
      stop = opt.until_forgotten && c.forget_recall <= c.reference;
      ForgetCheck landed = c;
      if (stop && land && c.forget_recall < c.reference) {
        LETHE_PROFILE_SCOPE("phase:landing");
        r.extra["landing_fraction"] = land_on_reference(
            params, epoch_start, [&] { return checker.check(m, false); }, landed);
        r.extra["forget_recall_before_landing"] = c.forget_recall;
      }
      el.forget_recall = landed.forget_recall;
      el.test_recall = landed.test_recall;
      el.reference = landed.reference;
      for (const auto& [key, v] : {std::pair{"no_data", landed.ref_no_data},
                                   {"retained", landed.ref_retained},
                                   {"heldout", landed.ref_heldout}})
        if (v >= 0) el.candidates[key] = v;
      if (!opt.quiet) {
        std::ostringstream s;
        s << "  forget recall@20 " << el.forget_recall << " (reference " << el.reference
          << "; same users' test recall@20 " << el.test_recall << "; candidates " << el.candidates.dump()
          << ")";
        log << s.str() << "\n" << std::flush;
      }
    }
    el.seconds = since(t0) - untimed;
    r.epochs.push_back(el);
    if (stop) r.stop_reason = "until-forgotten";
    return !stop;
  };
  trainer.train(hooks);
  r.seconds = since(t0) - untimed;
  // The final state with every diagnostic, for the log (not timed: the method is done).
  if (has_forget && opt.until_forgotten && !r.epochs.empty()) {
    const ForgetCheck c = checker.check(m, true);
    EpochLog& el = r.epochs.back();
    el.test_recall = c.test_recall;
    for (const auto& [key, v] :
         {std::pair{"no_data", c.ref_no_data}, {"retained", c.ref_retained}, {"heldout", c.ref_heldout}})
      if (v >= 0) el.candidates[key] = v;
  }
  return r;
}

}  // namespace lethe::unlearning
