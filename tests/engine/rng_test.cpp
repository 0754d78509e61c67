// Philox known answers (Random123 KAT vectors) and the host generator: determinism, fork
// semantics, unbiased bounded integers and normal moments.
#include "engine/rng.h"

#include <set>

#include "helpers.h"

namespace lethe {
namespace {

TEST(Philox, KnownAnswers) {
  // Random123 kat_vectors, philox4x32_10: key = (seed lo, seed hi), counter = (ctr lo, ctr hi, stream lo,
  // hi).
  Philox4 z = philox4x32(0, 0, 0);
  EXPECT_EQ(z.v[0], 0x6627e8d5u);
  EXPECT_EQ(z.v[1], 0xe169c58du);
  EXPECT_EQ(z.v[2], 0xbc57ac4cu);
  EXPECT_EQ(z.v[3], 0x9b00dbd8u);
  Philox4 f = philox4x32(~0ull, ~0ull, ~0ull);
  EXPECT_EQ(f.v[0], 0x408f276du);
  EXPECT_EQ(f.v[1], 0x41c83b0eu);
  EXPECT_EQ(f.v[2], 0xa20bc7c6u);
  EXPECT_EQ(f.v[3], 0x6d5451fdu);
  // Third KAT vector (pi digits): ctr {243f6a88, 85a308d3, 13198a2e, 03707344}, key {a4093822, 299f31d0}.
  Philox4 p = philox4x32(0x299f31d0a4093822ull, 0x85a308d3243f6a88ull, 0x0370734413198a2eull);
  EXPECT_EQ(p.v[0], 0xd16cfe09u);
  EXPECT_EQ(p.v[1], 0x94fdccebu);
  EXPECT_EQ(p.v[2], 0x5001e420u);
  EXPECT_EQ(p.v[3], 0x24126ea1u);
}

TEST(Rng, DeterministicAndBuffered) {
  Rng a(42), b(42), c(43);
  std::vector<uint32_t> va, vb, vc;
  for (int i = 0; i < 10; ++i) {
    va.push_back(a.next_u32());
    vb.push_back(b.next_u32());
    vc.push_back(c.next_u32());
  }
  EXPECT_EQ(va, vb);
  EXPECT_NE(va, vc);
  // The first four draws are one Philox block at counter 0.
  Philox4 r = philox4x32(Rng(42).seed(), 0, 0);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(va[i], r.v[i]);
}

TEST(Rng, ForkIsIndependentAndDeterministic) {
  Rng a(1);
  Rng c1 = a.fork(1), c1b = a.fork(1), c2 = a.fork(2);
  const uint32_t x = c1.next_u32();
  EXPECT_EQ(x, c1b.next_u32());
  EXPECT_NE(x, c2.next_u32());
  EXPECT_NE(x, Rng(1).next_u32());
  EXPECT_NE(c1.seed(), a.seed());
}

TEST(Rng, BelowIsUniform) {
  Rng g(3);
  const uint32_t n = 6;
  std::vector<int> count(n, 0);
  const int draws = 60000;
  for (int i = 0; i < draws; ++i) {
    const uint32_t k = g.below(n);
    ASSERT_LT(k, n);
    ++count[k];
  }
  // Chi-square with 5 degrees of freedom: 20.5 is the 0.999 quantile.
  double chi2 = 0.0;
  for (int c : count) chi2 += (c - draws / 6.0) * (c - draws / 6.0) / (draws / 6.0);
  EXPECT_LT(chi2, 20.5);
  EXPECT_EQ(g.below(1), 0u);
  // A range that does not divide 2^32 stays in bounds.
  for (int i = 0; i < 1000; ++i) EXPECT_LT(g.below(3000000001u), 3000000001u);
}

TEST(Rng, UniformAndNormalMoments) {
  Rng g(11);
  double su = 0, sn = 0, sn2 = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double u = g.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    su += u;
    const double z = g.normal();
    sn += z;
    sn2 += z * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.015);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
}

TEST(Rng, ShuffleIsAPermutation) {
  Rng g(5);
  std::vector<int> v(100);
  for (int i = 0; i < 100; ++i) v[i] = i;
  g.shuffle(v);
  EXPECT_EQ(std::set<int>(v.begin(), v.end()).size(), 100u);
  bool moved = false;
  for (int i = 0; i < 100; ++i) moved |= v[i] != i;
  EXPECT_TRUE(moved);
}

}  // namespace
}  // namespace lethe
