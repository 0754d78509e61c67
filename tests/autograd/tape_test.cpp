// The tape itself: leaves and recording, NoGrad, gradient accumulation across backward calls, buffer
// ownership (no aliasing between gradients), very deep graphs, and error messages.
#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <vector>

#include "autograd/ops.h"
#include "autograd/var.h"
#include "engine/error.h"
#include "gradcheck.h"

namespace lethe {
namespace {

using autograd::Var;
using test::sum_all;
using test::uniform;

std::vector<double> host(const Tensor& t) { return t.to_vector<double>(); }

TEST(Tape, LeavesAndRecording) {
  const Var p = autograd::param(uniform({2, 3}, 1), "w");
  const Var c = autograd::constant(uniform({2, 3}, 2), "c");
  EXPECT_TRUE(p.requires_grad());
  EXPECT_FALSE(c.requires_grad());
  EXPECT_EQ(p.name(), "w");
  EXPECT_EQ(std::string(p.op()), "param");
  EXPECT_EQ(std::string(c.op()), "constant");
  EXPECT_FALSE(p.grad().defined());

  const Var y = autograd::mul(p, c);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(std::string(y.op()), "mul");
  ASSERT_EQ(y.node()->inputs.size(), 2u);
  EXPECT_TRUE(static_cast<bool>(y.node()->backward));

  // Constants only: the result is a plain value with nothing recorded.
  const Var z = autograd::add(c, c);
  EXPECT_FALSE(z.requires_grad());
  EXPECT_TRUE(z.node()->inputs.empty());
  EXPECT_FALSE(static_cast<bool>(z.node()->backward));
  EXPECT_THROW(autograd::backward(autograd::mean(z)), Error);
}

TEST(Tape, NoGradRecordsNothing) {
  const Var p = autograd::param(uniform({2, 3}, 3));
  EXPECT_TRUE(autograd::grad_enabled());
  {
    autograd::NoGrad outer;
    EXPECT_FALSE(autograd::grad_enabled());
    {
      autograd::NoGrad inner;
      EXPECT_FALSE(autograd::grad_enabled());
    }
    EXPECT_FALSE(autograd::grad_enabled());  // the inner scope restores the outer state, not "enabled"
    const Var y = sum_all(autograd::mul(p, p));
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.node()->inputs.empty());
    EXPECT_FALSE(static_cast<bool>(y.node()->backward));
    const std::vector<double> pv = host(p.value());
    double expect = 0;
    for (double v : pv) expect += v * v;
    EXPECT_NEAR(y.value().item(), expect, 1e-12);  // the forward value is still computed
  }
  EXPECT_TRUE(autograd::grad_enabled());
}

TEST(Tape, GradientsAccumulateAcrossBackwardCalls) {
  const Var p = autograd::param(uniform({3, 2}, 4));
  const auto loss_of = [&] { return test::weighted_sum(autograd::mul(p, p)); };
  const Var l1 = loss_of();
  autograd::backward(l1);
  const std::vector<double> g1 = host(p.grad());

  // A second, separate graph: adds to the leaf's gradient.
  autograd::backward(loss_of());
  std::vector<double> g2 = host(p.grad());
  for (size_t i = 0; i < g1.size(); ++i) EXPECT_NEAR(g2[i], 2 * g1[i], 1e-12);

  // The first graph again: intermediate gradients from its first pass must not leak into this one.
  autograd::backward(l1);
  g2 = host(p.grad());
  for (size_t i = 0; i < g1.size(); ++i) EXPECT_NEAR(g2[i], 3 * g1[i], 1e-12);
}

TEST(Tape, GradientBuffersNeverAlias) {
  // add() passes one incoming gradient to both inputs; each must get its own buffer.
  Var a = autograd::param(uniform({2, 2}, 5)), b = autograd::param(uniform({2, 2}, 6));
  autograd::backward(test::weighted_sum(autograd::add(a, b)));
  const std::vector<double> gb = host(b.grad());
  ops::fill(a.mutable_grad(), 7.0);  // mutate a's buffer in place: b's must not change
  EXPECT_EQ(host(b.grad()), gb);

  // Shared node used twice: the gradient of y is the sum over both uses.
  const Var x = autograd::param(Tensor::from_vector(std::vector<double>{1.0, 2.0}));
  const Var y = autograd::scale(x, 3.0);
  autograd::backward(sum_all(autograd::add(y, autograd::mul(y, y))));  // d/dx = 3 + 2 * 9 x
  EXPECT_EQ(host(x.grad()), (std::vector<double>{21.0, 39.0}));
}

TEST(Tape, BackwardFromLeafAndWithSeed) {
  const Var s = autograd::param(Tensor::from_vector(std::vector<double>{2.0}));
  autograd::backward(s);
  EXPECT_EQ(host(s.grad()), std::vector<double>{1.0});

  const Var x = autograd::param(Tensor::from_vector(std::vector<double>{1.0, -2.0, 3.0}));
  const Var y = autograd::mul(x, x);
  EXPECT_THROW(autograd::backward(y), Error);  // not a scalar: needs a seed
  autograd::backward(y, Tensor::from_vector(std::vector<double>{1.0, 0.5, -1.0}));
  EXPECT_EQ(host(x.grad()), (std::vector<double>{2.0, -2.0, -6.0}));
}

// Builds, backpropagates and drops a 50k-op chain on a thread with a 512 KiB stack: any per-level recursion
// (topological sort, backward, Node destruction) would overflow it.
struct DeepChainResult {
  double value = 0.0, grad = 0.0;
};

void* run_deep_chain(void* arg) {
  auto* out = static_cast<DeepChainResult*>(arg);
  const Var x = autograd::param(Tensor::from_vector(std::vector<double>{0.5}));
  {
    Var y = x;
    for (int i = 0; i < 50000; ++i) y = autograd::add_scalar(y, 1e-5);
    y = autograd::scale(y, 2.0);
    autograd::backward(y);
    out->value = y.value().item();
  }  // the chain is released here
  out->grad = x.grad().item();
  return nullptr;
}

TEST(Tape, DeepGraphOnSmallStack) {
  DeepChainResult res;
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, 512 * 1024), 0);
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, &attr, run_deep_chain, &res), 0);
  ASSERT_EQ(pthread_join(th, nullptr), 0);
  pthread_attr_destroy(&attr);
  EXPECT_NEAR(res.value, 2.0 * (0.5 + 0.5), 1e-9);
  EXPECT_EQ(res.grad, 2.0);
}

TEST(Tape, FrobeniusOfZeroHasZeroGradient) {  // torch masks the 0/0 of a / ||a|| at a = 0
  const Var a = autograd::param(Tensor::zeros({2, 3}, DType::F64));
  const Var y = autograd::frobenius(a);
  EXPECT_EQ(y.value().item(), 0.0);
  autograd::backward(y);
  EXPECT_EQ(host(a.grad()), std::vector<double>(6, 0.0));
}

TEST(Tape, UnusedInputsGetNoGradient) {
  const Var a = autograd::param(uniform({2, 3}, 7)), b = autograd::param(uniform({2, 3}, 8));
  autograd::backward(sum_all(a));
  EXPECT_TRUE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());
}

TEST(Tape, ErrorsNameOpAndShapes) {
  const Var a = autograd::param(uniform({2, 3}, 9)), b = autograd::param(uniform({4, 5}, 10));
  try {
    autograd::matmul(a, b);
    FAIL() << "matmul with mismatched shapes did not throw";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("matmul"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4, 5]"), std::string::npos) << msg;
  }
  try {
    autograd::add(a, b);
    FAIL() << "add with mismatched shapes did not throw";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("add"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4, 5]"), std::string::npos) << msg;
  }
  EXPECT_THROW(autograd::linear(a, b, Var()), Error);
  EXPECT_THROW(autograd::slice_rows(a, 1, 3), Error);
  EXPECT_THROW(autograd::mean(Var()), Error);
  EXPECT_THROW(Var().value(), Error);
}

}  // namespace
}  // namespace lethe
