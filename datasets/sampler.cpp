// BPR batches with rejection-sampled negatives (docs/datasets.md, "BPR batches"); see datasets/sampler.h.
#include "datasets/sampler.h"

#include <algorithm>
#include <numeric>

#include "engine/error.h"

namespace lethe::datasets {

namespace {
std::vector<int32_t> sorted_unique(std::vector<int32_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}
}  // namespace

std::vector<int32_t> unique_items(const Interactions& x) { return sorted_unique(x.items); }
std::vector<int32_t> unique_users(const Interactions& x) { return sorted_unique(x.users); }

BprSampler::BprSampler(Interactions positives, UserItems exclude, std::vector<int32_t> neg_pool,
                       int64_t batch_size)
    : pos_(std::move(positives)),
      exclude_(std::move(exclude)),
      pool_(std::move(neg_pool)),
      batch_size_(batch_size) {
  LETHE_CHECK(batch_size_ > 0, "BprSampler: batch size must be positive, got " << batch_size_);
  LETHE_CHECK(pos_.users.size() == pos_.items.size(), "BprSampler: users and items differ in length");
  LETHE_CHECK(!pool_.empty() || pos_.empty(), "BprSampler: empty negative pool");
  for (int32_t u : pos_.users)
    LETHE_CHECK(u >= 0 && u < exclude_.n_users,
                "BprSampler: user " << u << " outside the exclusion lists [0, " << exclude_.n_users << ")");
  order_.resize(pos_.size());
  std::iota(order_.begin(), order_.end(), int64_t{0});
}

BprSampler BprSampler::for_training(const Interactions& train, int32_t n_users, int64_t batch_size) {
  return BprSampler(train, UserItems::build(train, n_users), unique_items(train), batch_size);
}

void BprSampler::shuffle(Rng& rng) {
  std::iota(order_.begin(), order_.end(), int64_t{0});  // from the original order, as MMRec re-samples df
  rng.shuffle(order_);
}

int64_t BprSampler::num_batches() const {
  return (static_cast<int64_t>(pos_.size()) + batch_size_ - 1) / batch_size_;
}

BprBatch BprSampler::batch(int64_t b, Rng& rng) const {
  LETHE_CHECK(b >= 0 && b < num_batches(), "BprSampler::batch: batch " << b << " of " << num_batches());
  const int64_t begin = b * batch_size_;
  const int64_t end = std::min<int64_t>(begin + batch_size_, static_cast<int64_t>(pos_.size()));
  BprBatch out;
  out.users.reserve(end - begin);
  out.pos.reserve(end - begin);
  out.neg.reserve(end - begin);
  const auto n = static_cast<uint32_t>(pool_.size());
  for (int64_t r = begin; r < end; ++r) {
    const int64_t row = order_[r];
    const int32_t u = pos_.users[row];
    int32_t neg = -1;
    // Rejection sampling is uniform over pool \ exclude[u]. After many rejections (a user who owns most
    // of the pool) fall back to an explicit uniform draw over the allowed items: same distribution.
    for (int tries = 0; tries < 256; ++tries) {
      int32_t c = pool_[rng.below(n)];
      if (!exclude_.contains(u, c)) {
        neg = c;
        break;
      }
    }
    if (neg < 0) {
      std::vector<int32_t> allowed;
      for (int32_t c : pool_)
        if (!exclude_.contains(u, c)) allowed.push_back(c);
      LETHE_CHECK(!allowed.empty(), "BprSampler: user " << u << " has interacted with every item of the "
                                                        << "negative pool; no negative can be drawn");
      neg = allowed[rng.below(static_cast<uint32_t>(allowed.size()))];
    }
    out.users.push_back(u);
    out.pos.push_back(pos_.items[row]);
    out.neg.push_back(neg);
  }
  return out;
}

}  // namespace lethe::datasets
