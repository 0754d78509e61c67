// CPU elementwise kernels: binary ops, scalar ops, row/column broadcasts, unary functions and their
// gradients and dtype conversion. Large loops run in blocks on the thread pool (engine/cpu/parallel.h).
#include <algorithm>
#include <cmath>

#include "engine/cpu/common.h"
#include "engine/cpu/vmath.h"

namespace lethe::cpu {

using detail::dispatch_all;
using detail::dispatch_float;
using detail::kParallelMin;

namespace {

// out[i] = f(a[i], b[i]) (a, b, out may alias).
template <class T, class F>
void binary_loop(const T* a, const T* b, T* out, int64_t n, F f) {
  detail::parallel_elements(n, [&](int64_t lo, int64_t hi) {
#pragma omp simd
    for (int64_t i = lo; i < hi; ++i) out[i] = f(a[i], b[i]);
  });
}

template <class T, class F>
void unary_loop(const T* x, T* y, int64_t n, F f) {
  detail::parallel_elements(n, [&](int64_t lo, int64_t hi) {
#pragma omp simd
    for (int64_t i = lo; i < hi; ++i) y[i] = f(x[i]);
  });
}

template <class T>
T log_sigmoid(T x) {  // min(x, 0) - log1p(exp(-|x|)): no overflow for large |x|
  return std::min(x, T(0)) - std::log1p(std::exp(-std::abs(x)));
}

template <class T>
T sigmoid(T x) {  // stable on both sides; vectorised for f32 (engine/cpu/vmath.h)
  return detail::vsigmoid(x);
}

}  // namespace

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  dispatch_float(a.dtype(), "add", [&](auto t) {
    using T = decltype(t);
    binary_loop(a.data<T>(), b.data<T>(), out.data<T>(), a.numel(), [](T x, T y) { return x + y; });
  });
}

void sub(const Tensor& a, const Tensor& b, Tensor& out) {
  dispatch_float(a.dtype(), "sub", [&](auto t) {
    using T = decltype(t);
    binary_loop(a.data<T>(), b.data<T>(), out.data<T>(), a.numel(), [](T x, T y) { return x - y; });
  });
}

void mul(const Tensor& a, const Tensor& b, Tensor& out) {
  dispatch_float(a.dtype(), "mul", [&](auto t) {
    using T = decltype(t);
    binary_loop(a.data<T>(), b.data<T>(), out.data<T>(), a.numel(), [](T x, T y) { return x * y; });
  });
}

void scale(const Tensor& a, double s, Tensor& out) {
  dispatch_float(a.dtype(), "scale", [&](auto t) {
    using T = decltype(t);
    const T k = static_cast<T>(s);
    unary_loop(a.data<T>(), out.data<T>(), a.numel(), [k](T x) { return k * x; });
  });
}

void add_scalar(const Tensor& a, double s, Tensor& out) {
  dispatch_float(a.dtype(), "add_scalar", [&](auto t) {
    using T = decltype(t);
    const T k = static_cast<T>(s);
    unary_loop(a.data<T>(), out.data<T>(), a.numel(), [k](T x) { return x + k; });
  });
}

void axpy(double alpha, const Tensor& x, Tensor& y) {
  dispatch_float(x.dtype(), "axpy", [&](auto t) {
    using T = decltype(t);
    const T k = static_cast<T>(alpha);
    binary_loop(x.data<T>(), y.data<T>(), y.data<T>(), x.numel(), [k](T a, T b) { return b + k * a; });
  });
}

void fill(Tensor& a, double value) {
  dispatch_all(a.dtype(), "fill", [&](auto t) {
    using T = decltype(t);
    T* p = a.data<T>();
    const T v = static_cast<T>(value);
    detail::parallel_elements(a.numel(), [&](int64_t lo, int64_t hi) {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) p[i] = v;
    });
  });
}

namespace {
// out[r, c] = f(a[r, c], v[c]) or f(a[r, c], v[r]) (per_row).
template <class T, class F>
void broadcast_loop(const Tensor& a, const Tensor& v, Tensor& out, bool per_row, F f) {
  const int64_t rows = a.rows(), cols = a.cols();
  const T* pa = a.data<T>();
  const T* pv = v.data<T>();
  T* po = out.data<T>();
  detail::parallel_rows(rows, cols, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* ar = pa + r * cols;
      T* orow = po + r * cols;
      if (per_row) {
        const T s = pv[r];
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) orow[c] = f(ar[c], s);
      } else {
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) orow[c] = f(ar[c], pv[c]);
      }
    }
  });
}
}  // namespace

void add_rowvec(const Tensor& a, const Tensor& v, Tensor& out) {
  dispatch_float(a.dtype(), "add_rowvec", [&](auto t) {
    using T = decltype(t);
    broadcast_loop<T>(a, v, out, false, [](T x, T y) { return x + y; });
  });
}

void mul_rowvec(const Tensor& a, const Tensor& v, Tensor& out) {
  dispatch_float(a.dtype(), "mul_rowvec", [&](auto t) {
    using T = decltype(t);
    broadcast_loop<T>(a, v, out, false, [](T x, T y) { return x * y; });
  });
}

void scale_rows(const Tensor& a, const Tensor& s, Tensor& out) {
  dispatch_float(a.dtype(), "scale_rows", [&](auto t) {
    using T = decltype(t);
    broadcast_loop<T>(a, s, out, true, [](T x, T y) { return x * y; });
  });
}

void unary(ops::Unary op, const Tensor& x, Tensor& y) {
  // f32 transcendentals: the instruction-set clones of engine/cpu/vmath.h.
  using F32Loop = void (*)(const float*, float*, int64_t);
  const F32Loop f32_loop = op == ops::Unary::Sigmoid ? detail::sigmoid_f32
                           : op == ops::Unary::Tanh  ? detail::tanh_f32
                                                     : nullptr;
  if (x.dtype() == DType::F32 && f32_loop != nullptr) {
    const float* px = x.data<float>();
    float* py = y.data<float>();
    detail::parallel_elements(x.numel(),
                              [&](int64_t lo, int64_t hi) { f32_loop(px + lo, py + lo, hi - lo); });
    return;
  }
  dispatch_float(x.dtype(), "unary", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const int64_t n = x.numel();
    switch (op) {
      case ops::Unary::Neg:
        unary_loop(px, py, n, [](T v) { return -v; });
        break;
      case ops::Unary::Log:
        unary_loop(px, py, n, [](T v) { return std::log(v); });
        break;
      case ops::Unary::Sigmoid:
        unary_loop(px, py, n, [](T v) { return sigmoid(v); });
        break;
      case ops::Unary::Tanh:
        unary_loop(px, py, n, [](T v) { return detail::vtanh(v); });
        break;
      case ops::Unary::LogSigmoid:
        unary_loop(px, py, n, [](T v) { return log_sigmoid(v); });
        break;
      case ops::Unary::Relu:
        unary_loop(px, py, n, [](T v) { return v > T(0) ? v : T(0); });
        break;
      case ops::Unary::Square:
        unary_loop(px, py, n, [](T v) { return v * v; });
        break;
      case ops::Unary::Sqrt:
        unary_loop(px, py, n, [](T v) { return std::sqrt(v); });
        break;
      case ops::Unary::Rsqrt:
        unary_loop(px, py, n, [](T v) { return T(1) / std::sqrt(v); });
        break;
    }
  });
}

// gx = gy * f'(x). Ops whose derivative is cheapest from y read y (x may be undefined), the others read x.
void unary_backward(ops::Unary op, const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx) {
  dispatch_float(gy.dtype(), "unary_backward", [&](auto t) {
    using T = decltype(t);
    const T* px = x.defined() ? x.data<T>() : nullptr;
    const T* py = y.defined() ? y.data<T>() : nullptr;
    const T* pg = gy.data<T>();
    T* po = gx.data<T>();
    const int64_t n = gy.numel();
    switch (op) {
      case ops::Unary::Neg:
        unary_loop(pg, po, n, [](T g) { return -g; });
        break;
      case ops::Unary::Log:
        binary_loop(pg, px, po, n, [](T g, T v) { return g / v; });
        break;
      case ops::Unary::Sigmoid:
        binary_loop(pg, py, po, n, [](T g, T v) { return g * v * (T(1) - v); });
        break;
      case ops::Unary::Tanh:
        binary_loop(pg, py, po, n, [](T g, T v) { return g * (T(1) - v * v); });
        break;
      case ops::Unary::LogSigmoid:
        binary_loop(pg, px, po, n, [](T g, T v) { return g * sigmoid(-v); });
        break;
      case ops::Unary::Relu:
        binary_loop(pg, px, po, n, [](T g, T v) { return v > T(0) ? g : T(0); });
        break;
      case ops::Unary::Square:
        binary_loop(pg, px, po, n, [](T g, T v) { return g * T(2) * v; });
        break;
      case ops::Unary::Sqrt:
        binary_loop(pg, py, po, n, [](T g, T v) { return g * T(0.5) / v; });
        break;
      case ops::Unary::Rsqrt:
        binary_loop(pg, py, po, n, [](T g, T v) { return g * T(-0.5) * v * v * v; });
        break;
    }
  });
}

void astype(const Tensor& src, Tensor& dst) {
  dispatch_all(src.dtype(), "astype", [&](auto ts) {
    using S = decltype(ts);
    dispatch_all(dst.dtype(), "astype", [&](auto td) {
      using D = decltype(td);
      const S* ps = src.data<S>();
      D* pd = dst.data<D>();
      detail::parallel_elements(src.numel(), [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) pd[i] = static_cast<D>(ps[i]);
      });
    });
  });
}

}  // namespace lethe::cpu
