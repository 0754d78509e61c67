// The throwing helpers behind LETHE_CHECK and LETHE_ASSERT (error.h).
#include "engine/error.h"

#include <cstring>
#include <sstream>

namespace lethe::detail {

void throw_error(const std::string& msg) { throw Error(msg); }

void throw_internal(const char* file, int line, const std::string& msg) {
  // Keep the path from the repository root on ("engine/cuda/blas.cu:12"), not the build machine's prefix.
  const char* rel = file;
  for (const char* top : {"engine/", "autograd/", "datasets/", "models/", "apps/", "tests/", "bench/"})
    if (const char* p = std::strstr(file, top)) {
      rel = p;
      break;
    }
  std::ostringstream os;  // (not string concatenation: GCC 12 warns falsely on it at -O2)
  os << "internal error at " << rel << ":" << line << ": " << msg;
  throw Error(os.str());
}

}  // namespace lethe::detail
