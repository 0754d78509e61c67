// Elementwise math the compiler can vectorise. libm's expf is a call per element (~5-10 ns); the row
// softmax / logsumexp of a contrastive loss take millions of them per batch. vexp(float) is the Cephes
// expf scheme (range reduction by ln 2 in two parts, degree-6 polynomial, exponent built in the bits),
// written with plain float and integer operations so that a loop over it becomes SIMD code; its error is
// within a few ulp of the correctly rounded result over the float range (checked in tests/engine against
// std::exp). vexp(double) is std::exp: the F64 path serves the finite-difference gradient checks.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace lethe::cpu::detail {

inline float vexp(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;          // 1.5 * 2^23: adding and subtracting it rounds to an integer
  constexpr float kMax = 88.72283905206835f;     // log(FLT_MAX): above, +inf
  constexpr float kMin = -103.972077083991796f;  // log of half the smallest subnormal: below, 0
  float xc = x > kMax ? kMax : x;                // two plain selects (a nested one defeats GCC's vectoriser)
  xc = xc < kMin ? kMin : xc;
  const float n = (xc * kLog2e + kRound) - kRound;  // nearest integer to x / ln 2, in [-150, 128]
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;   // |r| <= ln2 / 2
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n as two normal factors 2^n1 2^n2 (n1 = floor(n / 2)), so that n = 128 and subnormal results work.
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  const int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  float y = p * s1 * s2;
  y = x > kMax ? std::numeric_limits<float>::infinity() : y;
  y = x < kMin ? 0.0f : y;  // also exp(-inf) = 0
  return x != x ? x : y;    // NaN in, NaN out
}

inline double vexp(double x) { return std::exp(x); }

// Logistic sigmoid, stable on both sides: with e = exp(-|x|), 1 / (1 + e) for x >= 0, e / (1 + e) below.
template <class T>
inline T vsigmoid(T x) {
  const T e = vexp(x < T(0) ? x : -x);
  const T r = T(1) / (T(1) + e);
  return x >= T(0) ? r : e * r;
}

// tanh for f32 as Cephes tanhf: an odd polynomial below |x| = 0.625 (where 1 - 2 / (exp(2x) + 1) would
// cancel), that formula above, +-1 beyond |x| = 44 (2 ulp); f64 uses std::tanh.
inline float vtanh(float x) {
  const float z = x < 0.0f ? -x : x;
  const float s = vexp(2.0f * (z > 44.0f ? 44.0f : z));
  float big = 1.0f - 2.0f / (s + 1.0f);
  big = x < 0.0f ? -big : big;
  const float x2 = x * x;
  float p = -5.70498872745e-3f;
  p = p * x2 + 2.06390887954e-2f;
  p = p * x2 - 5.37397155531e-2f;
  p = p * x2 + 1.33314422036e-1f;
  p = p * x2 - 3.33332819422e-1f;
  const float small = p * x2 * x + x;
  const float y = z >= 0.625f ? big : small;
  return x != x ? x : y;
}

inline double vtanh(double x) { return std::tanh(x); }

// f32 loops over n elements (y may alias x), compiled for several instruction sets where the compiler can
// (x86-64 with GCC: AVX-512, AVX2 + FMA, baseline), the best one picked when the program loads. Baseline
// SSE2 spends ~1.7 ns per exp, AVX-512 ~0.35 ns. A clone may contract a * b + c into an FMA, so the last bit
// can differ between machines, never between runs or thread counts on one machine.
void exp_f32(const float* x, float* y, int64_t n);                     // y = exp(x)
void exp_shift_f32(const float* x, float shift, float* y, int64_t n);  // y = exp(x - shift)
void sigmoid_f32(const float* x, float* y, int64_t n);
void tanh_f32(const float* x, float* y, int64_t n);
// Scans x[from, n) in blocks of kScanBlock and returns the start of the first block holding an element
// above t or a NaN; past the last whole block it returns that position (the tail is the caller's).
constexpr int64_t kScanBlock = 32;
int64_t first_block_above(const float* x, int64_t from, int64_t n, float t);

}  // namespace lethe::cpu::detail
