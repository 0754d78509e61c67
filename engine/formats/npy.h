// NumPy .npy files (format versions 1.0, 2.0 and 3.0): read little-endian float arrays ('<f2', '<f4',
// '<f8', C order) into F32 host tensors, and write F32 tensors as '<f4' version 1.0 files.
#pragma once

#include <string>

#include "engine/error.h"
#include "engine/tensor.h"

namespace lethe::formats {

struct NpyArray {
  Tensor values;      // F32 on CPU, shape as in the file (float16 and float64 converted; f16 exactly)
  std::string dtype;  // "f16", "f32" or "f64" (on disk)
};

// Throws lethe::Error naming the file for: bad magic, unsupported version, malformed header, a dtype other
// than '<f2'/'<f4'/'<f8', fortran_order True, a file shorter than its header says (truncated) and bytes
// after the data.
NpyArray read_npy(const std::string& path);
// The same parser over bytes in memory; `name` stands for the file in messages.
NpyArray read_npy_bytes(const std::string& bytes, const std::string& name);

// Writes a 1-D or 2-D F32 host tensor as '<f4', C order, version 1.0; written to a temporary name in the
// same directory and renamed, so readers never see a partial file.
void write_npy(const std::string& path, const Tensor& values);

// IEEE binary16 -> binary32 (exact for every value, including subnormals, infinities and NaNs).
float half_to_float(uint16_t h);

}  // namespace lethe::formats
