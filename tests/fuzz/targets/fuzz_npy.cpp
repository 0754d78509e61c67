// libFuzzer target: the npy parser (targets.h).
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lethe::fuzz::npy(data, size);
  return 0;
}
