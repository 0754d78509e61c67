// Counter-based random numbers (Philox-4x32-10). A stream is (seed, counter): the same seed and counter
// give the same numbers in any thread order. `Rng` wraps it for host-side sequential use (initialisation,
// shuffles, negative sampling, request selection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace lethe {

struct Philox4 {
  uint32_t v[4];
};

// Philox-4x32-10 (Salmon et al., SC'11): key = seed, counter = (ctr_lo, ctr_hi, stream_lo, stream_hi).
inline Philox4 philox4x32(uint64_t seed, uint64_t counter, uint64_t stream = 0) {
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = static_cast<uint32_t>(stream), c3 = static_cast<uint32_t>(stream >> 32);
  for (int r = 0; r < 10; ++r) {
    uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform double in [0, 1) from 53 random bits.
inline double u01d(uint32_t a, uint32_t b) {
  uint64_t x = (static_cast<uint64_t>(a) << 21) ^ static_cast<uint64_t>(b >> 11);
  return static_cast<double>(x & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// Host-side sequential generator. Deterministic for a given seed; `fork` derives independent children.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0, uint64_t stream = 0) : seed_(seed), stream_(stream) {}
  uint32_t next_u32();
  uint64_t next_u64();
  double uniform();            // [0, 1)
  uint32_t below(uint32_t n);  // uniform integer in [0, n), unbiased
  double normal();             // standard normal (Box-Muller)
  template <class T>
  void shuffle(std::vector<T>& v) {  // Fisher-Yates
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(static_cast<uint32_t>(i))]);
  }
  Rng fork(uint64_t tag);  // child stream, independent of this one
  uint64_t seed() const { return seed_ ^ (stream_ * 0x9E3779B97F4A7C15ull); }

 private:
  uint64_t seed_, stream_, counter_ = 0;
  uint32_t buf_[4] = {0, 0, 0, 0};
  int buf_left_ = 0;
};

}  // namespace lethe
