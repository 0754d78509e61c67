// Host side of the Philox generator: buffered sequential draws, unbiased bounded integers, normals,
// and independent child streams (fork).
#include "engine/rng.h"

#include <cmath>

namespace lethe {

namespace {
// SplitMix64 finaliser: spreads a fork tag over all 64 bits.
uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

uint32_t Rng::next_u32() {
  if (buf_left_ == 0) {
    const Philox4 r = philox4x32(seed(), counter_++, 0);
    for (int i = 0; i < 4; ++i) buf_[i] = r.v[i];
    buf_left_ = 4;
  }
  return buf_[4 - buf_left_--];
}

uint64_t Rng::next_u64() {
  const uint64_t lo = next_u32();
  const uint64_t hi = next_u32();
  return (hi << 32) | lo;
}

double Rng::uniform() {
  const uint32_t a = next_u32();
  const uint32_t b = next_u32();
  return u01d(a, b);
}

// Lemire's multiply-and-reject: unbiased for every n >= 1.
uint32_t Rng::below(uint32_t n) {
  if (n <= 1) return 0;
  uint64_t m = static_cast<uint64_t>(next_u32()) * n;
  uint32_t low = static_cast<uint32_t>(m);
  if (low < n) {
    const uint32_t threshold = static_cast<uint32_t>(-n) % n;
    while (low < threshold) {
      m = static_cast<uint64_t>(next_u32()) * n;
      low = static_cast<uint32_t>(m);
    }
  }
  return static_cast<uint32_t>(m >> 32);
}

// Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
double Rng::normal() {
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
}

Rng Rng::fork(uint64_t tag) { return Rng(seed() ^ mix64(tag), stream_ + 1); }

}  // namespace lethe
