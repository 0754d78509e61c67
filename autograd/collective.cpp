// Differentiable collectives (collective.h).
#include "autograd/collective.h"

#include "engine/ops.h"

namespace lethe::autograd {

Var frobenius_over_ranks(const Var& x, comm::Communicator& comm) {
  const Tensor xv = x.value();
  Tensor ss = xv.numel() > 0 ? ops::sumsq(xv) : Tensor::zeros({1}, xv.dtype(), xv.device());
  comm.allreduce_sum(ss);
  const double ranks = static_cast<double>(comm.size());
  return make_node("frobenius_over_ranks", ops::unary(ops::Unary::Sqrt, ss), {x}, [xv, ss, ranks](Node& n) {
    if (xv.numel() == 0) return;
    // g x / ||x|| (0 where the norm is 0, as autograd::frobenius), times the P ranks' identical uses.
    const Tensor ratio = ops::scale(ops::mul(n.grad, ops::unary(ops::Unary::Rsqrt, ss)), ranks);
    const Tensor g = ops::unary_backward(ops::Unary::Relu, ss, ss, ratio);
    accumulate_owned(n.inputs[0], ops::mul_rowvec(xv.reshape({xv.numel(), 1}), g).reshape(xv.shape()));
  });
}

}  // namespace lethe::autograd
