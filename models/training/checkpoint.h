// Model checkpoints, stored in the safetensors format (engine/formats/safetensors.h).
// A model checkpoint holds the model's parameters under their own names, optionally the Adam state
// ("m/<name>", "v/<name>", step count in metadata "adam_steps") and extra tensors (e.g. "best/<name>"),
// plus metadata: model name, config YAML, data fingerprint, epoch. Loading into another model or another
// data set fails with a message naming what was expected and what was found. Files are written to a
// temporary name and renamed, so a reader never sees a half-written checkpoint.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/optim.h"
#include "engine/error.h"
#include "engine/formats/safetensors.h"
#include "engine/tensor.h"
#include "models/model.h"

namespace lethe::training {

using models::Batch;
using models::Config;
using models::Forward;
using models::Model;
using models::TrainData;

// FNV-1a 64-bit hash (hex) of n_users, n_items, the training interactions in order, the feature table
// names and shapes, and the dropped-item flags: identifies the data a model was trained on.
std::string data_fingerprint(const TrainData& data);

struct CheckpointInfo {
  std::string model;                         // model name
  std::string config_yaml;                   // the model's configuration
  std::string fingerprint;                   // data_fingerprint of the training data
  int64_t epoch = -1;                        // last completed epoch (-1: before training)
  std::map<std::string, std::string> extra;  // further metadata (trainer state, ...)
};

// Saves model parameters, the optimizer's state when `opt` is given, and `extra_tensors`.
void save_checkpoint(const std::string& path, Model& model, const CheckpointInfo& info,
                     const autograd::Adam* opt = nullptr,
                     const std::vector<std::pair<std::string, Tensor>>& extra_tensors = {});

struct LoadOptions {
  bool check_fingerprint = true;     // refuse a checkpoint trained on other data
  std::string expected_fingerprint;  // empty: not checked even when check_fingerprint is set
  bool load_optimizer = true;        // when `opt` is given and the file has Adam state
};
// Loads parameters (bitwise) into `model` (on its device) and, when asked, Adam state into `opt`.
// Fails (lethe::Error naming the file, expected and found values) on a model-name mismatch, a missing or
// extra parameter, a shape/dtype mismatch, or a fingerprint mismatch. Returns the file's metadata.
CheckpointInfo load_checkpoint(const std::string& path, Model& model, autograd::Adam* opt = nullptr,
                               const LoadOptions& lo = {}, formats::SafeTensors* raw = nullptr);

// The metadata of a checkpoint (model, config, fingerprint, epoch, extra), without reading its tensors.
CheckpointInfo read_checkpoint_info(const std::string& path);

// Parameter values copied (on their device) — a snapshot that restore_parameters can put back.
std::vector<Tensor> snapshot_parameters(Model& model);
void restore_parameters(Model& model, const std::vector<Tensor>& snapshot);

}  // namespace lethe::training
