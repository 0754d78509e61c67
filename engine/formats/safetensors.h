// The safetensors format (readable by PyTorch's safetensors and by NumPy):
//   8-byte little-endian header length N, an N-byte JSON header
//   {name: {"dtype": "F32"|"F64"|"I32"|"I64", "shape": [...], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {string: string}}, then the raw little-endian tensor bytes (offsets relative to them).
// Used for model checkpoints (models/training/checkpoint.h) and for the serving embeddings
// (models/inference.h), which is why it lives here and not with training.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace lethe::formats {

struct SafeTensors {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order, CPU tensors
  std::map<std::string, std::string> metadata;
  const Tensor* find(const std::string& name) const;  // nullptr when absent
};
// Writes tensors (any device; copied to the host) atomically (atomic_file.h).
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata);
SafeTensors read_safetensors(const std::string& path);
// The same parser over bytes in memory; `name` stands for the file in messages.
SafeTensors read_safetensors_bytes(const std::string& bytes, const std::string& name);
// Only the header's metadata (cheap: does not read the tensor data).
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path);

}  // namespace lethe::formats
