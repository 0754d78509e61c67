// Serving recommendations from a trained run with the Lethe library alone (no PyTorch, no data set):
//   lethe gen --preset tiny --out data/tiny
//   lethe train --data data/tiny --model lightgcn --out runs/tiny-lightgcn
//   recommend_example runs/tiny-lightgcn 42 10
// Recommender::load reads the run's embeddings.safetensors; top_k skips the user's training items and any
// item dropped from the catalogue by an unlearning request.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "models/inference.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s RUN_DIR USER [K]\n", argv[0]);
    return 2;
  }
  try {
    const auto rec = lethe::models::Recommender::load(argv[1]);
    const int32_t user = std::atoi(argv[2]);
    const int64_t k = argc > 3 ? std::atoll(argv[3]) : 10;
    std::printf("%s: %d users, %d items, dimension %lld\n", rec.model_name().c_str(), rec.n_users(),
                rec.n_items(), static_cast<long long>(rec.dim()));
    for (const auto& [item, score] : rec.top_k(user, k)) std::printf("item %d\tscore %.4f\n", item, score);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
