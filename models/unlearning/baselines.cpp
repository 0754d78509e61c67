// The baselines MMRecUn is measured against (docs/unlearning.md, "Baselines"), on the same loop:
//   gold      retrain from scratch on D_r with the original configuration and early stopping (exact; a
//             sharded original retrains every shard);
//   finetune  the forward term L_fwd(B_r) alone, from the original parameters;
//   neggrad   gradient ascent on the forget set alone: minimise +ln sigmoid(s(u, i) - s(u, j)).
#include <chrono>

#include "autograd/ops.h"
#include "engine/error.h"
#include "models/losses.h"
#include "models/training/shards.h"
#include "models/unlearning/method_parts.h"

namespace lethe::unlearning::detail {

training::TrainHooks forward_only_hooks(Batches& batches) {
  training::TrainHooks h;
  // One epoch is one pass of the retain stream over D_r; the loss is the model's own (the default).
  h.begin_epoch = [&batches](int64_t, Rng&) { return batches.restart_retain(); };
  h.make_batch = [&batches](int64_t, int64_t, Rng&) { return batches.next_retain(); };
  return h;
}

training::TrainHooks neggrad_hooks(Batches& batches) {
  training::TrainHooks h;
  h.begin_epoch = [&batches](int64_t, Rng& rng) { return batches.begin_forget_epoch(rng); };
  h.make_batch = [&batches](int64_t, int64_t b, Rng& rng) { return batches.forget_batch(b, rng); };
  h.batch_loss = [](models::Model&, const models::Forward& f, const models::Batch& bf, int64_t, int64_t,
                    Rng&) {
    const auto [s_i, s_j] = pair_scores(f, bf);
    return autograd::scale(models::bpr_loss_logsigmoid(s_i, s_j), -1.0);
  };
  return h;
}

UnlearnResult run_gold(std::unique_ptr<models::Model>& model, const std::string& model_name,
                       const models::Config& config, const RequestView& view, const UnlearnOptions& opt,
                       std::ostream& log) {
  const auto t0 = std::chrono::steady_clock::now();
  UnlearnResult r;
  r.method = "gold";
  const Device dev = model->device();
  training::TrainOptions to = training::TrainOptions::from_config(config);
  to.quiet = opt.quiet;
  to.progress = false;
  to.comm = opt.comm;
  if (opt.epochs > 0) to.epochs = opt.epochs;  // only to shorten tests; the default keeps the original's
  auto fresh = models::create_model(model_name, config, view.retain, to.seed, dev);
  training::TrainResult res;
  if (auto* sm = dynamic_cast<models::ShardedModel*>(fresh.get())) {  // a sharded original: every shard
    for (const training::ShardResult& s :
         training::train_shards(*sm, view.retain, view.current.valid, view.current.test, to, &log)) {
      res.epochs_run += s.result.epochs_run;
      res.train_seconds += s.result.train_seconds;
      res.eval_seconds += s.result.eval_seconds;
      res.epochs.insert(res.epochs.end(), s.result.epochs.begin(), s.result.epochs.end());
    }
    res.stop_reason = "shards retrained";
  } else {
    training::Trainer tr(*fresh, view.retain, view.current.valid, view.current.test, to, &log);
    res = tr.train();
  }
  model = std::move(fresh);
  r.epochs_run = res.epochs_run;
  r.stop_reason = res.stop_reason;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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

}  // namespace lethe::unlearning::detail
