// Per-model tests on the tiny fixed data set (tests/models/tiny.h): parameter shapes and counts, finite
// losses, Adam steps lowering the loss on a fixed batch, determinism from the seed, set_data from a retain
// set equal to a model built from scratch on it, a whole-model float64 finite-difference gradient check, and
// LightGCN's forward against a hand-computed dense formula.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "autograd/optim.h"
#include "engine/error.h"
#include "models/model.h"
#include "tests/models/tiny.h"

namespace lethe::models::testing {
namespace {

const std::vector<std::string> kModels = {"bpr", "lightgcn", "vbpr", "freedom", "mgcn"};

std::unique_ptr<Model> make(const std::string& name, const TrainData& d, uint64_t seed = 7,
                            const std::string& dtype = "f32") {
  auto m = create_model(name, tiny_config(name, dtype), d, seed, Device::cpu());
  Rng rng(3);
  m->pre_epoch(rng);
  return m;
}

int64_t count_params(Model& m) {
  int64_t n = 0;
  for (auto& [name, p] : m.parameters()) n += p.value().numel();
  return n;
}

// Parameter count of each model as a formula of U, I, d and the feature widths (docs/models.md).
int64_t expected_params(const std::string& name, int64_t U, int64_t I, int64_t d, int64_t V, int64_t T) {
  const int64_t ids = (U + I) * d;
  const int64_t trs = (V * d + d) + (T * d + d);  // image_trs, text_trs (with bias)
  if (name == "bpr" || name == "lightgcn") return ids;
  if (name == "vbpr") return U * 2 * d + I * d + (V + T) * d + d;
  if (name == "freedom") return ids + I * (V + T) + trs;
  if (name == "mgcn") return ids + I * (V + T) + trs + (d * d + d) + d + 4 * (d * d + d);
  return -1;
}

TEST(Models, ParameterCountsFollowTheFormulas) {
  // Baby scale (U 19,445, I 7,050, d 64, 4096 / 384 features): FREEDOM has 33,566,528 parameters.
  EXPECT_EQ(expected_params("freedom", 19445, 7050, 64, 4096, 384), 33566528);
  const TrainData d = tiny_data();
  for (const auto& name : kModels) {
    auto m = make(name, d);
    EXPECT_EQ(m->name(), name);
    EXPECT_EQ(count_params(*m), expected_params(name, kUsers, kItems, kDim, kImageWidth, kTextWidth)) << name;
    std::map<std::string, int> seen;
    for (auto& [pname, p] : m->parameters()) {
      EXPECT_EQ(seen[pname]++, 0) << name << ": duplicate parameter " << pname;
      EXPECT_TRUE(p.requires_grad()) << pname;
      EXPECT_EQ(p.dtype(), DType::F32) << pname;
    }
  }
  // Named shapes of the multimodal tables.
  auto f = make("freedom", d);
  std::map<std::string, Shape> shapes;
  for (auto& [pname, p] : f->parameters()) shapes[pname] = p.shape();
  EXPECT_EQ(shapes["user_embedding.weight"], (Shape{kUsers, kDim}));
  EXPECT_EQ(shapes["image_embedding.weight"], (Shape{kItems, kImageWidth}));
  EXPECT_EQ(shapes["text_trs.weight"], (Shape{kDim, kTextWidth}));
  EXPECT_EQ(shapes["image_trs.bias"], (Shape{kDim}));
}

TEST(Models, InitialisationFollowsTorchBounds) {
  const TrainData d = tiny_data();
  auto l = make("lightgcn", d);
  for (auto& [pname, p] : l->parameters()) {
    const double bound = std::sqrt(6.0 / static_cast<double>(p.rows() + p.cols()));  // xavier_uniform
    for (double x : host(p.value())) EXPECT_LE(std::abs(x), bound) << pname;
  }
  auto f = make("freedom", d);
  for (auto& [pname, p] : f->parameters()) {
    if (pname == "image_embedding.weight") {
      EXPECT_EQ(host(p.value()), host(d.features.at("image")));  // trainable copy of the raw features
    }
    if (pname == "text_trs.weight" || pname == "text_trs.bias") {
      for (double x : host(p.value())) EXPECT_LE(std::abs(x), 1.0 / std::sqrt(double(kTextWidth))) << pname;
    }
  }
  auto v = make("vbpr", d);
  for (auto& [pname, p] : v->parameters()) {
    if (pname == "item_linear.bias") {
      for (double x : host(p.value())) EXPECT_EQ(x, 0.0);
    }
  }
}

TEST(Models, DeterministicFromTheSeed) {
  const TrainData d = tiny_data();
  for (const auto& name : kModels) {
    auto a = make(name, d, 5), b = make(name, d, 5), c = make(name, d, 6);
    const auto pa = a->parameters(), pb = b->parameters(), pc = c->parameters();
    bool any_diff = false;
    for (size_t k = 0; k < pa.size(); ++k) {
      EXPECT_EQ(host(pa[k].second.value()), host(pb[k].second.value())) << name << " " << pa[k].first;
      any_diff |= host(pa[k].second.value()) != host(pc[k].second.value());
    }
    EXPECT_TRUE(any_diff) << name << ": another seed gives the same parameters";
    EXPECT_EQ(loss_value(*a, tiny_batch()), loss_value(*b, tiny_batch())) << name;
  }
}

TEST(Models, LossIsFiniteAndAdamStepsLowerIt) {
  const TrainData d = tiny_data();
  const Batch b = tiny_batch();
  for (const auto& name : kModels) {
    auto m = make(name, d);
    const Forward f0 = m->forward(false);
    EXPECT_EQ(f0.users.shape(), (Shape{kUsers, name == "vbpr" ? 2 * kDim : kDim})) << name;
    EXPECT_EQ(f0.items.shape(), (Shape{kItems, name == "vbpr" ? 2 * kDim : kDim})) << name;
    autograd::Adam opt(param_vars(*m), 0.01);
    const double l0 = loss_value(*m, b);
    ASSERT_TRUE(std::isfinite(l0)) << name;
    // With random init the BPR term is about log 2.
    EXPECT_GT(l0, 0.3) << name;
    EXPECT_LT(l0, 3.0) << name;
    double prev = l0;
    for (int step = 0; step < 5; ++step) {
      opt.zero_grad();
      autograd::Var loss = m->loss(m->forward(true), b);
      autograd::backward(loss);
      for (auto& [pname, p] : m->parameters())
        if (p.grad().defined()) {
          EXPECT_TRUE(std::isfinite(ops::sumsq(p.grad()).item())) << name << " " << pname;
        }
      opt.step();
      const double l = loss_value(*m, b);
      EXPECT_LT(l, prev) << name << " step " << step;
      prev = l;
    }
    EXPECT_LT(prev, l0 - 1e-3) << name;
  }
}

TEST(Models, GradientsReachTheRightParameters) {
  const TrainData d = tiny_data();
  const Batch b = tiny_batch();
  for (const auto& name : kModels) {
    auto m = make(name, d);
    autograd::Adam opt(param_vars(*m), 0.01);
    opt.zero_grad();
    autograd::backward(m->loss(m->forward(true), b));
    for (auto& [pname, p] : m->parameters()) {
      ASSERT_TRUE(p.grad().defined()) << name << " " << pname;
      if (name == "freedom" && pname.find("_trs.bias") != std::string::npos) {
        // The projection bias cancels in s+ - s- = u . (f[p] - f[n]): its gradient is zero up to rounding
        // (as in MMRec).
        EXPECT_LT(norm2(p.grad()), 1e-9) << name << " " << pname;
      } else {
        EXPECT_GT(norm2(p.grad()), 1e-9) << name << ": no gradient reaches " << pname;
      }
    }
  }
  // BPR: only the batch rows of the tables get gradient (item 8's row is not in the batch).
  auto bpr = make("bpr", d);
  autograd::backward(bpr->loss(bpr->forward(true), b));
  const auto items = bpr->parameters()[1].second;
  const auto g = host(items.grad());
  const auto pos = host(b.pos), neg = host(b.neg);
  for (int64_t i = 0; i < kItems; ++i) {
    bool in_batch = false;
    for (size_t k = 0; k < pos.size(); ++k) in_batch |= pos[k] == i || neg[k] == i;
    double s = 0;
    for (int64_t c = 0; c < kDim; ++c) s += std::abs(g[i * kDim + c]);
    EXPECT_EQ(s > 0, in_batch) << "item " << i;
  }
}

// forward(false) of two models, compared bitwise.
void expect_same_forward(Model& a, Model& b, bool training, const std::string& what) {
  const Forward fa = a.forward(training), fb = b.forward(training);
  EXPECT_EQ(host(fa.users.value()), host(fb.users.value())) << what;
  EXPECT_EQ(host(fa.items.value()), host(fb.items.value())) << what;
}

bool forward_differs(const Forward& x, const Forward& y) {
  return host(x.users.value()) != host(y.users.value()) || host(x.items.value()) != host(y.items.value());
}

TEST(Models, SetDataFromRetainEqualsFromScratch) {
  const TrainData full = tiny_data();
  for (const TrainData& retain : {tiny_retain_users(), tiny_retain_item_drop()}) {
    for (const auto& name : kModels) {
      auto a = make(name, full);
      const Forward before = a->forward(false);
      a->set_data(retain);
      auto b = create_model(name, tiny_config(name), retain, 7, Device::cpu());
      expect_same_forward(*a, *b, false, name + " eval view");
      if (name != "bpr" && name != "vbpr") {  // models with interaction graphs
        EXPECT_TRUE(forward_differs(before, a->forward(false)))
            << name << ": set_data did not change the graph";
      }
      // The training view after the same resampling (FREEDOM's pruned graph comes from the new data).
      Rng ra(9), rb(9);
      a->pre_epoch(ra);
      b->pre_epoch(rb);
      expect_same_forward(*a, *b, true, name + " training view");
      EXPECT_EQ(loss_value(*a, tiny_batch()), loss_value(*b, tiny_batch())) << name;
    }
  }
}

TEST(Models, VbprSetDataUsesTheNewFeatures) {
  const TrainData full = tiny_data();
  TrainData erased = full;
  std::vector<float> text = erased.features["text"].to_vector<float>();
  for (int64_t c = 0; c < kTextWidth; ++c)
    text[2 * kTextWidth + c] = 0.0f;  // modality request: item 2's text
  erased.features["text"] = Tensor::from_vector(text, {kItems, kTextWidth});
  auto a = make("vbpr", full);
  const Forward before = a->forward(false);
  a->set_data(erased);
  auto b = make("vbpr", erased);
  expect_same_forward(*a, *b, false, "vbpr");
  const auto x = host(before.items.value()), y = host(a->forward(false).items.value());
  for (int64_t i = 0; i < kItems; ++i)
    for (int64_t c = 0; c < 2 * kDim; ++c) {
      const bool changed = x[i * 2 * kDim + c] != y[i * 2 * kDim + c];
      EXPECT_EQ(changed, i == 2 && c >= kDim) << "item " << i << " col " << c;  // only item 2's feature half
    }
}

// A modality request (item 2's and 5's text erased): set_data rebuilds the text kNN graph from the new
// features. The trainable feature tables are parameters (set_data leaves them alone), so the from-scratch
// model gets the same parameter values copied in before comparing.
TEST(Models, SetDataRebuildsItemGraphsFromNewFeatures) {
  const TrainData full = tiny_data();
  TrainData erased = full;
  std::vector<float> text = erased.features["text"].to_vector<float>();
  for (int64_t i : {2, 5})
    for (int64_t c = 0; c < kTextWidth; ++c) text[i * kTextWidth + c] = 0.0f;
  erased.features["text"] = Tensor::from_vector(text, {kItems, kTextWidth});
  for (const std::string name : {"freedom", "mgcn"}) {
    auto a = make(name, full);
    const Forward before = a->forward(false);
    a->set_data(erased);
    EXPECT_TRUE(forward_differs(before, a->forward(false))) << name << ": the text graph was not rebuilt";
    auto b = make(name, erased);
    auto pa = a->parameters(), pb = b->parameters();
    for (size_t k = 0; k < pa.size(); ++k) pb[k].second.mutable_value().copy_from(pa[k].second.value());
    expect_same_forward(*a, *b, false, name);
    a->set_data(full);  // and back
    EXPECT_EQ(host(before.items.value()), host(a->forward(false).items.value())) << name;
  }
}

TEST(Models, FreedomResamplesThePrunedGraphPerEpoch) {
  const TrainData d = tiny_data();
  auto m = make("freedom", d);
  const Forward eval1 = m->forward(false);
  Rng rng(21);
  m->pre_epoch(rng);
  const Forward t1 = m->forward(true);
  m->pre_epoch(rng);
  const Forward t2 = m->forward(true);
  EXPECT_TRUE(forward_differs(t1, t2)) << "two epochs used the same pruned graph";
  EXPECT_TRUE(forward_differs(t1, eval1)) << "training used the full graph";
  expect_same_forward(*m, *m, false, "eval view is deterministic");
  EXPECT_EQ(host(eval1.items.value()), host(m->forward(false).items.value()));  // eval ignores pruning
  auto fresh = create_model("freedom", tiny_config("freedom"), d, 7, Device::cpu());
  EXPECT_THROW(fresh->forward(true), Error);  // no pruned graph before pre_epoch
  EXPECT_NO_THROW(fresh->forward(false));
}

TEST(Models, RejectsBadConfigAndData) {
  const TrainData d = tiny_data();
  Config c = tiny_config("lightgcn");
  c.set("n_layers", "[1, 2]");
  EXPECT_THROW(create_model("lightgcn", c, d, 1, Device::cpu()), Error);
  Config e = tiny_config("bpr");
  e.set("embedding_size", "0");
  EXPECT_THROW(create_model("bpr", e, d, 1, Device::cpu()), Error);
  TrainData no_text = d;
  no_text.features.erase("text");
  EXPECT_THROW(create_model("freedom", tiny_config("freedom"), no_text, 1, Device::cpu()), Error);
  EXPECT_THROW(create_model("nope", tiny_config("bpr"), d, 1, Device::cpu()), Error);
  TrainData bad = d;
  bad.train.push(kUsers, 0);
  EXPECT_THROW(create_model("lightgcn", tiny_config("lightgcn"), bad, 1, Device::cpu()), Error);
  auto m = make("mgcn", d);
  TrainData other = d;
  other.n_items += 1;
  EXPECT_THROW(m->set_data(other), Error);
}

// LightGCN forward = mean(E, Â E, Â² E) with Â = D^-1/2 A D^-1/2, deg + 1e-7, computed densely here.
TEST(Models, LightGcnMatchesDenseFormula) {
  const TrainData d = tiny_data();
  auto m = make("lightgcn", d, 7, "f64");
  const int64_t N = kUsers + kItems;
  std::vector<double> A(N * N, 0.0), deg(N, 0.0);
  for (size_t k = 0; k < d.train.size(); ++k) {
    const int64_t u = d.train.users[k], i = kUsers + d.train.items[k];
    A[u * N + i] = A[i * N + u] = 1.0;
  }
  for (int64_t r = 0; r < N; ++r)
    for (int64_t c = 0; c < N; ++c) deg[r] += A[r * N + c];
  for (int64_t r = 0; r < N; ++r)
    for (int64_t c = 0; c < N; ++c) A[r * N + c] /= std::sqrt((deg[r] + 1e-7) * (deg[c] + 1e-7));
  const auto params = m->parameters();
  std::vector<double> E = host(params[0].second.value());
  const auto items = host(params[1].second.value());
  E.insert(E.end(), items.begin(), items.end());
  std::vector<double> sum = E, cur = E;
  for (int layer = 0; layer < 2; ++layer) {
    std::vector<double> next(N * kDim, 0.0);
    for (int64_t r = 0; r < N; ++r)
      for (int64_t c = 0; c < N; ++c)
        for (int64_t j = 0; j < kDim; ++j) next[r * kDim + j] += A[r * N + c] * cur[c * kDim + j];
    cur = next;
    for (size_t k = 0; k < sum.size(); ++k) sum[k] += cur[k];
  }
  const Forward f = m->forward(false);
  const auto users = host(f.users.value()), its = host(f.items.value());
  for (int64_t r = 0; r < N; ++r)
    for (int64_t j = 0; j < kDim; ++j) {
      const double want = sum[r * kDim + j] / 3.0;
      const double got = r < kUsers ? users[r * kDim + j] : its[(r - kUsers) * kDim + j];
      EXPECT_NEAR(got, want, 1e-6 * (1.0 + std::abs(want)))
          << "node " << r << " col " << j;  // Â values are F32
    }
}

// Whole-model float64 central differences: the composed loss's gradient for a few entries of every parameter.
TEST(Models, WholeModelGradientMatchesFiniteDifferences) {
  const TrainData d = tiny_data();
  const Batch b = tiny_batch();
  for (const auto& name : kModels) {
    auto m = make(name, d, 7, "f64");
    autograd::Adam opt(param_vars(*m), 0.01);
    opt.zero_grad();
    autograd::backward(m->loss(m->forward(true), b));
    Rng pick(1);
    for (auto& [pname, p] : m->parameters()) {
      const std::vector<double> g = host(p.grad());
      double* w = p.mutable_value().data<double>();
      for (int t = 0; t < 3; ++t) {
        const int64_t k = pick.below(static_cast<uint32_t>(p.value().numel()));
        const double h = 1e-6, w0 = w[k];
        w[k] = w0 + h;
        const double lp = loss_value(*m, b);
        w[k] = w0 - h;
        const double lm = loss_value(*m, b);
        w[k] = w0;
        const double fd = (lp - lm) / (2 * h);
        EXPECT_NEAR(g[k], fd, 1e-6 + 1e-5 * std::abs(fd)) << name << " " << pname << "[" << k << "]";
      }
    }
  }
}

}  // namespace
}  // namespace lethe::models::testing
