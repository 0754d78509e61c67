// CPU fused Adam step (torch.optim.Adam semantics), one memory pass over param, grad, m and v.
#include <cmath>

#include "engine/cpu/common.h"

namespace lethe::cpu {

using detail::dispatch_float;
using detail::kParallelMin;

void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, double lr, double beta1, double beta2,
               double eps, double weight_decay, int64_t step) {
  dispatch_float(param.dtype(), "adam_step", [&](auto t) {
    using T = decltype(t);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* pm = m.data<T>();
    T* pv = v.data<T>();
    const int64_t n = param.numel();
    const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step));
    const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
    // As torch: denom = sqrt(v) / sqrt(bc2) + eps; p -= (lr / bc1) * m / denom.
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
    const T c1 = static_cast<T>(1.0 - beta1), c2 = static_cast<T>(1.0 - beta2);
    const T sqrt_bc2 = static_cast<T>(std::sqrt(bc2));
    const T step_size = static_cast<T>(lr / bc1);
    const T te = static_cast<T>(eps), wd = static_cast<T>(weight_decay);
    const bool decay = weight_decay != 0.0;
    detail::parallel_elements(n, [&](int64_t lo, int64_t hi) {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) {
        const T gi = decay ? g[i] + wd * p[i] : g[i];
        const T mi = b1 * pm[i] + c1 * gi;
        const T vi = b2 * pv[i] + c2 * gi * gi;
        pm[i] = mi;
        pv[i] = vi;
        p[i] -= step_size * (mi / (std::sqrt(vi) / sqrt_bc2 + te));
      }
    });
  });
}

}  // namespace lethe::cpu
