// The profiler hooks of the tape: with profiling on, each op's forward is timed as "fwd:<op>" and each
// backward closure as "bwd:<op>"; with it off, nothing is recorded.
#include <gtest/gtest.h>

#include <string>

#include "autograd/ops.h"
#include "autograd/var.h"
#include "engine/profile.h"

namespace {

int64_t calls(const std::string& name) {
  for (const auto& e : lethe::prof::entries())
    if (e.name == name) return e.calls;
  return 0;
}

void step() {
  using namespace lethe;
  autograd::Var w = autograd::param(Tensor::full({4, 3}, 0.5, DType::F32), "w");
  autograd::Var x = autograd::constant(Tensor::full({2, 4}, 1.0, DType::F32), "x");
  autograd::Var loss = autograd::mean(autograd::sigmoid(autograd::matmul(x, w)));
  autograd::backward(loss);
}

TEST(ProfileHooks, ForwardAndBackwardOpsAreTimed) {
  lethe::prof::enable(true);
  step();
  step();
  lethe::prof::enable(false);
  EXPECT_EQ(calls("fwd:matmul"), 2);
  EXPECT_EQ(calls("fwd:sigmoid"), 2);
  EXPECT_EQ(calls("fwd:mean"), 2);
  EXPECT_EQ(calls("bwd:matmul"), 2);
  EXPECT_EQ(calls("bwd:sigmoid"), 2);
  EXPECT_EQ(calls("bwd:mean"), 2);
}

TEST(ProfileHooks, NothingRecordedWhenOff) {
  lethe::prof::enable(true);
  lethe::prof::enable(false);
  step();
  EXPECT_EQ(calls("fwd:matmul"), 0);
  EXPECT_EQ(calls("bwd:matmul"), 0);
}

}  // namespace
