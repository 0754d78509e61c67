// Differentiable operations: each op's forward and backward side by side, built only from engine kernels
// (engine/ops.h, engine/sparse.h) so they run on every backend. Backward closures read the output node's
// gradient (n.grad) and inputs (n.inputs) and add into the inputs' gradients; they capture tensors only,
// never Vars, so the graph holds no cycles. Scalar ([1]) results and their gradients stay on the device:
// a [1] gradient is broadcast with a device-side row-vector op, never read back to the host.
#include "autograd/ops.h"

#include <cmath>
#include <utility>

#include "engine/error.h"
#include "engine/profile.h"

namespace lethe::autograd {

namespace {

std::string sig(const Tensor& t) {
  return t.defined() ? std::string(dtype_name(t.dtype())) + shape_str(t.shape()) : std::string("undefined");
}
std::string sig(const Var& v) { return v.defined() ? sig(v.value()) : std::string("undefined"); }

void need(const char* op, const Var& v) { LETHE_CHECK(v.defined(), op << ": undefined input"); }

void need_same_shape(const char* op, const Var& a, const Var& b) {
  need(op, a);
  need(op, b);
  LETHE_CHECK(a.shape() == b.shape(), op << ": shapes differ: " << sig(a) << " vs " << sig(b));
}

// Whether backward should compute the gradient of input i.
bool wants(const Node& n, size_t i) { return i < n.inputs.size() && n.inputs[i].requires_grad(); }

// Adds the output gradient unchanged into input i, handing over the buffer itself when the input has no
// gradient yet (n.grad is uniquely owned by n and freed after its closure anyway). Must be the closure's
// last use of n.grad.
void pass_through(Node& n, size_t i) {
  if (wants(n, i)) accumulate_owned(n.inputs[i], std::move(n.grad));
}

// v.grad += s g, without a zero-filled buffer when v has no gradient yet.
void add_scaled(const Var& v, double s, const Tensor& g) {
  if (!v.requires_grad()) return;
  if (v.grad().defined())
    ops::axpy(s, g, grad_buffer(v));
  else
    accumulate_owned(v, ops::scale(g, s));
}

// g ([1], on the device) broadcast to `shape`, optionally times x (same shape): no host synchronisation.
Tensor broadcast_scalar(const Tensor& g, const Shape& shape) {
  const int64_t n = shape_numel(shape);
  return ops::mul_rowvec(Tensor::full({n, 1}, 1.0, g.dtype(), g.device()), g).reshape(shape);
}
Tensor times_scalar(const Tensor& x, const Tensor& g) {
  return ops::mul_rowvec(x.reshape({x.numel(), 1}), g).reshape(x.shape());
}

// Elementwise op y = f(x) from the engine's unary table; backward via ops::unary_backward.
Var unary_op(const char* name, ops::Unary op, const Var& a) {
  LETHE_PROFILE_SCOPE("fwd:", name);
  need(name, a);
  const Tensor x = a.value();
  Tensor y = ops::unary(op, x);
  return make_node(name, y, {a}, [op, x](Node& n) {
    accumulate_owned(n.inputs[0], ops::unary_backward(op, x, n.value, n.grad));
  });
}

}  // namespace

// ---- linear algebra ---------------------------------------------------------------------------------

Var matmul(const Var& a, const Var& b, bool trans_a, bool trans_b) {
  LETHE_PROFILE_SCOPE("fwd:matmul");
  need("matmul", a);
  need("matmul", b);
  const Tensor& av = a.value();
  const Tensor& bv = b.value();
  LETHE_CHECK(av.ndim() == 2 && bv.ndim() == 2,
              "matmul: expects 2-D operands, got a " << sig(av) << ", b " << sig(bv));
  const int64_t k_a = trans_a ? av.dim(0) : av.dim(1);
  const int64_t k_b = trans_b ? bv.dim(1) : bv.dim(0);
  LETHE_CHECK(k_a == k_b, "matmul: inner dimensions differ: a " << sig(av) << (trans_a ? "^T" : "") << " x b "
                                                                << sig(bv) << (trans_b ? "^T" : ""));
  Tensor y = ops::matmul(av, bv, trans_a, trans_b);
  return make_node("matmul", y, {a, b}, [av, bv, trans_a, trans_b](Node& n) {
    const Tensor& g = n.grad;  // [m, p] = op(A) [m, k] x op(B) [k, p]
    // Each case adds straight into the input's gradient buffer (beta = 1); no explicit transposes.
    if (wants(n, 0)) {
      Tensor& ga = grad_buffer(n.inputs[0]);
      if (!trans_a && !trans_b)
        ops::gemm(g, false, bv, true, ga, 1.0, 1.0);  // g B^T
      else if (!trans_a && trans_b)
        ops::gemm(g, false, bv, false, ga, 1.0, 1.0);  // g B
      else if (trans_a && !trans_b)
        ops::gemm(bv, false, g, true, ga, 1.0, 1.0);  // B g^T
      else
        ops::gemm(bv, true, g, true, ga, 1.0, 1.0);  // B^T g^T
    }
    if (wants(n, 1)) {
      Tensor& gb = grad_buffer(n.inputs[1]);
      if (!trans_a && !trans_b)
        ops::gemm(av, true, g, false, gb, 1.0, 1.0);  // A^T g
      else if (!trans_a && trans_b)
        ops::gemm(g, true, av, false, gb, 1.0, 1.0);  // g^T A
      else if (trans_a && !trans_b)
        ops::gemm(av, false, g, false, gb, 1.0, 1.0);  // A g
      else
        ops::gemm(g, true, av, true, gb, 1.0, 1.0);  // g^T A^T
    }
  });
}

Var spmm(const Csr& a, const Var& x) {
  LETHE_PROFILE_SCOPE("fwd:spmm");
  need("spmm", x);
  LETHE_CHECK(a.cols == x.rows(), "spmm: A " << a.describe() << " does not match x " << sig(x));
  Tensor y = ops::spmm(a, x.value());
  // A is constant (the normalised adjacency); the Csr shares its buffers, so the capture is cheap.
  return make_node("spmm", y, {x}, [a](Node& n) {
    ops::spmm(a, /*trans_a=*/true, n.grad, grad_buffer(n.inputs[0]), 1.0, 1.0);  // gx += A^T g
  });
}

Var linear(const Var& x, const Var& w, const Var& b) {
  LETHE_PROFILE_SCOPE("fwd:linear");
  need("linear", x);
  need("linear", w);
  const Tensor& xv = x.value();
  const Tensor& wv = w.value();
  LETHE_CHECK(
      xv.ndim() == 2 && wv.ndim() == 2 && xv.dim(1) == wv.dim(1),
      "linear: x " << sig(xv) << " does not match W " << sig(wv) << " (expects x [n, in], W [out, in])");
  Tensor y = ops::matmul(xv, wv, false, true);  // x W^T
  std::vector<Var> inputs{x, w};
  if (b.defined()) {
    LETHE_CHECK(b.value().numel() == wv.dim(0),
                "linear: bias " << sig(b) << " does not match W " << sig(wv) << " (expects b [out])");
    y = ops::add_rowvec(y, b.value());
    inputs.push_back(b);
  }
  return make_node("linear", y, std::move(inputs), [xv, wv](Node& n) {
    const Tensor& g = n.grad;                                                             // [n, out]
    if (wants(n, 0)) ops::gemm(g, false, wv, false, grad_buffer(n.inputs[0]), 1.0, 1.0);  // gx += g W
    if (wants(n, 1)) ops::gemm(g, true, xv, false, grad_buffer(n.inputs[1]), 1.0, 1.0);   // gW += g^T x
    if (wants(n, 2)) {
      const Var& bias = n.inputs[2];
      accumulate_owned(bias, ops::sum_cols(g).reshape(bias.shape()));  // gb += column sums of g
    }
  });
}

// ---- elementwise ------------------------------------------------------------------------------------

Var add(const Var& a, const Var& b) {
  LETHE_PROFILE_SCOPE("fwd:add");
  need_same_shape("add", a, b);
  return make_node("add", ops::add(a.value(), b.value()), {a, b}, [](Node& n) {
    accumulate(n.inputs[1], n.grad);
    pass_through(n, 0);
  });
}

Var sub(const Var& a, const Var& b) {
  LETHE_PROFILE_SCOPE("fwd:sub");
  need_same_shape("sub", a, b);
  return make_node("sub", ops::sub(a.value(), b.value()), {a, b}, [](Node& n) {
    if (wants(n, 1)) add_scaled(n.inputs[1], -1.0, n.grad);
    pass_through(n, 0);
  });
}

Var mul(const Var& a, const Var& b) {
  LETHE_PROFILE_SCOPE("fwd:mul");
  need_same_shape("mul", a, b);
  const Tensor av = a.value(), bv = b.value();
  return make_node("mul", ops::mul(av, bv), {a, b}, [av, bv](Node& n) {
    if (wants(n, 0)) accumulate_owned(n.inputs[0], ops::mul(n.grad, bv));
    if (wants(n, 1)) accumulate_owned(n.inputs[1], ops::mul(n.grad, av));
  });
}

Var scale(const Var& a, double s) {
  LETHE_PROFILE_SCOPE("fwd:scale");
  need("scale", a);
  return make_node("scale", ops::scale(a.value(), s), {a},
                   [s](Node& n) { add_scaled(n.inputs[0], s, n.grad); });
}

Var add_scalar(const Var& a, double s) {
  LETHE_PROFILE_SCOPE("fwd:add_scalar");
  need("add_scalar", a);
  return make_node("add_scalar", ops::add_scalar(a.value(), s), {a}, [](Node& n) { pass_through(n, 0); });
}

Var scale_rows(const Var& a, const Var& s) {
  LETHE_PROFILE_SCOPE("fwd:scale_rows");
  need("scale_rows", a);
  need("scale_rows", s);
  const Tensor av = a.value(), sv = s.value();
  return make_node("scale_rows", ops::scale_rows(av, sv), {a, s}, [av, sv](Node& n) {
    if (wants(n, 0)) accumulate_owned(n.inputs[0], ops::scale_rows(n.grad, sv));
    if (wants(n, 1)) accumulate_owned(n.inputs[1], ops::rowdot(n.grad, av).reshape(sv.shape()));
  });
}

Var neg(const Var& a) { return unary_op("neg", ops::Unary::Neg, a); }
Var log(const Var& a) { return unary_op("log", ops::Unary::Log, a); }
Var sigmoid(const Var& a) { return unary_op("sigmoid", ops::Unary::Sigmoid, a); }
Var tanh(const Var& a) { return unary_op("tanh", ops::Unary::Tanh, a); }
Var logsigmoid(const Var& a) { return unary_op("logsigmoid", ops::Unary::LogSigmoid, a); }

// ---- reductions -------------------------------------------------------------------------------------

Var mean(const Var& a) {
  LETHE_PROFILE_SCOPE("fwd:mean");
  need("mean", a);
  const int64_t count = a.value().numel();
  LETHE_CHECK(count > 0, "mean: empty input " << sig(a));
  const double inv = 1.0 / static_cast<double>(count);
  return make_node("mean", ops::scale(ops::sum(a.value()), inv), {a}, [inv](Node& n) {
    accumulate_owned(n.inputs[0], broadcast_scalar(ops::scale(n.grad, inv), n.inputs[0].shape()));
  });
}

Var sumsq(const Var& a) {
  LETHE_PROFILE_SCOPE("fwd:sumsq");
  need("sumsq", a);
  const Tensor av = a.value();
  return make_node("sumsq", ops::sumsq(av), {a}, [av](Node& n) {
    accumulate_owned(n.inputs[0], times_scalar(av, ops::scale(n.grad, 2.0)));  // 2 a g
  });
}

Var frobenius(const Var& a) {
  LETHE_PROFILE_SCOPE("fwd:frobenius");
  need("frobenius", a);
  const Tensor av = a.value();
  const Tensor ss = ops::sumsq(av);
  // Backward: g a / ||a||, with 1 / ||a|| = rsqrt(sum of squares) computed on the device. At a = 0 the
  // gradient is 0, as in torch (norm_backward masks norm == 0): the relu backward kernel selects
  // "ss > 0 ? ratio : 0", dropping the infinite ratio there.
  return make_node("frobenius", ops::unary(ops::Unary::Sqrt, ss), {a}, [av, ss](Node& n) {
    const Tensor ratio = ops::mul(n.grad, ops::unary(ops::Unary::Rsqrt, ss));
    accumulate_owned(n.inputs[0], times_scalar(av, ops::unary_backward(ops::Unary::Relu, ss, ss, ratio)));
  });
}

Var rowdot(const Var& a, const Var& b) {
  LETHE_PROFILE_SCOPE("fwd:rowdot");
  need_same_shape("rowdot", a, b);
  const Tensor av = a.value(), bv = b.value();
  return make_node("rowdot", ops::rowdot(av, bv), {a, b}, [av, bv](Node& n) {
    if (wants(n, 0)) accumulate_owned(n.inputs[0], ops::scale_rows(bv, n.grad));
    if (wants(n, 1)) accumulate_owned(n.inputs[1], ops::scale_rows(av, n.grad));
  });
}

// ---- rows -------------------------------------------------------------------------------------------

Var gather_rows(const Var& src, const Tensor& idx) {
  LETHE_PROFILE_SCOPE("fwd:gather_rows");
  need("gather_rows", src);
  return make_node("gather_rows", ops::gather_rows(src.value(), idx), {src}, [idx](Node& n) {
    ops::scatter_add_rows(grad_buffer(n.inputs[0]), idx, n.grad);  // duplicates add up
  });
}

// ---- row-wise normalisations ------------------------------------------------------------------------

Var l2norm_rows(const Var& x, double eps) {
  LETHE_PROFILE_SCOPE("fwd:l2norm_rows");
  need("l2norm_rows", x);
  const Tensor xv = x.value();
  Tensor norms;  // clamped: max(||x_r||, eps)
  Tensor y = ops::l2norm_rows(xv, eps, &norms);
  return make_node("l2norm_rows", y, {x}, [xv, norms, eps](Node& n) {
    // y = x / max(||x||, eps). Unclamped rows: gx = (g - y <g, y>) / ||x||. Clamped rows (||x|| < eps) are
    // x / eps, so gx = g / eps. Both read gx = (g - y c) / norm with c = <g, y> * [||x|| > eps]; the
    // indicator is relu'(||x|| - eps), evaluated on the device by the relu backward kernel.
    const Tensor& y = n.value;
    const Tensor raw = ops::unary(ops::Unary::Sqrt, ops::rowdot(xv, xv));
    const Tensor shifted = ops::add_scalar(raw, -eps);
    const Tensor c = ops::unary_backward(ops::Unary::Relu, shifted, shifted, ops::rowdot(n.grad, y));
    const Tensor inv = ops::unary(ops::Unary::Rsqrt, ops::unary(ops::Unary::Square, norms));  // 1 / norm
    accumulate_owned(n.inputs[0], ops::scale_rows(ops::sub(n.grad, ops::scale_rows(y, c)), inv));
  });
}

Var softmax_rows(const Var& x) {
  LETHE_PROFILE_SCOPE("fwd:softmax_rows");
  need("softmax_rows", x);
  return make_node("softmax_rows", ops::softmax_rows(x.value()), {x}, [](Node& n) {
    // gx = y * (g - <g, y>) per row = y*g - y <g, y>.
    const Tensor& y = n.value;
    accumulate_owned(n.inputs[0], ops::sub(ops::mul(y, n.grad), ops::scale_rows(y, ops::rowdot(n.grad, y))));
  });
}

Var logsumexp_rows(const Var& x) {
  LETHE_PROFILE_SCOPE("fwd:logsumexp_rows");
  need("logsumexp_rows", x);
  const Tensor xv = x.value();
  return make_node("logsumexp_rows", ops::logsumexp_rows(xv), {x}, [xv](Node& n) {
    accumulate_owned(n.inputs[0], ops::scale_rows(ops::softmax_rows(xv), n.grad));  // softmax(x) * g[r]
  });
}

// ---- shape ------------------------------------------------------------------------------------------

Var concat_cols(const std::vector<Var>& parts) {
  LETHE_PROFILE_SCOPE("fwd:concat_cols");
  LETHE_CHECK(!parts.empty(), "concat_cols: no inputs");
  std::vector<Tensor> vals;
  for (const Var& p : parts) {
    need("concat_cols", p);
    vals.push_back(p.value());
  }
  return make_node("concat_cols", ops::concat_cols(vals), parts, [](Node& n) {
    int64_t c0 = 0;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int64_t w = n.inputs[i].cols();
      if (wants(n, i)) accumulate_owned(n.inputs[i], ops::slice_cols(n.grad, c0, c0 + w));
      c0 += w;
    }
  });
}

Var slice_cols(const Var& a, int64_t begin, int64_t end) {
  LETHE_PROFILE_SCOPE("fwd:slice_cols");
  need("slice_cols", a);
  return make_node("slice_cols", ops::slice_cols(a.value(), begin, end), {a}, [begin, end](Node& n) {
    // Scatter g back into columns [begin, end) of a zero gradient.
    const Tensor& x = n.inputs[0].value();
    std::vector<Tensor> pieces;
    if (begin > 0) pieces.push_back(Tensor::zeros({x.rows(), begin}, x.dtype(), x.device()));
    pieces.push_back(n.grad);
    if (end < x.cols()) pieces.push_back(Tensor::zeros({x.rows(), x.cols() - end}, x.dtype(), x.device()));
    accumulate_owned(n.inputs[0], pieces.size() == 1 ? n.grad.clone() : ops::concat_cols(pieces));
  });
}

Var concat_rows(const std::vector<Var>& parts) {
  LETHE_PROFILE_SCOPE("fwd:concat_rows");
  LETHE_CHECK(!parts.empty(), "concat_rows: no inputs");
  std::vector<Tensor> vals;
  for (const Var& p : parts) {
    need("concat_rows", p);
    vals.push_back(p.value());
  }
  return make_node("concat_rows", ops::concat_rows(vals), parts, [](Node& n) {
    int64_t r0 = 0;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int64_t h = n.inputs[i].rows();
      if (wants(n, i)) accumulate(n.inputs[i], n.grad.row_range(r0, r0 + h).reshape(n.inputs[i].shape()));
      r0 += h;
    }
  });
}

Var slice_rows(const Var& a, int64_t begin, int64_t end) {
  LETHE_PROFILE_SCOPE("fwd:slice_rows");
  need("slice_rows", a);
  LETHE_CHECK(0 <= begin && begin <= end && end <= a.rows(),
              "slice_rows: range [" << begin << ", " << end << ") out of bounds for " << sig(a));
  // A copy, so that later in-place updates of a (optimizer steps) cannot change the result.
  Tensor y = a.value().row_range(begin, end).clone();
  return make_node("slice_rows", y, {a}, [begin, end](Node& n) {
    Tensor rows = grad_buffer(n.inputs[0]).row_range(begin, end);  // a view into the input's gradient
    ops::axpy(1.0, n.grad, rows);
  });
}

// ---- composites -------------------------------------------------------------------------------------

Var mean_of(const std::vector<Var>& xs) {
  LETHE_PROFILE_SCOPE("fwd:mean_of");
  LETHE_CHECK(!xs.empty(), "mean_of: no inputs");
  Var total = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) total = add(total, xs[i]);
  return xs.size() == 1 ? total : scale(total, 1.0 / static_cast<double>(xs.size()));
}

}  // namespace lethe::autograd
