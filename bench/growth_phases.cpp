// How each phase's time and memory grow with the data (docs/scaling.md, "How cost grows"): one data
// directory in, one JSON object out, with per phase the wall seconds, the resident high-water mark during the
// phase (VmHWM, reset before it through /proc/self/clear_refs) and the resident size when it began, so that
// peak - base is what the phase itself held. bench/growth.sh runs it over a series of `lethe gen --scale`
// data sets and bench/growth_table.py fits the growth exponents.
//
//   growth_phases --data DIR > phases.json
//
// Phases: load (the MMRec reader), graph (LightGCN's normalised N x N adjacency), knn (FREEDOM's item kNN
// graph from both modalities, k = 10, the one piece that is quadratic in the catalogue), then for LightGCN
// and FREEDOM: build (the model with its graphs), epoch (one training epoch), eval (full-ranking valid
// evaluation). One thread count, the default configurations.
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "datasets/graphs.h"
#include "datasets/mmrec_io.h"
#include "engine/tensor.h"
#include "models/freedom_graphs.h"
#include "models/model.h"
#include "models/training/trainer.h"

namespace {

using Clock = std::chrono::steady_clock;

double status_mib(const char* key) {  // VmHWM / VmRSS of this process, MiB
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(std::strlen(key))) / 1024.0;
  return -1;
}

bool reset_peak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return f.good();
}

// Runs fn as one phase and records it under `name`.
void phase(nlohmann::json& out, const std::string& name, const std::function<void()>& fn) {
  lethe::release_host_cache();  // an earlier phase's cached blocks must not count here
  const double base = status_mib("VmRSS:");
  const bool reset = reset_peak();
  const auto t0 = Clock::now();
  fn();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double peak = status_mib("VmHWM:");
  out[name] = {{"seconds", s},
               {"peak_mib", peak},
               {"base_mib", base},
               {"extra_mib", peak - base},
               {"peak_reset", reset}};
  std::cerr << name << ": " << s << " s, peak " << peak << " MiB (+" << peak - base << ")\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lethe;
  std::string data;
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--data") data = argv[i + 1];
  if (data.empty()) {
    std::cerr << "usage: growth_phases --data DIR\n";
    return 2;
  }
  try {
    nlohmann::json out, phases;
    datasets::Dataset ds;
    phase(phases, "load", [&] { ds = datasets::load_mmrec(data); });
    out["users"] = ds.n_users;
    out["items"] = ds.n_items;
    out["train_rows"] = ds.train.size();
    const models::TrainData td = models::make_train_data(ds);
    phase(phases, "graph", [&] { (void)datasets::bipartite_sym_adj(td.train, td.n_users, td.n_items); });
    phase(phases, "knn", [&] {
      (void)models::freedom_mm_adj(ds.features.at("image").values, ds.features.at("text").values, 10);
    });
    for (const std::string name : {"lightgcn", "freedom"}) {
      const models::Config cfg = models::default_config(name);
      training::TrainOptions opt = training::TrainOptions::from_config(cfg);
      opt.quiet = true;
      std::unique_ptr<models::Model> m;
      phase(phases, name + ".build",
            [&] { m = models::create_model(name, cfg, td, opt.seed, Device::cpu()); });
      training::Trainer tr(*m, td, ds.valid, ds.test, opt);
      phase(phases, name + ".epoch", [&] { (void)tr.train_epoch(0); });
      phase(phases, name + ".eval", [&] { (void)tr.evaluate("valid"); });
    }
    out["phases"] = phases;
    std::cout << out.dump(2) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "growth_phases: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
