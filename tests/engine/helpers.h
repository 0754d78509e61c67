// Shared helpers for the engine tests: random host tensors, naive references and tolerances per dtype.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/sparse.h"
#include "engine/tensor.h"

namespace lethe::test {

// Random values in [lo, hi) as a tensor of dtype T.
template <class T>
Tensor rand_tensor(const Shape& shape, uint32_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = static_cast<T>(dist(gen));
  return Tensor::from_vector(v, shape);
}

// Host values as double, whatever the dtype.
inline std::vector<double> host(const Tensor& t) { return t.astype(DType::F64).to_vector<double>(); }

// True when no element is NaN or infinite (read back to the host).
inline bool all_finite(const Tensor& t) {
  for (double v : host(t))
    if (!std::isfinite(v)) return false;
  return true;
}

template <class T>
constexpr double tol() {
  return sizeof(T) == 4 ? 1e-5 : 1e-12;
}

// Max |a - b| relative to max(1, |b|).
inline double max_rel_err(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    m = std::max(m, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
  return m;
}

// EXPECT_THROW that also checks that the message contains every given fragment.
template <class F>
void expect_error(F&& f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "expected lethe::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "message: " << msg;
  }
}

using FloatTypes = ::testing::Types<float, double>;

}  // namespace lethe::test
