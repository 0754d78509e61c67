// Elementwise kernels on CUDA: binary ops, scalar ops, axpy, fill, row-vector broadcasts, row scaling, the
// unary functions with their backward, and dtype conversion. All are grid-stride loops over the flat
// (contiguous, row-major) buffer. Formulas match the CPU twin in engine/cpu/.
#include <cmath>

#include "engine/cuda/common.cuh"

namespace lethe::cuda {
namespace {

enum class Bin { Add, Sub, Mul };

template <class T, Bin op>
__global__ void binary_kernel(const T* a, const T* b, T* out, int64_t n) {
  LETHE_KERNEL_LOOP(i, n) {
    if constexpr (op == Bin::Add)
      out[i] = a[i] + b[i];
    else if constexpr (op == Bin::Sub)
      out[i] = a[i] - b[i];
    else
      out[i] = a[i] * b[i];
  }
}

template <Bin op>
void binary(const char* name, const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_float(out.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    binary_kernel<T, op><<<grid_for(n), kThreads>>>(ptr<T>(a), ptr<T>(b), ptr<T>(out), n);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

template <class T>
__global__ void scale_kernel(const T* a, T s, T* out, int64_t n) {
  LETHE_KERNEL_LOOP(i, n) out[i] = s * a[i];
}
template <class T>
__global__ void add_scalar_kernel(const T* a, T s, T* out, int64_t n) {
  LETHE_KERNEL_LOOP(i, n) out[i] = a[i] + s;
}
template <class T>
__global__ void axpy_kernel(T alpha, const T* x, T* y, int64_t n) {
  LETHE_KERNEL_LOOP(i, n) y[i] += alpha * x[i];
}
template <class T>
__global__ void fill_kernel(T* a, T v, int64_t n) {
  LETHE_KERNEL_LOOP(i, n) a[i] = v;
}
// out[r, c] = a[r, c] (+|*) v[c]
template <class T, bool multiply>
__global__ void rowvec_kernel(const T* a, const T* v, T* out, int64_t n, int64_t cols) {
  LETHE_KERNEL_LOOP(i, n) {
    const T x = v[i - row_of(i, cols) * cols];
    out[i] = multiply ? a[i] * x : a[i] + x;
  }
}
// out[r, c] = a[r, c] * s[r]
template <class T>
__global__ void scale_rows_kernel(const T* a, const T* s, T* out, int64_t n, int64_t cols) {
  LETHE_KERNEL_LOOP(i, n) out[i] = a[i] * s[row_of(i, cols)];
}

template <class T>
__device__ __forceinline__ T sigmoid(T x) {
  // Split by sign so that exp never overflows.
  if (x >= T(0)) return T(1) / (T(1) + exp(-x));
  const T e = exp(x);
  return e / (T(1) + e);
}

template <class T>
__device__ __forceinline__ T unary_fwd(ops::Unary op, T x) {
  switch (op) {
    case ops::Unary::Neg:
      return -x;
    case ops::Unary::Log:
      return log(x);
    case ops::Unary::Sigmoid:
      return sigmoid(x);
    case ops::Unary::Tanh:
      return tanh(x);
    case ops::Unary::LogSigmoid:
      return min(x, T(0)) - log1p(exp(-fabs(x)));  // stable log(sigmoid(x))
    case ops::Unary::Relu:
      return x > T(0) ? x : T(0);
    case ops::Unary::Square:
      return x * x;
    case ops::Unary::Sqrt:
      return sqrt(x);
    case ops::Unary::Rsqrt:
      return T(1) / sqrt(x);
  }
  return x;
}

// gx = gy * f'(x), using y = f(x) where that is cheaper or more accurate.
template <class T>
__device__ __forceinline__ T unary_bwd(ops::Unary op, T x, T y, T gy) {
  switch (op) {
    case ops::Unary::Neg:
      return -gy;
    case ops::Unary::Log:
      return gy / x;
    case ops::Unary::Sigmoid:
      return gy * y * (T(1) - y);
    case ops::Unary::Tanh:
      return gy * (T(1) - y * y);
    case ops::Unary::LogSigmoid:
      return gy * sigmoid(-x);  // d/dx log(sigmoid(x)) = 1 - sigmoid(x)
    case ops::Unary::Relu:
      return x > T(0) ? gy : T(0);
    case ops::Unary::Square:
      return gy * T(2) * x;
    case ops::Unary::Sqrt:
      return gy * T(0.5) / y;
    case ops::Unary::Rsqrt:
      return gy * T(-0.5) * y * y * y;  // d/dx x^-1/2 = -1/2 x^-3/2
  }
  return gy;
}

template <class T>
__global__ void unary_kernel(ops::Unary op, const T* x, T* y, int64_t n) {
  LETHE_KERNEL_LOOP(i, n) y[i] = unary_fwd(op, x[i]);
}
template <class T>
__global__ void unary_backward_kernel(ops::Unary op, const T* x, const T* y, const T* gy, T* gx, int64_t n) {
  LETHE_KERNEL_LOOP(i, n) {
    // x == nullptr: the op's derivative reads only y (engine/ops.cpp checks); y == nullptr: recompute f(x).
    const T xi = x ? x[i] : T(0);
    gx[i] = unary_bwd(op, xi, y ? y[i] : unary_fwd(op, xi), gy[i]);
  }
}

template <class S, class D>
__global__ void astype_kernel(const S* src, D* dst, int64_t n) {
  LETHE_KERNEL_LOOP(i, n) dst[i] = static_cast<D>(src[i]);
}

}  // namespace

void add(const Tensor& a, const Tensor& b, Tensor& out) { binary<Bin::Add>("add", a, b, out); }
void sub(const Tensor& a, const Tensor& b, Tensor& out) { binary<Bin::Sub>("sub", a, b, out); }
void mul(const Tensor& a, const Tensor& b, Tensor& out) { binary<Bin::Mul>("mul", a, b, out); }

void scale(const Tensor& a, double s, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_float(out.dtype(), "scale", [&](auto tag) {
    using T = decltype(tag);
    scale_kernel<T><<<grid_for(n), kThreads>>>(ptr<T>(a), static_cast<T>(s), ptr<T>(out), n);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

void add_scalar(const Tensor& a, double s, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_float(out.dtype(), "add_scalar", [&](auto tag) {
    using T = decltype(tag);
    add_scalar_kernel<T><<<grid_for(n), kThreads>>>(ptr<T>(a), static_cast<T>(s), ptr<T>(out), n);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

void axpy(double alpha, const Tensor& x, Tensor& y) {
  const int64_t n = y.numel();
  if (n == 0) return;
  dispatch_float(y.dtype(), "axpy", [&](auto tag) {
    using T = decltype(tag);
    axpy_kernel<T><<<grid_for(n), kThreads>>>(static_cast<T>(alpha), ptr<T>(x), ptr<T>(y), n);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

void fill(Tensor& a, double value) {
  const int64_t n = a.numel();
  if (n == 0) return;
  dispatch_all(a.dtype(), "fill", [&](auto tag) {
    using T = decltype(tag);
    fill_kernel<T><<<grid_for(n), kThreads>>>(ptr<T>(a), static_cast<T>(value), n);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

void add_rowvec(const Tensor& a, const Tensor& v, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_float(out.dtype(), "add_rowvec", [&](auto tag) {
    using T = decltype(tag);
    rowvec_kernel<T, false><<<grid_for(n), kThreads>>>(ptr<T>(a), ptr<T>(v), ptr<T>(out), n, a.cols());
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

void mul_rowvec(const Tensor& a, const Tensor& v, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_float(out.dtype(), "mul_rowvec", [&](auto tag) {
    using T = decltype(tag);
    rowvec_kernel<T, true><<<grid_for(n), kThreads>>>(ptr<T>(a), ptr<T>(v), ptr<T>(out), n, a.cols());
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

void scale_rows(const Tensor& a, const Tensor& s, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_float(out.dtype(), "scale_rows", [&](auto tag) {
    using T = decltype(tag);
    scale_rows_kernel<T><<<grid_for(n), kThreads>>>(ptr<T>(a), ptr<T>(s), ptr<T>(out), n, a.cols());
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

void unary(ops::Unary op, const Tensor& x, Tensor& y) {
  const int64_t n = y.numel();
  if (n == 0) return;
  dispatch_float(y.dtype(), "unary", [&](auto tag) {
    using T = decltype(tag);
    unary_kernel<T><<<grid_for(n), kThreads>>>(op, ptr<T>(x), ptr<T>(y), n);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

void unary_backward(ops::Unary op, const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx) {
  const int64_t n = gx.numel();
  if (n == 0) return;
  dispatch_float(gx.dtype(), "unary_backward", [&](auto tag) {
    using T = decltype(tag);
    // Either saved tensor may be undefined (the caller did not keep it); engine/ops.cpp checks that the op's
    // derivative does not need it (x), or the kernel recomputes it (y = f(x)).
    const T* xp = x.defined() ? ptr<T>(x) : nullptr;
    const T* yp = y.defined() ? ptr<T>(y) : nullptr;
    unary_backward_kernel<T><<<grid_for(n), kThreads>>>(op, xp, yp, ptr<T>(gy), ptr<T>(gx), n);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

void astype(const Tensor& src, Tensor& dst) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  if (src.dtype() == dst.dtype()) {
    memcpy_d2d(dst.raw(), src.raw(), dst.nbytes());
    return;
  }
  dispatch_all(src.dtype(), "astype", [&](auto stag) {
    using S = decltype(stag);
    dispatch_all(dst.dtype(), "astype", [&](auto dtag) {
      using D = decltype(dtag);
      astype_kernel<S, D><<<grid_for(n), kThreads>>>(ptr<S>(src), ptr<D>(dst), n);
      LETHE_CUDA_LAUNCH_CHECK();
    });
  });
}

}  // namespace lethe::cuda
