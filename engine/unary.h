// The elementwise functions of ops::unary and ops::unary_backward (engine/ops.h), in a header of their own so
// that the backend declarations (engine/backend.h) need only this enum, not the whole public op API.
// LETHE_UNARY_OPS lists them once; the enum, unary_name and the kernel test table
// (tests/engine/kernel_cases.h) are expanded from that list.
#pragma once

#define LETHE_UNARY_OPS(X)    \
  X(Neg, "neg")               \
  X(Log, "log")               \
  X(Sigmoid, "sigmoid")       \
  X(Tanh, "tanh")             \
  X(LogSigmoid, "logsigmoid") \
  X(Relu, "relu")             \
  X(Square, "square")         \
  X(Sqrt, "sqrt")             \
  X(Rsqrt, "rsqrt")

namespace lethe::ops {

enum class Unary {
#define LETHE_UNARY_ENUM(e, name) e,
  LETHE_UNARY_OPS(LETHE_UNARY_ENUM)
#undef LETHE_UNARY_ENUM
};

constexpr const char* unary_name(Unary op) {
  switch (op) {
#define LETHE_UNARY_NAME(e, name) \
  case Unary::e:                  \
    return name;
    LETHE_UNARY_OPS(LETHE_UNARY_NAME)
#undef LETHE_UNARY_NAME
  }
  return "?";
}

}  // namespace lethe::ops
