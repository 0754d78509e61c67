// SISA (docs/unlearning.md, "SISA"; Bourtoule et al., "Machine Unlearning", S&P 2021, on recommenders as in
// RecEraser, Chen et al., WWW 2022): exact unlearning by shards. The original is a ShardedModel
// (models/sharded.h) whose shards were each trained on their users' rows alone (training/shards.h); a request
// retrains from scratch only the shards holding data it removes, with the original configuration, seeds and
// early stopping. The result is the sharded model trained from scratch on D_r, bit for bit, at the cost of
// the touched shards.
#include <chrono>

#include "engine/error.h"
#include "models/training/shards.h"
#include "models/unlearning/method_parts.h"

namespace lethe::unlearning::detail {

std::vector<int64_t> touched_shards(models::ShardedModel& model, const RequestView& view) {
  std::vector<int64_t> out;
  const bool features_changed = !view.erased.empty() || !view.dropped_items.empty();
  if (features_changed && !model.modality_uses().empty()) {  // every shard reads the changed features
    for (int64_t k = 0; k < model.num_shards(); ++k) out.push_back(k);
    return out;
  }
  std::vector<uint8_t> hit(static_cast<size_t>(model.num_shards()), 0);
  for (size_t r = 0; r < view.step_forget.size(); ++r)
    hit[static_cast<size_t>(model.shard_of(view.step_forget.users[r]))] = 1;
  for (int64_t k = 0; k < model.num_shards(); ++k)
    if (hit[static_cast<size_t>(k)]) out.push_back(k);
  return out;
}

UnlearnResult run_sisa(std::unique_ptr<models::Model>& model, const models::Config& config,
                       const RequestView& view, const UnlearnOptions& opt, std::ostream& log) {
  const auto t0 = std::chrono::steady_clock::now();
  auto* sm = dynamic_cast<models::ShardedModel*>(model.get());
  LETHE_ASSERT(sm != nullptr, "sisa: run_method checks that the model is sharded");
  UnlearnResult r;
  r.method = "sisa";
  const std::vector<int64_t> touched = touched_shards(*sm, view);
  sm->set_data(view.retain);  // untouched shards: the same rows, the same structures
  training::TrainOptions to = training::TrainOptions::from_config(config);
  to.quiet = opt.quiet;
  to.progress = false;
  to.log_name = "sisa ";
  if (opt.epochs > 0) to.epochs = opt.epochs;  // only to shorten tests; the default keeps the original's
  const std::vector<training::ShardResult> res =
      training::train_shards(*sm, view.retain, view.current.valid, view.current.test, to, &log, touched);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.stop_reason = touched.empty() ? "no shard touched" : "shards retrained";
  nlohmann::json shards = nlohmann::json::array();
  for (const training::ShardResult& s : res) {
    r.epochs_run += s.result.epochs_run;
    shards.push_back({{"shard", s.shard},
                      {"train_rows", s.train_rows},
                      {"best_epoch", s.result.best_epoch},
                      {"epochs_run", s.result.epochs_run},
                      {"stop_reason", s.result.stop_reason},
                      {"train_seconds", s.result.train_seconds}});
    for (const auto& e : s.result.epochs) {
      EpochLog l;
      l.epoch = static_cast<int64_t>(r.epochs.size());
      l.loss = e.train_loss;
      r.epochs.push_back(l);
    }
  }
  r.extra["shards"] = sm->num_shards();
  r.extra["touched_shards"] = touched;
  r.extra["retrained"] = shards;
  return r;
}

}  // namespace lethe::unlearning::detail
