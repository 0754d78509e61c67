// Model registry: create_model by name and the default configurations (MMRec overall.yaml merged with each
// model's yaml). MMRec's model yamls list grids (`hyper_parameters`); a default here is one point of each
// grid, chosen as documented in models/configs/<name>.yaml (the same values, shipped for users to copy;
// tests check that the files and these strings agree).
#include <functional>

#include "engine/error.h"
#include "models/zoo.h"

namespace lethe::models {

namespace {

// MMRec overall.yaml (the keys our engine reads, plus the documented ones; seed as a scalar).
constexpr const char* kOverall = R"(
seed: 999
embedding_size: 64
epochs: 1000
stopping_step: 20
train_batch_size: 2048
learner: adam
learning_rate: 0.001
learning_rate_scheduler: [1.0, 50]
weight_decay: 0.0
eval_step: 1
training_neg_sample_num: 1
use_neg_sampling: true
use_full_sampling: false
metrics: [Recall, NDCG, Precision, MAP]
topk: [5, 10, 20, 50]
valid_metric: Recall@20
eval_batch_size: 4096
filter_out_cod_start_users: true
)";

struct Entry {
  const char* name;
  const char* defaults;  // the model yaml, one point of each grid
  std::unique_ptr<Model> (*make)(const Config&, const TrainData&, uint64_t, Device);
};

// Keep in sync with models/configs/<name>.yaml (checked by tests/models/test_config.cpp).
const Entry kModels[] = {
    {"bpr", R"(
embedding_size: 64
reg_weight: 1.0e-5
)",
     make_bpr},
    {"lightgcn", R"(
embedding_size: 64
n_layers: 2
reg_weight: 1.0e-4
)",
     make_lightgcn},
    {"vbpr", R"(
embedding_size: 64
reg_weight: 1.0e-5
)",
     make_vbpr},
    {"freedom", R"(
embedding_size: 64
feat_embed_dim: 64
knn_k: 10
lambda_coeff: 0.9
n_mm_layers: 1
n_ui_layers: 2
mm_image_weight: 0.1
dropout: 0.8
reg_weight: 1.0e-3
learning_rate: 0.001
)",
     make_freedom},
    {"mgcn", R"(
embedding_size: 64
feat_embed_dim: 64
n_ui_layers: 2
n_layers: 1
knn_k: 10
reg_weight: 1.0e-4
cl_loss: 0.01
learning_rate: 0.001
learning_rate_scheduler: [0.96, 50]
lambda_coeff: 0.9
)",
     make_mgcn},
};

const Entry& find(const std::string& name) {
  for (const auto& e : kModels)
    if (name == e.name) return e;
  std::string known;
  for (const auto& e : kModels) known += std::string(known.empty() ? "" : ", ") + e.name;
  LETHE_CHECK(false, "unknown model '" << name << "' (known: " << known << ")");
  return kModels[0];
}

}  // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const auto& e : kModels) out.emplace_back(e.name);
  return out;
}

Config default_config(const std::string& name) {
  const Entry& e = find(name);
  Config c = Config::from_yaml_string(kOverall);
  c.merge(Config::from_yaml_string(e.defaults));
  c.set("model", name);
  return c;
}

std::unique_ptr<Model> create_model(const std::string& name, const Config& config, const TrainData& data,
                                    uint64_t seed, Device dev) {
  return find(name).make(config, data, seed, dev);
}

}  // namespace lethe::models
