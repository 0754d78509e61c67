// libFuzzer target: the safetensors parser (targets.h).
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lethe::fuzz::safetensors(data, size);
  return 0;
}
