// Differentiable operations. Each op's forward and backward live side by side in autograd/ops.cpp and are
// built from the kernels in engine/ops.h, so they run on every backend. Model blocks (LightGCN propagation,
// MGCN fusion, BPR losses) are compositions of these and have no backward code of their own.
//
// The ops are listed once, with their signatures and comments, in autograd/ops.inc; every op there has a
// float64 central-difference gradient check and a CPU/CUDA parity case in tests/autograd/op_cases.h.
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/var.h"
#include "engine/ops.h"
#include "engine/sparse.h"

namespace lethe::autograd {

#define LETHE_AUTOGRAD_OP(ret, name, params) ret name params;
#include "autograd/ops.inc"
#undef LETHE_AUTOGRAD_OP

}  // namespace lethe::autograd
