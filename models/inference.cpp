// Recommender: top-k serving from a run's embeddings.safetensors (see inference.h).
#include "models/inference.h"

#include <algorithm>
#include <filesystem>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/formats/safetensors.h"

namespace lethe::models {

Recommender Recommender::load(const std::string& path) {
  const std::string file = std::filesystem::is_directory(path) ? path + "/embeddings.safetensors" : path;
  formats::SafeTensors st = formats::read_safetensors(file);
  LETHE_CHECK(st.metadata.count("format") && st.metadata.at("format") == "lethe-embeddings",
              file << ": not a Lethe embeddings file (metadata format)");
  auto need = [&](const char* name, DType dt, int nd) -> const Tensor& {
    const Tensor* t = st.find(name);
    LETHE_CHECK(t, file << ": tensor '" << name << "' is missing");
    LETHE_CHECK(t->dtype() == dt && t->ndim() == nd, file << ": tensor '" << name << "' is " << t->describe()
                                                          << ", expected " << dtype_name(dt) << " with " << nd
                                                          << " dimension(s)");
    return *t;
  };
  Recommender r;
  r.model_ = st.metadata.count("model") ? st.metadata.at("model") : "";
  const Tensor& u = need("users", DType::F32, 2);
  const Tensor& it = need("items", DType::F32, 2);
  LETHE_CHECK(u.dim(1) == it.dim(1),
              file << ": users have dimension " << u.dim(1) << ", items " << it.dim(1));
  r.n_users_ = static_cast<int32_t>(u.dim(0));
  r.n_items_ = static_cast<int32_t>(it.dim(0));
  r.dim_ = u.dim(1);
  r.users_ = u.to_vector<float>();
  r.items_ = it.to_vector<float>();
  r.seen_indptr_ = need("seen_indptr", DType::I32, 1).to_vector<int32_t>();
  r.seen_items_ = need("seen_items", DType::I32, 1).to_vector<int32_t>();
  LETHE_CHECK(static_cast<int64_t>(r.seen_indptr_.size()) == int64_t(r.n_users_) + 1 &&
                  r.seen_indptr_.back() == static_cast<int32_t>(r.seen_items_.size()),
              file << ": seen_indptr / seen_items do not form a CSR over " << r.n_users_ << " users");
  for (int32_t i : r.seen_items_)
    LETHE_CHECK(i >= 0 && i < r.n_items_,
                file << ": seen item id " << i << " outside [0, " << r.n_items_ << ")");
  r.dropped_.assign(static_cast<size_t>(r.n_items_), 0);
  if (const Tensor* d = st.find("item_dropped")) {
    const auto v = d->astype(DType::I32).to_vector<int32_t>();
    LETHE_CHECK(static_cast<int32_t>(v.size()) == r.n_items_,
                file << ": item_dropped has " << v.size() << " flags");
    for (size_t i = 0; i < v.size(); ++i) r.dropped_[i] = v[i] != 0;
  }
  return r;
}

std::vector<float> Recommender::scores(int32_t user) const {
  LETHE_CHECK(user >= 0 && user < n_users_,
              "recommend: user id " << user << " outside [0, " << n_users_ << ")");
  std::vector<float> s(static_cast<size_t>(n_items_));
  const float* u = users_.data() + static_cast<size_t>(user) * dim_;
  for (int32_t i = 0; i < n_items_; ++i) {
    const float* v = items_.data() + static_cast<size_t>(i) * dim_;
    float acc = 0.f;
    for (int64_t d = 0; d < dim_; ++d) acc += u[d] * v[d];
    s[i] = acc;
  }
  return s;
}

std::vector<int32_t> Recommender::seen(int32_t user) const {
  LETHE_CHECK(user >= 0 && user < n_users_,
              "recommend: user id " << user << " outside [0, " << n_users_ << ")");
  return {seen_items_.begin() + seen_indptr_[user], seen_items_.begin() + seen_indptr_[user + 1]};
}

std::vector<std::pair<int32_t, float>> Recommender::top_k(int32_t user, int64_t k, bool exclude_seen) const {
  LETHE_CHECK(k >= 1, "recommend: k must be >= 1, got " << k);
  const std::vector<float> s = scores(user);
  std::vector<uint8_t> skip = dropped_;
  if (exclude_seen)
    for (int32_t j = seen_indptr_[user]; j < seen_indptr_[user + 1]; ++j) skip[seen_items_[j]] = 1;
  std::vector<int32_t> cand;
  cand.reserve(s.size());
  for (int32_t i = 0; i < n_items_; ++i)
    if (!skip[i]) cand.push_back(i);
  const size_t kk = std::min<size_t>(static_cast<size_t>(k), cand.size());
  auto better = [&](int32_t a, int32_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); };
  std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(kk), cand.end(), better);
  std::vector<std::pair<int32_t, float>> out;
  out.reserve(kk);
  for (size_t j = 0; j < kk; ++j) out.emplace_back(cand[j], s[cand[j]]);
  return out;
}

}  // namespace lethe::models
