// Kernel-level tensor operations: argument validation (dtype, shape, device; messages name the op and
// both tensors), output allocation on the inputs' device, and dispatch to lethe::cpu or lethe::cuda.
#include "engine/ops.h"

#include <cmath>
#include <limits>

#include "engine/dispatch.h"
#include "engine/error.h"
#include "engine/profile.h"

namespace lethe::ops {

using detail::sig;

namespace {

void need_defined(const char* op, const Tensor& t) { LETHE_CHECK(t.defined(), op << ": undefined tensor"); }

void need_float(const char* op, const Tensor& t) {
  need_defined(op, t);
  LETHE_CHECK(is_float(t.dtype()), op << ": expected f32 or f64, got " << sig(t));
}

void need_index(const char* op, const Tensor& t) {
  need_defined(op, t);
  LETHE_CHECK(t.dtype() == DType::I32 || t.dtype() == DType::I64,
              op << ": expected i32 or i64 indices, got " << sig(t));
}

void need_2d(const char* op, const Tensor& t) {
  need_defined(op, t);
  LETHE_CHECK(t.ndim() == 2, op << ": expected a 2-D tensor, got " << sig(t));
}

void same_device(const char* op, const Tensor& a, const Tensor& b) {
  LETHE_CHECK(a.device() == b.device(), op << ": device mismatch " << a.describe() << " vs " << b.describe());
}

void same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  LETHE_CHECK(a.dtype() == b.dtype(), op << ": dtype mismatch " << sig(a) << " vs " << sig(b));
}

// Same device, dtype and shape: the contract of every elementwise binary op.
void same_all(const char* op, const Tensor& a, const Tensor& b) {
  need_defined(op, a);
  need_defined(op, b);
  same_device(op, a, b);
  same_dtype(op, a, b);
  LETHE_CHECK(a.shape() == b.shape(), op << ": shape mismatch " << sig(a) << " vs " << sig(b));
}

Tensor empty_like(const Tensor& t) { return Tensor::empty(t.shape(), t.dtype(), t.device()); }

}  // namespace

// ---- GEMM ------------------------------------------------------------------------------------------------
void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha,
          double beta) {
  LETHE_PROFILE_SCOPE("kernel:gemm");
  need_2d("gemm", a);
  need_2d("gemm", b);
  need_2d("gemm", c);
  need_float("gemm", a);
  same_dtype("gemm", a, b);
  same_dtype("gemm", a, c);
  same_device("gemm", a, b);
  same_device("gemm", a, c);
  const int64_t m = trans_a ? a.dim(1) : a.dim(0), k = trans_a ? a.dim(0) : a.dim(1);
  const int64_t k2 = trans_b ? b.dim(1) : b.dim(0), n = trans_b ? b.dim(0) : b.dim(1);
  LETHE_CHECK(k == k2, "gemm: inner dimensions differ " << sig(a) << (trans_a ? "^T" : "") << " vs " << sig(b)
                                                        << (trans_b ? "^T" : ""));
  LETHE_CHECK(c.dim(0) == m && c.dim(1) == n, "gemm: output " << sig(c) << " does not match " << sig(a)
                                                              << (trans_a ? "^T" : "") << " x " << sig(b)
                                                              << (trans_b ? "^T" : ""));
  prof::count_gemm_flops(2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k));
  LETHE_DISPATCH(a.device(), gemm, a, trans_a, b, trans_b, c, alpha, beta);
}

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  need_2d("matmul", a);
  need_2d("matmul", b);
  const int64_t m = trans_a ? a.dim(1) : a.dim(0), k = trans_a ? a.dim(0) : a.dim(1);
  const int64_t k2 = trans_b ? b.dim(1) : b.dim(0), n = trans_b ? b.dim(0) : b.dim(1);
  LETHE_CHECK(k == k2, "matmul: inner dimensions differ " << sig(a) << (trans_a ? "^T" : "") << " vs "
                                                          << sig(b) << (trans_b ? "^T" : ""));
  Tensor c = Tensor::empty({m, n}, a.dtype(), a.device());
  gemm(a, trans_a, b, trans_b, c, 1.0, 0.0);
  return c;
}

// ---- elementwise -----------------------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b) {
  same_all("add", a, b);
  need_float("add", a);
  Tensor out = empty_like(a);
  LETHE_DISPATCH(a.device(), add, a, b, out);
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  same_all("sub", a, b);
  need_float("sub", a);
  Tensor out = empty_like(a);
  LETHE_DISPATCH(a.device(), sub, a, b, out);
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  same_all("mul", a, b);
  need_float("mul", a);
  Tensor out = empty_like(a);
  LETHE_DISPATCH(a.device(), mul, a, b, out);
  return out;
}

Tensor scale(const Tensor& a, double s) {
  need_float("scale", a);
  Tensor out = empty_like(a);
  LETHE_DISPATCH(a.device(), scale, a, s, out);
  return out;
}

Tensor add_scalar(const Tensor& a, double s) {
  need_float("add_scalar", a);
  Tensor out = empty_like(a);
  LETHE_DISPATCH(a.device(), add_scalar, a, s, out);
  return out;
}

void axpy(double alpha, const Tensor& x, Tensor& y) {
  same_all("axpy", x, y);
  need_float("axpy", x);
  LETHE_DISPATCH(x.device(), axpy, alpha, x, y);
}

void fill(Tensor& a, double value) {
  LETHE_PROFILE_SCOPE("kernel:fill");
  need_defined("fill", a);
  LETHE_DISPATCH(a.device(), fill, a, value);
}

namespace {
// a [n, m] with a vector of m (per column) or n (per row) elements.
void check_vec(const char* op, const Tensor& a, const Tensor& v, bool per_row) {
  need_float(op, a);
  need_defined(op, v);
  same_device(op, a, v);
  same_dtype(op, a, v);
  LETHE_CHECK(a.ndim() <= 2, op << ": expected a 1-D or 2-D tensor, got " << sig(a));
  const int64_t want = per_row ? a.rows() : a.cols();
  LETHE_CHECK(v.numel() == want && (v.ndim() == 1 || (v.ndim() == 2 && (per_row ? v.cols() : v.rows()) == 1)),
              op << ": shape mismatch " << sig(a) << " vs " << sig(v) << " (expected " << want << " "
                 << (per_row ? "row" : "column") << " values)");
}
}  // namespace

Tensor add_rowvec(const Tensor& a, const Tensor& v) {
  check_vec("add_rowvec", a, v, false);
  Tensor out = empty_like(a);
  LETHE_DISPATCH(a.device(), add_rowvec, a, v, out);
  return out;
}

Tensor mul_rowvec(const Tensor& a, const Tensor& v) {
  check_vec("mul_rowvec", a, v, false);
  Tensor out = empty_like(a);
  LETHE_DISPATCH(a.device(), mul_rowvec, a, v, out);
  return out;
}

Tensor scale_rows(const Tensor& a, const Tensor& s) {
  check_vec("scale_rows", a, s, true);
  Tensor out = empty_like(a);
  LETHE_DISPATCH(a.device(), scale_rows, a, s, out);
  return out;
}

Tensor unary(Unary op, const Tensor& x) {
  need_float(unary_name(op), x);
  Tensor y = empty_like(x);
  LETHE_DISPATCH(x.device(), unary, op, x, y);
  return y;
}

namespace {
// Which saved tensor a unary gradient reads (see engine/cpu/elementwise.cpp).
bool backward_uses_y(Unary op) {
  return op == Unary::Sigmoid || op == Unary::Tanh || op == Unary::Sqrt || op == Unary::Rsqrt;
}
bool backward_uses_x(Unary op) {
  return op == Unary::Log || op == Unary::LogSigmoid || op == Unary::Relu || op == Unary::Square;
}
}  // namespace

Tensor unary_backward(Unary op, const Tensor& x, const Tensor& y, const Tensor& gy) {
  const std::string name = std::string(unary_name(op)) + "_backward";
  need_float(name.c_str(), gy);
  LETHE_CHECK(x.defined() || !backward_uses_x(op), name << ": needs the input x");
  LETHE_CHECK(y.defined() || !backward_uses_y(op), name << ": needs the output y");
  if (x.defined()) same_all(name.c_str(), x, gy);
  if (y.defined()) same_all(name.c_str(), y, gy);
  Tensor gx = empty_like(gy);
  LETHE_DISPATCH(gy.device(), unary_backward, op, x, y, gy, gx);
  return gx;
}

// ---- reductions ------------------------------------------------------------------------------------------
Tensor sum(const Tensor& a) {
  need_float("sum", a);
  Tensor out = Tensor::empty({1}, a.dtype(), a.device());
  LETHE_DISPATCH(a.device(), sum, a, out);
  return out;
}

Tensor sum_cols(const Tensor& a) {
  need_float("sum_cols", a);
  Tensor out = Tensor::empty({a.cols()}, a.dtype(), a.device());
  LETHE_DISPATCH(a.device(), sum_cols, a, out);
  return out;
}

Tensor sumsq(const Tensor& a) {
  need_float("sumsq", a);
  Tensor out = Tensor::empty({1}, a.dtype(), a.device());
  LETHE_DISPATCH(a.device(), sumsq, a, out);
  return out;
}

Tensor rowdot(const Tensor& a, const Tensor& b) {
  same_all("rowdot", a, b);
  need_float("rowdot", a);
  Tensor out = Tensor::empty({a.rows()}, a.dtype(), a.device());
  LETHE_DISPATCH(a.device(), rowdot, a, b, out);
  return out;
}

// ---- gather / scatter ------------------------------------------------------------------------------------
Tensor gather_rows(const Tensor& src, const Tensor& idx) {
  LETHE_PROFILE_SCOPE("kernel:gather_rows");
  need_defined("gather_rows", src);
  need_index("gather_rows", idx);
  same_device("gather_rows", src, idx);
  LETHE_CHECK(src.ndim() >= 1, "gather_rows: source must have at least one dimension, got " << sig(src));
  Shape shape = src.shape();
  shape[0] = idx.numel();
  Tensor out = Tensor::empty(shape, src.dtype(), src.device());
  LETHE_DISPATCH(src.device(), gather_rows, src, idx, out);
  return out;
}

void scatter_add_rows(Tensor& dst, const Tensor& idx, const Tensor& src) {
  LETHE_PROFILE_SCOPE("kernel:scatter_add_rows");
  need_float("scatter_add_rows", dst);
  need_index("scatter_add_rows", idx);
  need_defined("scatter_add_rows", src);
  same_device("scatter_add_rows", dst, idx);
  same_device("scatter_add_rows", dst, src);
  same_dtype("scatter_add_rows", dst, src);
  LETHE_CHECK(dst.ndim() >= 1 && src.ndim() >= 1 && src.rows() == idx.numel() && src.cols() == dst.cols(),
              "scatter_add_rows: shape mismatch dst " << sig(dst) << " vs src " << sig(src)
                                                      << " with indices " << sig(idx));
  LETHE_DISPATCH(dst.device(), scatter_add_rows, dst, idx, src);
}

// ---- row-wise normalisations -----------------------------------------------------------------------------
Tensor l2norm_rows(const Tensor& x, double eps, Tensor* norms) {
  need_float("l2norm_rows", x);
  Tensor y = empty_like(x);
  Tensor n = Tensor::empty({x.rows()}, x.dtype(), x.device());
  LETHE_DISPATCH(x.device(), l2norm_rows, x, eps, y, n);
  if (norms) *norms = n;
  return y;
}

Tensor softmax_rows(const Tensor& x) {
  need_float("softmax_rows", x);
  Tensor y = empty_like(x);
  LETHE_DISPATCH(x.device(), softmax_rows, x, y);
  return y;
}

Tensor logsumexp_rows(const Tensor& x) {
  need_float("logsumexp_rows", x);
  Tensor out = Tensor::empty({x.rows()}, x.dtype(), x.device());
  LETHE_DISPATCH(x.device(), logsumexp_rows, x, out);
  return out;
}

// ---- shape ops -------------------------------------------------------------------------------------------
Tensor concat_cols(const std::vector<Tensor>& parts) {
  LETHE_CHECK(!parts.empty(), "concat_cols: no tensors");
  const Tensor& first = parts[0];
  need_2d("concat_cols", first);
  int64_t width = 0;
  for (const Tensor& p : parts) {
    need_2d("concat_cols", p);
    same_device("concat_cols", first, p);
    same_dtype("concat_cols", first, p);
    LETHE_CHECK(p.dim(0) == first.dim(0),
                "concat_cols: row count mismatch " << sig(first) << " vs " << sig(p));
    width += p.dim(1);
  }
  Tensor out = Tensor::empty({first.dim(0), width}, first.dtype(), first.device());
  int64_t col = 0;
  for (const Tensor& p : parts) {
    if (p.dim(1) > 0) LETHE_DISPATCH(first.device(), copy_cols, p, 0, out, col, p.dim(1));
    col += p.dim(1);
  }
  return out;
}

Tensor slice_cols(const Tensor& a, int64_t begin, int64_t end) {
  need_2d("slice_cols", a);
  LETHE_CHECK(0 <= begin && begin <= end && end <= a.dim(1),
              "slice_cols: columns [" << begin << ", " << end << ") out of range for " << sig(a));
  Tensor out = Tensor::empty({a.dim(0), end - begin}, a.dtype(), a.device());
  if (end > begin) LETHE_DISPATCH(a.device(), copy_cols, a, begin, out, 0, end - begin);
  return out;
}

Tensor concat_rows(const std::vector<Tensor>& parts) {
  LETHE_CHECK(!parts.empty(), "concat_rows: no tensors");
  const Tensor& first = parts[0];
  need_defined("concat_rows", first);
  LETHE_CHECK(first.ndim() >= 1,
              "concat_rows: expected tensors with at least one dimension, got " << sig(first));
  int64_t rows = 0;
  for (const Tensor& p : parts) {
    need_defined("concat_rows", p);
    same_device("concat_rows", first, p);
    same_dtype("concat_rows", first, p);
    const bool match = p.ndim() == first.ndim() && Shape(p.shape().begin() + 1, p.shape().end()) ==
                                                       Shape(first.shape().begin() + 1, first.shape().end());
    LETHE_CHECK(match, "concat_rows: shape mismatch " << sig(first) << " vs " << sig(p));
    rows += p.dim(0);
  }
  Shape shape = first.shape();
  shape[0] = rows;
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  char* dst = static_cast<char*>(out.raw());
  for (const Tensor& p : parts) {
    copy_bytes(dst, out.device(), p.raw(), p.device(), p.nbytes());
    dst += p.nbytes();
  }
  return out;
}

// ---- masks and selection ---------------------------------------------------------------------------------
void topk_rows(const Tensor& a, int64_t k, Tensor& values, Tensor& indices) {
  LETHE_PROFILE_SCOPE("kernel:topk_rows");
  need_float("topk_rows", a);
  LETHE_CHECK(a.ndim() <= 2, "topk_rows: expected a 1-D or 2-D tensor, got " << sig(a));
  LETHE_CHECK(k >= 0 && k <= a.cols(), "topk_rows: k = " << k << " out of range for " << sig(a));
  LETHE_CHECK(a.cols() <= std::numeric_limits<int32_t>::max(),
              "topk_rows: too many columns for i32 indices " << sig(a));
  values = Tensor::empty({a.rows(), k}, a.dtype(), a.device());
  indices = Tensor::empty({a.rows(), k}, DType::I32, a.device());
  // the scores, read once
  prof::count_bytes(static_cast<double>(a.numel()) * static_cast<double>(dtype_size(a.dtype())));
  LETHE_DISPATCH(a.device(), topk_rows, a, k, values, indices);
}

void masked_fill_csr_rows(Tensor& a, const Tensor& indptr, const Tensor& cols, const Tensor& rows,
                          double value) {
  LETHE_PROFILE_SCOPE("kernel:masked_fill_csr_rows");
  const char* op = "masked_fill_csr_rows";
  need_float(op, a);
  LETHE_CHECK(a.ndim() <= 2, op << ": expected a 1-D or 2-D tensor, got " << sig(a));
  need_defined(op, indptr);
  need_defined(op, cols);
  LETHE_CHECK(indptr.dtype() == DType::I32 && cols.dtype() == DType::I32,
              op << ": pattern must be i32, got indptr " << sig(indptr) << " and cols " << sig(cols));
  LETHE_CHECK(indptr.numel() >= 1, op << ": empty indptr " << sig(indptr));
  same_device(op, a, indptr);
  same_device(op, a, cols);
  need_index(op, rows);
  same_device(op, a, rows);
  LETHE_CHECK(rows.numel() == a.rows(),
              "masked_fill_csr_rows: shape mismatch " << sig(a) << " vs rows " << sig(rows));
  LETHE_DISPATCH(a.device(), masked_fill_csr_rows, a, indptr, cols, rows, value);
}

// ---- optimizer -------------------------------------------------------------------------------------------
void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, double lr, double beta1, double beta2,
               double eps, double weight_decay, int64_t step) {
  LETHE_PROFILE_SCOPE("kernel:adam_step");
  need_float("adam_step", param);
  same_all("adam_step", param, grad);
  same_all("adam_step", param, m);
  same_all("adam_step", param, v);
  LETHE_CHECK(step >= 1, "adam_step: step must be >= 1, got " << step);
  prof::count_bytes(7.0 * static_cast<double>(param.numel()) *
                    static_cast<double>(dtype_size(param.dtype())));
  LETHE_DISPATCH(param.device(), adam_step, param, grad, m, v, lr, beta1, beta2, eps, weight_decay, step);
}

// ---- misc ------------------------------------------------------------------------------------------------
double max_abs_diff(const Tensor& a, const Tensor& b) {
  need_defined("max_abs_diff", a);
  need_defined("max_abs_diff", b);
  LETHE_CHECK(a.numel() == b.numel() && a.shape() == b.shape(),
              "max_abs_diff: shape mismatch " << sig(a) << " vs " << sig(b));
  const std::vector<double> x = a.to(Device::cpu()).astype(DType::F64).to_vector<double>();
  const std::vector<double> y = b.to(Device::cpu()).astype(DType::F64).to_vector<double>();
  double m = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == y[i]) continue;  // also equal infinities
    const double d = std::abs(x[i] - y[i]);
    if (std::isnan(d)) return std::numeric_limits<double>::quiet_NaN();
    m = std::max(m, d);
  }
  return m;
}

}  // namespace lethe::ops
