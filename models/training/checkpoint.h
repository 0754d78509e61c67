// Checkpoints in the safetensors format (readable by PyTorch's safetensors and by NumPy):
//   8-byte little-endian header length N, an N-byte JSON header
//   {name: {"dtype": "F32"|"F64"|"I32"|"I64", "shape": [...], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {string: string}}, then the raw little-endian tensor bytes (offsets relative to them).
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
#include "engine/tensor.h"
#include "models/model.h"

namespace lethe::models {

// ---- raw safetensors -------------------------------------------------------------------------------
struct SafeTensors {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order, CPU tensors
  std::map<std::string, std::string> metadata;
  const Tensor* find(const std::string& name) const;  // nullptr when absent
};
// Writes tensors (any device; copied to the host) atomically: path + ".tmp" then rename.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata);
SafeTensors read_safetensors(const std::string& path);
// Only the header's metadata (cheap: does not read the tensor data).
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path);

// ---- model checkpoints -----------------------------------------------------------------------------
// FNV-1a 64-bit hash (hex) of n_users, n_items, the training interactions in order, the feature table
// names and shapes, and the dropped-item flags: identifies the data a model was trained on.
std::string data_fingerprint(const TrainData& data);

struct CheckpointInfo {
  std::string model;        // model name
  std::string config_yaml;  // the model's configuration
  std::string fingerprint;  // data_fingerprint of the training data
  int64_t epoch = -1;       // last completed epoch (-1: before training)
  std::map<std::string, std::string> extra;  // further metadata (trainer state, ...)
};

// Saves model parameters, the optimizer's state when `opt` is given, and `extra_tensors`.
void save_checkpoint(const std::string& path, Model& model, const CheckpointInfo& info,
                     const ag::Adam* opt = nullptr,
                     const std::vector<std::pair<std::string, Tensor>>& extra_tensors = {});

struct LoadOptions {
  bool check_fingerprint = true;  // refuse a checkpoint trained on other data
  std::string expected_fingerprint;  // empty: not checked even when check_fingerprint is set
  bool load_optimizer = true;     // when `opt` is given and the file has Adam state
};
// Loads parameters (bitwise) into `model` (on its device) and, when asked, Adam state into `opt`.
// Fails (lethe::Error naming the file, expected and found values) on a model-name mismatch, a missing or
// extra parameter, a shape/dtype mismatch, or a fingerprint mismatch. Returns the file's metadata.
CheckpointInfo load_checkpoint(const std::string& path, Model& model, ag::Adam* opt = nullptr,
                               const LoadOptions& lo = {}, SafeTensors* raw = nullptr);

// Parameter values copied (on their device) — a snapshot that restore_parameters can put back.
std::vector<Tensor> snapshot_parameters(Model& model);
void restore_parameters(Model& model, const std::vector<Tensor>& snapshot);

// Writes `text` to path atomically (temp file + rename). Used for every run-directory file.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace lethe::models
