// Devices (CPU, CUDA), error checking and the CUDA availability query.
#pragma once

#include <sstream>
#include <stdexcept>
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

// Error raised for every user-visible failure (bad shapes, bad input files, bad requests...).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
[[noreturn]] void throw_error(const char* file, int line, const std::string& msg);
}

}  // namespace lethe

// LETHE_CHECK(cond, "op: message " << value): throws lethe::Error with the streamed message.
#define LETHE_CHECK(cond, msg)                                  \
  do {                                                          \
    if (!(cond)) {                                              \
      std::ostringstream lethe_oss_;                            \
      lethe_oss_ << msg;                                        \
      ::lethe::detail::throw_error(__FILE__, __LINE__, lethe_oss_.str()); \
    }                                                           \
  } while (0)
