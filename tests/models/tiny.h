// Shared fixtures for the model tests: a tiny fixed data set (12 users, 9 items, handmade interactions,
// seeded random image / text features), a fixed BPR batch, small configs and host read-back helpers.
#pragma once

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "autograd/optim.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "models/model.h"

namespace lethe::models::testing {

constexpr int32_t kUsers = 12, kItems = 9;
constexpr int64_t kImageWidth = 16, kTextWidth = 6, kDim = 8;

// User u interacts with items u % 9, (2u + 1) % 9 and, for even u, (5u + 3) % 9 (duplicates collapse).
inline datasets::Interactions tiny_interactions() {
  datasets::Interactions x;
  for (int32_t u = 0; u < kUsers; ++u) {
    std::vector<int32_t> items{u % kItems, (2 * u + 1) % kItems};
    if (u % 2 == 0) items.push_back((5 * u + 3) % kItems);
    std::vector<int32_t> seen;
    for (int32_t i : items) {
      bool dup = false;
      for (int32_t s : seen) dup |= s == i;
      if (!dup) {
        x.push(u, i);
        seen.push_back(i);
      }
    }
  }
  return x;
}

inline Tensor random_table(int64_t rows, int64_t cols, uint64_t seed, bool non_negative) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(rows * cols));
  for (auto& x : v) x = static_cast<float>(non_negative ? rng.uniform() : rng.normal());
  return Tensor::from_vector(v, {rows, cols});
}

inline TrainData tiny_data() {
  TrainData d;
  d.n_users = kUsers;
  d.n_items = kItems;
  d.train = tiny_interactions();
  d.features["image"] = random_table(kItems, kImageWidth, 11, true);  // CNN features are non-negative
  d.features["text"] = random_table(kItems, kTextWidth, 12, false);
  return d;
}

// The retain set of a user request for users 0 and 1: their interactions leave D.
inline TrainData tiny_retain_users() {
  TrainData d = tiny_data();
  datasets::Interactions r;
  for (size_t k = 0; k < d.train.size(); ++k)
    if (d.train.users[k] > 1) r.push(d.train.users[k], d.train.items[k]);
  d.train = r;
  return d;
}

// An item request with drop for item 4: its interactions leave D and it leaves the catalogue.
inline TrainData tiny_retain_item_drop() {
  TrainData d = tiny_data();
  datasets::Interactions r;
  for (size_t k = 0; k < d.train.size(); ++k)
    if (d.train.items[k] != 4) r.push(d.train.users[k], d.train.items[k]);
  d.train = r;
  d.item_dropped.assign(kItems, 0);
  d.item_dropped[4] = 1;
  return d;
}

// Small configs: default_config with d = 8, k = 3 so that the tiny graphs are meaningful.
inline Config tiny_config(const std::string& model, const std::string& dtype = "f32") {
  Config c = default_config(model);
  c.set("embedding_size", std::to_string(kDim));
  c.set("feat_embed_dim", std::to_string(kDim));
  c.set("knn_k", "3");
  c.set("dtype", dtype);
  if (model == "freedom") c.set("dropout", "0.5");  // keep half of the 27 edges
  return c;
}

// A fixed batch of 8 training rows; each negative is the next item (cyclically) the user has not seen.
inline Batch tiny_batch() {
  const datasets::Interactions x = tiny_interactions();
  std::vector<int32_t> u, p, n;
  for (size_t k = 0; k < x.size() && u.size() < 8; k += 3) {
    const int32_t user = x.users[k], pos = x.items[k];
    int32_t neg = pos;
    for (;;) {
      neg = (neg + 1) % kItems;
      bool seen = false;
      for (size_t j = 0; j < x.size(); ++j) seen |= x.users[j] == user && x.items[j] == neg;
      if (!seen) break;
    }
    u.push_back(user);
    p.push_back(pos);
    n.push_back(neg);
  }
  Batch b;
  b.users = Tensor::from_vector(u);
  b.pos = Tensor::from_vector(p);
  b.neg = Tensor::from_vector(n);
  return b;
}

inline std::vector<double> host(const Tensor& t) {
  return t.to(Device::cpu()).astype(DType::F64).to_vector<double>();
}

inline double norm2(const Tensor& t) {
  double s = 0;
  for (double x : host(t)) s += x * x;
  return std::sqrt(s);
}

inline std::vector<autograd::Var> param_vars(Model& m) {
  std::vector<autograd::Var> v;
  for (auto& [name, p] : m.parameters()) v.push_back(p);
  return v;
}

// One training step's loss (forward in training mode, the fixed batch).
inline double loss_value(Model& m, const Batch& b) {
  autograd::NoGrad ng;
  return m.loss(m.forward(true), b).value().item();
}

// The message of the lethe::Error that f throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace lethe::models::testing
