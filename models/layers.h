// Building blocks shared by the recommenders: torch-compatible parameter initialisers (drawn from
// lethe::Rng, so a seed fixes every model), a Linear layer in nn.Linear layout, LightGCN propagation and
// small helpers for model dtype / feature tables. Everything differentiable is a composition of autograd ops.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "engine/rng.h"
#include "models/config.h"
#include "models/model.h"

namespace lethe::models {

// torch.nn.init.xavier_uniform_: U(-b, b), b = sqrt(6 / (rows + cols)).
Tensor xavier_uniform(int64_t rows, int64_t cols, Rng& rng, DType dtype, Device dev);
// torch.nn.init.xavier_normal_: N(0, std^2), std = sqrt(2 / (rows + cols)).
Tensor xavier_normal(int64_t rows, int64_t cols, Rng& rng, DType dtype, Device dev);
// n rows drawn like rows of a [fan_rows, cols] table under xavier_uniform / xavier_normal (the bound and
// the standard deviation use the whole table's fan).
Tensor xavier_uniform_rows(int64_t n, int64_t fan_rows, int64_t cols, Rng& rng, DType dtype, Device dev);
Tensor xavier_normal_rows(int64_t n, int64_t fan_rows, int64_t cols, Rng& rng, DType dtype, Device dev);
// n fresh rows for ID table `table` of `model` (Model::user_table / item_table), drawn as the model
// initialised it: what gold holds in a row that no retained data reaches (docs/unlearning.md, "Stopping").
Tensor fresh_id_rows(Model& model, const std::string& table, int64_t n, Rng& rng);
// dst[rows[k]] = src[k] exactly, in dst's dtype and on its device (rows distinct): adding -dst[i] gives
// exactly 0, and adding src[k] to 0 gives exactly src[k].
void set_rows(Tensor& dst, const std::vector<int32_t>& rows, const Tensor& src);
// U(-bound, bound) of the given shape.
Tensor uniform_tensor(const Shape& shape, double bound, Rng& rng, DType dtype, Device dev);

// y = x W^T + b with W [out, in] (nn.Linear layout); b undefined when the layer has no bias.
struct Linear {
  autograd::Var w, b;
  autograd::Var operator()(const autograd::Var& x) const { return autograd::linear(x, w, b); }
  int64_t num_params() const { return w.value().numel() + (b.defined() ? b.value().numel() : 0); }
};
// nn.Linear default init: weight kaiming_uniform(a = sqrt(5)) = U(+-1/sqrt(in)), bias U(+-1/sqrt(in)).
Linear linear_default(int64_t in, int64_t out, bool bias, Rng& rng, DType dtype, Device dev);

// Ordered named parameter list; `add` also names the Var (checkpoint keys follow torch's state_dict).
class ParamList {
 public:
  autograd::Var add(const std::string& name, Tensor value);
  void add_linear(const std::string& name, const Linear& l);
  const std::vector<std::pair<std::string, autograd::Var>>& items() const { return items_; }
  int64_t count() const;  // total number of scalars

 private:
  std::vector<std::pair<std::string, autograd::Var>> items_;
};

// LightGCN: E^0 = ego, E^{l+1} = adj E^l, returns mean(E^0..E^L) (layer 0 included).
autograd::Var lightgcn_propagate(const Csr& adj, const autograd::Var& ego, int64_t n_layers);

// Model dtype from config key `dtype` ("f32", or "f64" for finite-difference checks of whole models).
DType model_dtype(const Config& c);
// The data modality that fills a model's feature slot ("image" or "text"): the slot's own name when the data
// has it; for the text slot, else the one modality other than image (TikTok's audio); "" when none fits.
std::string slot_modality(const TrainData& data, const std::string& slot);
// A feature table of `data` (checked [n_items, *]) converted to dtype on dev.
Tensor feature_table(const TrainData& data, const std::string& modality, DType dtype, Device dev);
// The raw (host F32) feature table of `data`, checked [n_items, *].
const Tensor& raw_feature(const TrainData& data, const std::string& modality);
// I32 index tensor on dev.
Tensor index_tensor(const std::vector<int32_t>& v, Device dev);
// Checks the TrainData invariants shared by all models (sizes, interaction ids in range).
void check_train_data(const TrainData& data, const std::string& model);
// `active` flags for the kNN builders: 1 = item stays in the catalogue (empty item_dropped: all active).
std::vector<uint8_t> active_items(const TrainData& data);
// Hash of the item-graph inputs (feature bytes, shapes and the active flags): models skip rebuilding a frozen
// kNN graph in set_data when its inputs are unchanged (user / interaction requests), which gives the same
// graph without the I x I x width similarity GEMMs.
uint64_t item_graph_key(const std::vector<const Tensor*>& features, const std::vector<uint8_t>& active,
                        uint64_t salt);
// Reads a positive integer / a number in [lo, hi] from the config, naming the key in errors.
int64_t config_positive_int(const Config& c, const std::string& key);
// Same for keys that may be 0 (layer counts).
int64_t config_nonneg_int(const Config& c, const std::string& key);
double config_in_range(const Config& c, const std::string& key, double lo, double hi);

}  // namespace lethe::models
