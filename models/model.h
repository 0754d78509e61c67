// The recommender interface. A model is a set of named parameters plus a differentiable forward built
// from autograd ops; graphs derived from training data are rebuilt by set_data (so unlearning can rebuild
// them from the retain set). Concrete models: models/<name>.cpp, created by name through the registry.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/var.h"
#include "datasets/dataset.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "models/config.h"

namespace lethe::models {

// The data a model trains on: the training interactions (D, or D_r after a request) and the item features
// (with erased rows after a modality request). Items dropped from the catalogue are flagged.
struct TrainData {
  int32_t n_users = 0, n_items = 0;
  datasets::Interactions train;
  std::map<std::string, Tensor> features;  // modality -> F32 [n_items, width] on CPU
  std::vector<uint8_t> item_dropped;       // empty, or n_items flags: 1 = never recommend / no features
};

// The TrainData of a data set: its training split and feature tables (no dropped items).
TrainData make_train_data(const datasets::Dataset& ds);

// One training batch: user, positive item and negative item ids (I32, on the model's device).
struct Batch {
  Tensor users, pos, neg;
  int64_t size() const { return users.numel(); }
};

// What a model's loss needs from its forward beyond the final embeddings. Each model that needs more
// declares its own struct derived from this one, with typed fields (FREEDOM: the projected feature tables;
// MGCN: the side and content views); models whose loss reads only the embeddings have none.
struct ForwardAux {
  virtual ~ForwardAux() = default;
  // The tensors held, in a fixed order (for tests and inspection; the loss reads the typed fields).
  virtual std::vector<autograd::Var> tensors() const = 0;
};

// Output of a forward pass: final user and item embeddings, plus the model's own ForwardAux when the
// forward was the training view and its loss needs more (null otherwise).
struct Forward {
  autograd::Var users;  // [n_users, d]
  autograd::Var items;  // [n_items, d]
  std::shared_ptr<const ForwardAux> aux;
};

// One data modality as a model uses it (docs/unlearning.md, "Modality requests"): the feature table that
// fills one of the model's slots, the parameters that hold per-item copies of it (one row per item,
// fine-tuned), and what set_data derives from it (kNN graphs, constant inputs). A modality request or an item
// drop must reach every one of them, so each model declares them; nothing is found by matching names.
struct ModalityUse {
  std::string modality;                 // key of TrainData::features ("audio" when it fills the text slot)
  std::vector<std::string> parameters;  // names in Model::parameters(), each [n_items, width of the table]
  std::vector<std::string> derived;     // what set_data rebuilds from the table (for reports)
  // Shared layers that read this modality alone (its projection, its gates): with `parameters`, the
  // modality's branch (TRU-style branch scaling, docs/unlearning.md, "Branch scaling").
  std::vector<std::string> branch = {};
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  // Trainable parameters in a fixed order; names are checkpoint keys.
  virtual std::vector<std::pair<std::string, autograd::Var>> parameters() = 0;
  // The name of the parameter holding one free row per user (the user ID embedding). A user's row gets
  // gradient only through that user's own interactions (its loss terms and its graph edges), so unlearning
  // can single out the rows of users who have none left.
  virtual std::string user_table() const = 0;
  // The name of the parameter holding one free row per item (the item ID embedding).
  virtual std::string item_table() const = 0;
  // How the ID tables (user_table(), item_table()) were initialised: a row that no training data reaches
  // keeps such a draw in a model trained from scratch (models/layers.h, fresh_id_rows).
  enum class IdInit { XavierUniform, XavierNormal };
  virtual IdInit id_init() const { return IdInit::XavierUniform; }
  // Every data modality the model reads, with the parameters and structures fed by it (none: the model
  // uses no features).
  virtual std::vector<ModalityUse> modality_uses() const { return {}; }
  // (Re)builds every structure derived from the training data / features.
  virtual void set_data(const TrainData& data) = 0;
  // Called before each training epoch (FREEDOM resamples its pruned graph here).
  virtual void pre_epoch(Rng& rng) {}
  // training = true: the train-time view (pruned graph, dropout); false: the evaluation view.
  virtual Forward forward(bool training) = 0;
  // The model's full training loss on one batch (BPR + regularisers + auxiliary terms), given forward().
  virtual autograd::Var loss(const Forward& f, const Batch& b) = 0;
  const Config& config() const { return config_; }
  Device device() const { return device_; }

 protected:
  // The typed auxiliaries of a forward this model made in the training view; `who` names the model in the
  // error raised for an evaluation-view forward (or another model's).
  template <class Aux>
  static const Aux& aux_of(const Forward& f, const char* who) {
    const auto* a = dynamic_cast<const Aux*>(f.aux.get());
    LETHE_CHECK(a != nullptr, who << ": loss needs this model's forward(training = true)");
    return *a;
  }

  Config config_;
  Device device_ = Device::cpu();
};

// The parameter of `model` named `name` (a key of Model::parameters()); asserts, naming the model, when there
// is none.
autograd::Var parameter(Model& model, const std::string& name);

// Registry: create a model by name ("bpr", "lightgcn", "vbpr", "freedom", "mgcn").
std::unique_ptr<Model> create_model(const std::string& name, const Config& config, const TrainData& data,
                                    uint64_t seed, Device dev);
std::vector<std::string> model_names();
// The model's default configuration (MMRec overall.yaml + the model's yaml defaults).
Config default_config(const std::string& name);

}  // namespace lethe::models
