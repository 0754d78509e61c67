// `lethe recommend`: top-k items for one user from a run's exported embeddings (models/inference.h).
#include <cstdio>
#include <iostream>

#include "apps/command.h"
#include "models/inference.h"

namespace {

struct RecArgs {
  std::string run;
  int32_t user = -1;
  int64_t k = 20;
  bool include_seen = false;
};

int run_recommend(const RecArgs& a) {
  const auto rec = lethe::models::Recommender::load(a.run);
  const auto top = rec.top_k(a.user, a.k, !a.include_seen);
  std::cout << "rank\titem\tscore\n";
  for (size_t r = 0; r < top.size(); ++r) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", top[r].second);
    std::cout << (r + 1) << "\t" << top[r].first << "\t" << buf << "\n";
  }
  return 0;
}

lethe::apps::Register reg(
    "recommend", "Top-k recommendations for one user from a trained run",
    [](CLI::App& sub) -> lethe::apps::Runner {
      auto a = std::make_shared<RecArgs>();
      sub.add_option("--run", a->run, "run directory written by `lethe train`")->required();
      sub.add_option("--user", a->user, "user id")->required();
      sub.add_option("--k", a->k, "number of items");
      sub.add_flag("--include-seen", a->include_seen, "also rank the user's training items");
      return [a] { return run_recommend(*a); };
    });

}  // namespace
