// No erased or dropped feature row survives anywhere (docs/unlearning.md, "Modality requests"): every model,
// on a data set whose second modality is not named "text" (audio, as TikTok's), answers modality requests
// (audio, image) and item drops through run_method; afterwards no parameter holds an erased or dropped
// item's raw feature row, and every structure equals the one built from scratch on D_r. The check looks at
// every parameter with one row per item, declared or not, so a model that forgets to declare a feature
// slot fails here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "datasets/synthetic.h"
#include "engine/ops.h"
#include "models/model.h"
#include "models/training/checkpoint.h"
#include "models/training/trainer.h"
#include "models/unlearning/methods.h"
#include "models/unlearning/request_view.h"
#include "models/unlearning/requests.h"

namespace lethe::unlearning {
namespace {

// Tiny data with image + audio features (the generator's "text" table renamed).
const datasets::Dataset& audio_data() {
  static const datasets::Dataset ds = [] {
    datasets::Dataset d = datasets::generate_synthetic(datasets::synth_preset("tiny"), 11);
    auto node = d.features.extract("text");
    node.key() = "audio";
    d.features.insert(std::move(node));
    return d;
  }();
  return ds;
}

models::Config quick_config(const std::string& model) {
  models::Config c = models::default_config(model);
  c.set("seed", "3");
  return c;
}

// A model trained for two epochs on the full data (so its feature tables moved from the raw features);
// trained once per model, then copied.
std::unique_ptr<models::Model> trained(const std::string& name) {
  static std::map<std::string, std::vector<Tensor>> cache;
  const models::TrainData td = models::make_train_data(audio_data());
  auto m = models::create_model(name, quick_config(name), td, 3, Device::cpu());
  if (!cache.count(name)) {
    training::TrainOptions to = training::TrainOptions::from_config(quick_config(name));
    to.epochs = 2;
    to.quiet = true;
    to.progress = false;
    training::Trainer tr(*m, td, {}, {}, to);
    tr.train();
    cache[name] = training::snapshot_parameters(*m);
  }
  training::restore_parameters(*m, cache[name]);
  return m;
}

double row_distance(const std::vector<float>& a, const std::vector<float>& b, int64_t row, int64_t width) {
  double s = 0;
  for (int64_t j = 0; j < width; ++j) {
    const double d = static_cast<double>(a[row * width + j]) - b[row * width + j];
    s += d * d;
  }
  return std::sqrt(s);
}

// For every modality table of the original data and every parameter shaped [n_items, its width]: each
// erased / dropped row must have left its raw features, i.e. lie at least half as far from them as the
// replacement does (a row that still holds the raw features, fine-tuned or not, is much nearer).
void expect_no_surviving_row(models::Model& m, const RequestView& view, const std::string& what) {
  int64_t checked = 0;
  for (const auto& [modality, table] : view.original.features) {
    std::vector<int32_t> rows = view.dropped_items;
    if (auto it = view.erased.find(modality); it != view.erased.end())
      rows.insert(rows.end(), it->second.begin(), it->second.end());
    if (rows.empty()) continue;
    const int64_t width = table.values.cols();
    const std::vector<float> raw = table.values.to_vector<float>();
    const std::vector<float> repl = view.retain.features.at(modality).to_vector<float>();
    for (auto& [name, p] : m.parameters()) {
      if (p.value().ndim() != 2 || p.value().rows() != view.original.n_items || p.value().cols() != width)
        continue;
      const std::vector<float> v = p.value().astype(DType::F32).to_vector<float>();
      for (int32_t i : rows) {
        const double moved = row_distance(v, raw, i, width), gap = row_distance(repl, raw, i, width);
        if (gap == 0) continue;  // the replacement equals the raw row: nothing to tell apart
        EXPECT_GE(moved, 0.5 * gap) << what << ": parameter " << name << " still holds " << modality
                                    << " row " << i;
        ++checked;
      }
    }
  }
  // Every feature-bearing model must have had rows to check (else the test would pass vacuously).
  if (!m.modality_uses().empty() && !m.modality_uses().front().parameters.empty()) {
    EXPECT_GT(checked, 0) << what << ": no parameter row was checked";
  }
}

TEST(ModalityErasure, NoErasedOrDroppedRowSurvivesInAnyParameter) {
  const datasets::Dataset& ds = audio_data();
  struct Req {
    std::string name;
    RequestSpec spec;
  };
  std::vector<Req> reqs;
  for (const char* modality : {"audio", "image"}) {
    RequestSpec s;
    s.kind = RequestKind::Modality;
    s.modality = modality;
    s.fraction = 0.1;
    s.seed = 5;
    reqs.push_back({std::string("modality-") + modality, s});
  }
  {
    RequestSpec s;
    s.kind = RequestKind::Item;
    s.drop = true;
    s.fraction = 0.1;
    s.seed = 5;
    reqs.push_back({"item-drop", s});
  }
  for (const std::string& model : models::model_names()) {
    for (const Req& r : reqs) {
      const std::string what = model + " / " + r.name;
      SCOPED_TRACE(what);
      const RequestView view = apply_requests(ds, {generate_request(ds, r.spec)});
      std::unique_ptr<models::Model> m = trained(model);
      UnlearnOptions opt;
      opt.method = Method::MMRecUn;
      opt.epochs = 1;
      opt.quiet = true;
      run_method(m, model, quick_config(model), view, opt);
      expect_no_surviving_row(*m, view, what);
      // Every structure derived from the features follows the erasure: the same parameters in a model built
      // from scratch on D_r give the same forward.
      auto scratch = models::create_model(model, quick_config(model), view.retain, 3, Device::cpu());
      training::restore_parameters(*scratch, training::snapshot_parameters(*m));
      autograd::NoGrad ng;
      const models::Forward a = m->forward(false), b = scratch->forward(false);
      EXPECT_EQ(ops::max_abs_diff(a.users.value(), b.users.value()), 0.0) << what;
      EXPECT_EQ(ops::max_abs_diff(a.items.value(), b.items.value()), 0.0) << what;
    }
  }
}

TEST(ModalityErasure, ModelsDeclareTheDataModalityFillingEachSlot) {
  // On image + audio data the multi-modal models read audio through their second slot and say so.
  const models::TrainData td = models::make_train_data(audio_data());
  for (const std::string model : {"vbpr", "freedom", "mgcn"}) {
    auto m = models::create_model(model, quick_config(model), td, 3, Device::cpu());
    std::vector<std::string> used;
    for (const auto& u : m->modality_uses()) used.push_back(u.modality);
    std::sort(used.begin(), used.end());
    EXPECT_EQ(used, (std::vector<std::string>{"audio", "image"})) << model;
  }
  for (const std::string model : {"bpr", "lightgcn"})
    EXPECT_TRUE(
        models::create_model(model, quick_config(model), td, 3, Device::cpu())->modality_uses().empty())
        << model;
}

}  // namespace
}  // namespace lethe::unlearning
