// Tensor: a typed, shaped, contiguous row-major view onto a device buffer.
//
// Lethe keeps tensors deliberately simple: always contiguous, row-major, at most a few dimensions (the
// models need 1-D vectors and 2-D matrices). A tensor shares its Storage with its views (reshape, row
// ranges); copies between devices are explicit (`to`). CPU buffers are 64-byte aligned; CUDA buffers come
// from a caching allocator (engine/cuda/allocator.cu).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/error.h"

namespace lethe {

enum class DType : uint8_t { F32, F64, I32, I64 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::F32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::F64;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::I32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::I64;
}
inline bool is_float(DType t) { return t == DType::F32 || t == DType::F64; }

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);

// Owns one allocation on one device. Freed through the device's allocator.
class Storage {
 public:
  Storage(size_t bytes, Device dev);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return dev_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  Device dev_;
};

class Tensor {
 public:
  Tensor() = default;

  // Factories. Contents of `empty` are uninitialised.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device dev = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device dev = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device dev = Device::cpu());
  // Copies host data into a new tensor on `dev`; data.size() must equal the shape's element count.
  template <class T>
  static Tensor from_vector(const std::vector<T>& data, const Shape& shape, Device dev = Device::cpu());
  template <class T>
  static Tensor from_vector(const std::vector<T>& data) {
    return from_vector(data, Shape{static_cast<int64_t>(data.size())});
  }
  static Tensor scalar(double value, DType dtype = DType::F32, Device dev = Device::cpu()) {
    return full({1}, value, dtype, dev);
  }

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;
  int64_t numel() const { return numel_; }
  // A 2-D reading of any tensor: rows = shape[0] (1 for a scalar), cols = numel / rows.
  int64_t rows() const { return shape_.empty() ? 1 : shape_[0]; }
  int64_t cols() const { return rows() == 0 ? 0 : numel_ / rows(); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  bool is_cpu() const { return device().is_cpu(); }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  void* raw() const;
  // Typed pointer; throws if T does not match dtype().
  template <class T>
  T* data() const;

  // Views sharing storage.
  Tensor reshape(const Shape& shape) const;
  Tensor row_range(int64_t begin, int64_t end) const;  // rows [begin, end) of a 2-D (or 1-D) tensor

  // Copies.
  Tensor to(Device dev) const;  // a copy on dev (a plain copy even if already there)
  Tensor clone() const { return to(device()); }
  Tensor astype(DType t) const;       // numeric conversion (float<->float, int<->int, int->float)
  void copy_from(const Tensor& src);  // same shape & dtype, any devices

  // Host read-back (copies from the device when needed).
  template <class T>
  std::vector<T> to_vector() const;
  double item() const;  // value of a one-element tensor, converted to double

  std::string describe() const;  // "f32[3, 4] on cpu"

 private:
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;  // in elements
  Shape shape_;
  int64_t numel_ = 0;
  DType dtype_ = DType::F32;
};

int64_t shape_numel(const Shape& s);

// Host allocator cache (engine/tensor.cpp): bytes held in freed blocks kept for reuse, and a way to hand
// them back to the OS (the cache is capped by LETHE_HOST_CACHE_MB, default 2048).
size_t host_cache_bytes();
void release_host_cache();

// Raw copy of `bytes` between (possibly different) devices.
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);

}  // namespace lethe
