// libFuzzer target: the request parser (targets.h).
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lethe::fuzz::request(data, size);
  return 0;
}
