// Shared helpers for the CPU backend: dtype dispatch into templated kernels; work sharing in parallel.h.
#pragma once

#include <cstdint>

#include "engine/backend.h"
#include "engine/cpu/parallel.h"
#include "engine/error.h"

namespace lethe::cpu::detail {

// Calls f(T{}) with T = float or double for a floating tensor. engine/ops.cpp has validated the dtype, so
// another one is a bug in Lethe (LETHE_ASSERT), not bad input.
template <class F>
decltype(auto) dispatch_float(DType t, const char* op, F&& f) {
  if (t == DType::F32) return f(float{});
  LETHE_ASSERT(t == DType::F64, op << ": expected a floating dtype, got " << dtype_name(t));
  return f(double{});
}

// Calls f(I{}) with I = int32_t or int64_t for an index tensor.
template <class F>
decltype(auto) dispatch_index(DType t, const char* op, F&& f) {
  if (t == DType::I32) return f(int32_t{});
  LETHE_ASSERT(t == DType::I64, op << ": expected an index dtype (i32/i64), got " << dtype_name(t));
  return f(int64_t{});
}

// Calls f(T{}) for any dtype.
template <class F>
decltype(auto) dispatch_all(DType t, const char* /*op*/, F&& f) {
  switch (t) {
    case DType::F32:
      return f(float{});
    case DType::F64:
      return f(double{});
    case DType::I32:
      return f(int32_t{});
    case DType::I64:
      break;
  }
  return f(int64_t{});
}

}  // namespace lethe::cpu::detail
