// Devices (CPU, CUDA) and the CUDA availability query.
#pragma once

#include <string>

namespace lethe {

enum class DeviceKind : unsigned char { CPU, CUDA };

struct Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;
  static Device cpu() { return {DeviceKind::CPU, 0}; }
  static Device cuda(int i = 0) { return {DeviceKind::CUDA, i}; }
  bool is_cpu() const { return kind == DeviceKind::CPU; }
  bool is_cuda() const { return kind == DeviceKind::CUDA; }
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

// Parses "cpu", "cuda", "cuda:1".
Device parse_device(const std::string& s);

// True when the CUDA backend is compiled in and at least one GPU is usable.
bool cuda_available();
// True when the CUDA backend is compiled in (even without a GPU).
bool cuda_compiled();

}  // namespace lethe
