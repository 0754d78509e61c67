// Device parsing and CUDA availability queries.
#include "engine/device.h"

#include <cstdlib>

#include "engine/error.h"

#ifdef LETHE_WITH_CUDA
#include "engine/backend.h"
#endif

namespace lethe {

Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::cpu();
  if (s == "cuda") return Device::cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    const std::string num = s.substr(5);
    bool digits = !num.empty() && num.size() <= 4;
    for (char ch : num) digits = digits && ch >= '0' && ch <= '9';
    LETHE_CHECK(digits, "parse_device: bad device string '" << s << "' (expected cpu, cuda or cuda:N)");
    return Device::cuda(std::atoi(num.c_str()));
  }
  LETHE_CHECK(false, "parse_device: bad device string '" << s << "' (expected cpu, cuda or cuda:N)");
  return Device::cpu();  // unreachable
}

bool cuda_compiled() {
#ifdef LETHE_WITH_CUDA
  return true;
#else
  return false;
#endif
}

bool cuda_available() {
#ifdef LETHE_WITH_CUDA
  try {
    return cuda::device_count() > 0;
  } catch (...) {
    return false;
  }
#else
  return false;
#endif
}

}  // namespace lethe
