// Golden tests of whole models: losses and gradients of the first Adam steps.
//
// Reference goldens (LightGCN, FREEDOM) catch error: tests/models/golden/reference/<model>.safetensors are
// written by the independent PyTorch reference (tests/models/golden/generate.py over
// bench/pytorch/mmrec_ref.py), never by Lethe. Each holds a small fixed graph, features, float32 initial
// parameters, one batch per step and the float64 expectations: the loss of each of 3 Adam steps (lr 0.01),
// every gradient at each step, the parameters after the last step and, for FREEDOM, the edges its per-epoch
// pruning keeps. Lethe loads the same inputs and must agree within float32 rounding (f32 models) or the
// rounding of its float32 graphs (f64 models). FREEDOM's pruning draws from the documented generator stream
// (docs/models.md, "FREEDOM"), so both sides prune the same edges; FreedomPrunedGraph checks that part alone.
//
// Regression goldens (BPR, VBPR, MGCN) catch change only: tests/models/golden/regression/<model>.json are
// written by Lethe itself (rerun with LETHE_REGEN_GOLDEN=1 after an intended change, checking the values are
// sane).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "autograd/optim.h"
#include "engine/formats/safetensors.h"
#include "models/freedom_graphs.h"
#include "tests/models/tiny.h"

namespace lethe::models::testing {
namespace {

// ---- reference goldens ---------------------------------------------------------------------------------

struct Reference {
  std::string path;
  formats::SafeTensors st;

  const Tensor& get(const std::string& name) const {
    const Tensor* t = st.find(name);
    LETHE_CHECK(t, path << ": tensor '" << name << "' is missing");
    return *t;
  }
  bool has(const std::string& name) const { return st.find(name) != nullptr; }
  std::string meta(const std::string& key) const {
    auto it = st.metadata.find(key);
    LETHE_CHECK(it != st.metadata.end(), path << ": metadata '" << key << "' is missing");
    return it->second;
  }
  int64_t meta_int(const std::string& key) const { return std::stoll(meta(key)); }
};

Reference load_reference(const std::string& model) {
  Reference r;
  r.path = std::string(LETHE_SOURCE_DIR) + "/tests/models/golden/reference/" + model + ".safetensors";
  r.st = formats::read_safetensors(r.path);
  return r;
}

std::vector<int32_t> ints(const Tensor& t) { return t.to_vector<int32_t>(); }

TrainData reference_data(const Reference& r) {
  TrainData d;
  d.n_users = static_cast<int32_t>(r.meta_int("n_users"));
  d.n_items = static_cast<int32_t>(r.meta_int("n_items"));
  const auto u = ints(r.get("data.train_users")), i = ints(r.get("data.train_items"));
  for (size_t k = 0; k < u.size(); ++k) d.train.push(u[k], i[k]);
  d.features["image"] = r.get("data.image");
  d.features["text"] = r.get("data.text");
  return d;
}

Config reference_config(const Reference& r, const std::string& model, const std::string& dtype) {
  Config c = default_config(model);
  for (const auto& [key, value] : r.st.metadata)
    if (key.rfind("config.", 0) == 0) c.set(key.substr(7), value);
  c.set("dtype", dtype);
  return c;
}

std::vector<int32_t> steps_list(const std::string& csv) {
  std::vector<int32_t> out;
  std::stringstream ss(csv);
  for (std::string tok; std::getline(ss, tok, ',');) out.push_back(std::stoi(tok));
  return out;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double x : host(t)) m = std::max(m, std::abs(x));
  return m;
}

// Largest |got - want| / (|want| + scale) over the entries: the error relative to the magnitudes the entry is
// computed from (float32 rounding is relative to those), so an entry near zero is not judged on its own.
double scaled_error(const Tensor& got, const Tensor& want, double scale, const std::string& what) {
  EXPECT_EQ(got.shape(), want.shape()) << what;
  if (got.shape() != want.shape()) return 1.0;
  const std::vector<double> g = host(got), w = host(want);
  double worst = 0;
  for (size_t k = 0; k < w.size(); ++k)
    worst = std::max(worst, std::abs(g[k] - w[k]) / (std::abs(w[k]) + scale));
  return worst;
}

using RefCase = std::tuple<std::string, std::string, std::string>;  // model, dtype, device
class ReferenceGolden : public ::testing::TestWithParam<RefCase> {};

TEST_P(ReferenceGolden, StepsMatchPyTorch) {
  const auto& [name, dtype, device] = GetParam();
  if (device == "cuda" && !cuda_available()) GTEST_SKIP() << "no CUDA device";
  const Device dev = device == "cuda" ? Device::cuda() : Device::cpu();
  const DType dt = dtype == "f64" ? DType::F64 : DType::F32;
  // f32: float32 arithmetic against float64 expectations (measured: below 2e-7); f64: only the float32-stored
  // graph values differ (measured: below 2e-8).
  const double tol = dt == DType::F32 ? 1e-5 : 1e-6;
  const Reference r = load_reference(name);
  auto m = create_model(name, reference_config(r, name, dtype), reference_data(r), 1, dev);

  // Shared initial parameters: the file's set of names must be the model's.
  std::set<std::string> file_params;
  for (const auto& [key, t] : r.st.tensors)
    if (key.rfind("init.", 0) == 0) file_params.insert(key.substr(5));
  std::set<std::string> model_params;
  for (auto& [pname, p] : m->parameters()) {
    model_params.insert(pname);
    ASSERT_TRUE(r.has("init." + pname)) << r.path << " has no initial value for " << pname;
    const Tensor& init = r.get("init." + pname);
    ASSERT_EQ(init.shape(), p.value().shape()) << pname;
    p.mutable_value().copy_from(init.astype(dt).to(dev));
  }
  ASSERT_EQ(file_params, model_params) << r.path;

  const int64_t steps = r.meta_int("steps");
  const std::vector<int32_t> pre_epoch = steps_list(r.meta("pre_epoch_before_steps"));
  Rng rng(r.has("expect.epoch0.kept_users") ? static_cast<uint64_t>(r.meta_int("prune_seed")) : 0);
  autograd::Adam opt(param_vars(*m), std::stod(r.meta("lr")));
  const std::vector<double> want_loss = host(r.get("expect.loss"));
  std::set<std::string> moved;  // parameters with a non-zero expected gradient at some step
  ASSERT_EQ(static_cast<int64_t>(want_loss.size()), steps);
  for (int64_t s = 0; s < steps; ++s) {
    const std::string b = "batch" + std::to_string(s);
    if (std::find(pre_epoch.begin(), pre_epoch.end(), s) != pre_epoch.end()) m->pre_epoch(rng);
    Batch batch;
    batch.users = r.get(b + ".users").to(dev);
    batch.pos = r.get(b + ".pos").to(dev);
    batch.neg = r.get(b + ".neg").to(dev);
    opt.zero_grad();
    autograd::Var loss = m->loss(m->forward(true), batch);
    autograd::backward(loss);
    const double got = loss.value().item();
    EXPECT_NEAR(got, want_loss[s], tol * std::max(1.0, std::abs(want_loss[s])))
        << name << " step " << s << " loss";
    // A gradient entry is judged against the largest gradient of the step, over all parameters.
    const std::string g = "expect.step" + std::to_string(s) + ".grad.";
    double scale = 0;
    for (auto& [pname, p] : m->parameters()) scale = std::max(scale, max_abs(r.get(g + pname)));
    for (auto& [pname, p] : m->parameters()) {
      const double err = scaled_error(p.grad(), r.get(g + pname), scale, g + pname);
      EXPECT_LE(err, tol) << name << " step " << s << ": gradient of " << pname << " differs from PyTorch's";
      if (max_abs(r.get(g + pname)) > 1e-12 * scale) moved.insert(pname);
    }
    opt.step();
  }
  for (auto& [pname, p] : m->parameters()) {
    // A parameter whose true gradient is zero at every step (FREEDOM's projection biases: they cancel in
    // u . (f[p] - f[n])) gets rounding noise as gradient, which Adam turns into moves of up to lr * noise /
    // eps: noise-sized in float64, not in float32. Its zero gradient is checked above; its moves only in f64.
    if (dt == DType::F32 && !moved.count(pname)) continue;
    const Tensor& want = r.get("expect.final." + pname);
    const double err = scaled_error(p.value(), want, max_abs(want), pname);
    EXPECT_LE(err, tol) << name << ": " << pname << " after " << steps
                        << " Adam steps differs from PyTorch's";
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ReferenceGolden,
                         ::testing::Combine(::testing::Values("lightgcn", "freedom"),
                                            ::testing::Values("f32", "f64"),
                                            ::testing::Values("cpu", "cuda")),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param) + "_" +
                                  std::get<2>(info.param);
                         });

// Lethe's sampler, fed the reference's stream seed, keeps exactly the reference's edges in both epochs, with
// the same normalised values (the kept subgraph's own degrees).
TEST(FreedomPrunedGraph, KeepsTheReferenceEdges) {
  const Reference r = load_reference("freedom");
  const TrainData d = reference_data(r);
  const double dropout = std::stod(r.meta("config.dropout"));
  Rng rng(static_cast<uint64_t>(r.meta_int("prune_seed")));
  const int64_t n = d.n_users + d.n_items;
  for (int epoch = 0; epoch < 2; ++epoch) {
    const std::string e = "expect.epoch" + std::to_string(epoch);
    const std::vector<double> got =
        host(freedom_pruned_adj(d.train, d.n_users, d.n_items, dropout, rng).to_dense());
    std::vector<double> want(static_cast<size_t>(n * n), 0.0);
    const auto ku = ints(r.get(e + ".kept_users")), ki = ints(r.get(e + ".kept_items"));
    const std::vector<double> kv = host(r.get(e + ".kept_values"));
    ASSERT_GT(ku.size(), 0u);
    ASSERT_LT(ku.size(), d.train.size()) << "the golden must exercise pruning";
    for (size_t k = 0; k < ku.size(); ++k) {
      want[ku[k] * n + d.n_users + ki[k]] = kv[k];
      want[(d.n_users + ki[k]) * n + ku[k]] = kv[k];
    }
    ASSERT_EQ(got.size(), want.size());
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = 0; b < n; ++b) {
        const double g = got[a * n + b], w = want[a * n + b];
        ASSERT_EQ(g != 0.0, w != 0.0) << "epoch " << epoch << ": entry (" << a << ", " << b << ") is "
                                      << (g != 0.0 ? "kept by Lethe only" : "kept by the reference only")
                                      << " (the sampler or the generator stream changed?)";
        EXPECT_NEAR(g, w, 1e-6 * w) << "epoch " << epoch << " (" << a << ", " << b << ")";
      }
  }
}

// ---- regression goldens --------------------------------------------------------------------------------

using nlohmann::json;

json run_steps(const std::string& name) {
  const TrainData d = tiny_data();
  const Batch b = tiny_batch();
  auto m = create_model(name, tiny_config(name), d, 2024, Device::cpu());
  Rng rng(77);
  m->pre_epoch(rng);
  autograd::Adam opt(param_vars(*m), 0.01);
  json out;
  out["model"] = name;
  out["seed"] = 2024;
  out["losses"] = json::array();
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    autograd::Var loss = m->loss(m->forward(true), b);
    autograd::backward(loss);
    out["losses"].push_back(loss.value().item());
    if (step == 0) {
      for (auto& [pname, p] : m->parameters()) {
        const std::vector<double> g = host(p.grad());
        out["grad_norms"][pname] = norm2(p.grad());
        out["grad_entries"][pname] =
            std::vector<double>(g.begin(), g.begin() + std::min<size_t>(4, g.size()));
      }
    }
    opt.step();
  }
  return out;
}

bool close(double got, double want) { return std::abs(got - want) <= 1e-5 * std::max(1.0, std::abs(want)); }

class RegressionGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(RegressionGolden, MatchesStoredStepsAndGradients) {
  const std::string name = GetParam();
  const std::string path =
      std::string(LETHE_SOURCE_DIR) + "/tests/models/golden/regression/" + name + ".json";
  const json got = run_steps(name);
  const char* regen = std::getenv("LETHE_REGEN_GOLDEN");
  if (regen && std::string(regen) == "1") {
    std::ofstream(path) << got.dump(2) << "\n";
    GTEST_SKIP() << "regenerated " << path;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "missing " << path << " (generate with LETHE_REGEN_GOLDEN=1)";
  const json want = json::parse(in);
  ASSERT_EQ(want["losses"].size(), 3u);
  for (size_t s = 0; s < 3; ++s)
    EXPECT_TRUE(close(got["losses"][s], want["losses"][s]))
        << name << " step " << s << ": " << got["losses"][s] << " vs " << want["losses"][s];
  ASSERT_EQ(got["grad_norms"].size(), want["grad_norms"].size()) << name;
  for (auto& [pname, norm] : want["grad_norms"].items()) {
    ASSERT_TRUE(got["grad_norms"].contains(pname)) << name << ": " << pname;
    EXPECT_TRUE(close(got["grad_norms"][pname], norm))
        << name << " " << pname << ": " << got["grad_norms"][pname] << " vs " << norm;
    const auto& ge = got["grad_entries"][pname];
    const auto& we = want["grad_entries"][pname];
    ASSERT_EQ(ge.size(), we.size()) << pname;
    for (size_t k = 0; k < we.size(); ++k)
      EXPECT_TRUE(close(ge[k], we[k]))
          << name << " " << pname << "[" << k << "]: " << ge[k] << " vs " << we[k];
  }
  // Sanity of the stored run: training on a fixed batch lowers the loss.
  EXPECT_LT(want["losses"][2].get<double>(), want["losses"][0].get<double>()) << name;
}

INSTANTIATE_TEST_SUITE_P(Models, RegressionGolden, ::testing::Values("bpr", "vbpr", "mgcn"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace lethe::models::testing
