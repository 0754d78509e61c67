// Golden end-to-end test: for each model, on the tiny data set with a fixed seed and batch, the losses of the
// first 3 Adam steps and, at step 0, every parameter's gradient norm and first entries are stored in
// tests/models/golden/<model>.json and recomputed here (tolerance 1e-5, relative for large values).
// Regenerate (after an intended change, checking the values are sane) with LETHE_REGEN_GOLDEN=1.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/optim.h"
#include "tests/models/tiny.h"

namespace lethe::models::testing {
namespace {

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
        out["grad_entries"][pname] = std::vector<double>(g.begin(), g.begin() + std::min<size_t>(4, g.size()));
      }
    }
    opt.step();
  }
  return out;
}

bool close(double got, double want) { return std::abs(got - want) <= 1e-5 * std::max(1.0, std::abs(want)); }

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, MatchesStoredStepsAndGradients) {
  const std::string name = GetParam();
  const std::string path = std::string(LETHE_SOURCE_DIR) + "/tests/models/golden/" + name + ".json";
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
    EXPECT_TRUE(close(got["grad_norms"][pname], norm)) << name << " " << pname << ": " << got["grad_norms"][pname]
                                                       << " vs " << norm;
    const auto& ge = got["grad_entries"][pname];
    const auto& we = want["grad_entries"][pname];
    ASSERT_EQ(ge.size(), we.size()) << pname;
    for (size_t k = 0; k < we.size(); ++k)
      EXPECT_TRUE(close(ge[k], we[k])) << name << " " << pname << "[" << k << "]: " << ge[k] << " vs " << we[k];
  }
  // Sanity of the stored run: training on a fixed batch lowers the loss.
  EXPECT_LT(want["losses"][2].get<double>(), want["losses"][0].get<double>()) << name;
}

INSTANTIATE_TEST_SUITE_P(Models, Golden, ::testing::Values("bpr", "lightgcn", "vbpr", "freedom", "mgcn"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace lethe::models::testing
