// Internal helpers shared by tensor.cpp, ops.cpp and sparse.cpp: backend dispatch by device and the
// "name the op and both tensors" message pieces.
#pragma once

#include <string>

#include "engine/backend.h"
#include "engine/error.h"
#include "engine/tensor.h"

namespace lethe::detail {

// "f32[3, 4]" (no device): the signature used in error messages.
inline std::string sig(const Tensor& t) {
  return t.defined() ? std::string(dtype_name(t.dtype())) + shape_str(t.shape()) : std::string("undefined");
}

[[noreturn]] inline void no_cuda(const char* op) {
  throw Error(std::string(op) + ": CUDA backend not compiled");
}

}  // namespace lethe::detail

// LETHE_DISPATCH(device, fn, args...): calls lethe::cpu::fn or lethe::cuda::fn.
#ifdef LETHE_WITH_CUDA
#define LETHE_DISPATCH(dev, fn, ...) \
  ((dev).is_cuda() ? ::lethe::cuda::fn(__VA_ARGS__) : ::lethe::cpu::fn(__VA_ARGS__))
#else
#define LETHE_DISPATCH(dev, fn, ...)                                                \
  ((dev).is_cuda() ? (::lethe::detail::no_cuda(#fn), ::lethe::cpu::fn(__VA_ARGS__)) \
                   : ::lethe::cpu::fn(__VA_ARGS__))
#endif
