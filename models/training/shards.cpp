// Training a sharded model shard by shard on the one trainer (shards.h).
#include "models/training/shards.h"

#include <numeric>

#include "engine/error.h"

namespace lethe::training {

std::vector<ShardResult> train_shards(models::ShardedModel& model, const models::TrainData& data,
                                      const datasets::Interactions& valid, const datasets::Interactions& test,
                                      const TrainOptions& opt, std::ostream* log,
                                      std::vector<int64_t> which) {
  LETHE_CHECK(opt.resume.empty() && opt.checkpoint_every == 0,
              "sharded training: resume and checkpoints are per run, not per shard; train without them");
  if (which.empty()) {
    which.resize(static_cast<size_t>(model.num_shards()));
    std::iota(which.begin(), which.end(), int64_t{0});
  }
  std::vector<ShardResult> out;
  for (int64_t k : which) {
    LETHE_CHECK(k >= 0 && k < model.num_shards(), "sharded training: no shard " << k);
    model.reset_shard(k, data);
    const models::TrainData sd = model.shard_data(data, k);
    ShardResult r;
    r.shard = k;
    r.train_rows = static_cast<int64_t>(sd.train.size());
    if (sd.train.empty()) {  // every user of the shard is gone: the fresh sub-model is the exact answer
      r.result.stop_reason = "no data";
      out.push_back(std::move(r));
      continue;
    }
    TrainOptions o = opt;
    o.seed = model.shard_seed(k);
    o.out_dir.clear();
    o.log_name = opt.log_name + "shard " + std::to_string(k) + " ";
    Trainer tr(model.shard(k), sd, model.shard_rows(valid, k), model.shard_rows(test, k), o, log);
    r.result = tr.train();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace lethe::training
