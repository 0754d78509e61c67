// libFuzzer target: the inter parser (targets.h).
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lethe::fuzz::inter(data, size);
  return 0;
}
