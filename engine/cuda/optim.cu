// The fused Adam step on CUDA, with torch.optim.Adam's arithmetic (PyTorch 1.13 single-tensor path):
//   g = grad + wd * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//   denom = sqrt(v) / sqrt(1 - b2^t) + eps;  p -= (lr / (1 - b1^t)) * m / denom.
// Scalars are formed in double on the host and rounded to the parameter dtype, as torch does. One pass over
// p, g, m, v: the step is bandwidth bound (~16 bytes read + 12 written per F32 parameter).
#include <cmath>

#include "engine/cuda/common.cuh"

namespace lethe::cuda {
namespace {

template <class T>
__global__ void adam_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v,
                            int64_t n, T b1, T one_minus_b1, T b2, T one_minus_b2, T step_size, T bc2_sqrt,
                            T eps, T wd, bool decay) {
  LETHE_KERNEL_LOOP(i, n) {
    const T pi = p[i];
    T gi = g[i];
    if (decay) gi = gi + wd * pi;
    const T mi = m[i] * b1 + one_minus_b1 * gi;
    const T vi = v[i] * b2 + one_minus_b2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const T denom = sqrt(vi) / bc2_sqrt + eps;
    p[i] = pi - step_size * (mi / denom);
  }
}

}  // namespace

void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, double lr, double beta1, double beta2,
               double eps, double weight_decay, int64_t step) {
  NvtxRange range("cuda::adam_step");
  const int64_t n = param.numel();
  if (n == 0) return;
  const double t = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(beta1, t), bc2 = 1.0 - std::pow(beta2, t);
  dispatch_float(param.dtype(), "adam_step", [&](auto tag) {
    using T = decltype(tag);
    adam_kernel<T><<<grid_for(n), kThreads>>>(
        ptr<T>(param), ptr<T>(grad), ptr<T>(m), ptr<T>(v), n, static_cast<T>(beta1),
        static_cast<T>(1.0 - beta1), static_cast<T>(beta2), static_cast<T>(1.0 - beta2),
        static_cast<T>(lr / bc1), static_cast<T>(std::sqrt(bc2)), static_cast<T>(eps),
        static_cast<T>(weight_decay), weight_decay != 0.0);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

}  // namespace lethe::cuda
