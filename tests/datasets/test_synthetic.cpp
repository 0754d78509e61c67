// Tests for the synthetic generator (datasets/synthetic.h): split rule, preset counts, determinism, signal.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "datasets/mmrec_io.h"
#include "datasets/synthetic.h"
#include "tests/datasets/helpers.h"

using namespace lethe;
using namespace lethe::datasets;
using lethe::test::TempDir;
namespace fs = std::filesystem;

TEST(Synthetic, SplitSizesFollowMmrecRule) {
  for (int64_t n = 3; n < 10; ++n) {
    SplitSizes s = mmrec_split_sizes(n);
    EXPECT_EQ(s.train, n - 2);
    EXPECT_EQ(s.valid, 1);
    EXPECT_EQ(s.test, 1);
  }
  EXPECT_EQ(mmrec_split_sizes(10).train, 8);
  EXPECT_EQ(mmrec_split_sizes(10).valid, 1);
  EXPECT_EQ(mmrec_split_sizes(10).test, 1);
  SplitSizes s = mmrec_split_sizes(37);  // vt = 7, valid 3, test 4
  EXPECT_EQ(s.train, 30);
  EXPECT_EQ(s.valid, 3);
  EXPECT_EQ(s.test, 4);
  s = mmrec_split_sizes(125);  // vt = 25, valid 12, test 13
  EXPECT_EQ(s.train, 100);
  EXPECT_EQ(s.valid, 12);
  EXPECT_EQ(s.test, 13);
}

TEST(Synthetic, TinyPresetShapeAndSplit) {
  SynthPreset p = synth_preset("tiny");
  Dataset ds = generate_synthetic(p, 7);
  EXPECT_EQ(ds.n_users, 300);
  EXPECT_EQ(ds.n_items, 200);
  const size_t total = ds.train.size() + ds.valid.size() + ds.test.size();
  EXPECT_EQ(total, 3500u);
  ASSERT_EQ(ds.features.size(), 2u);
  EXPECT_EQ(ds.features["image"].values.shape(), (Shape{200, 64}));
  EXPECT_EQ(ds.features["text"].values.shape(), (Shape{200, 32}));
  // Per-user counts obey the split rule; every user >= 5 rows; no repeated pair; every item occurs.
  std::map<int32_t, std::array<int64_t, 3>> per_user;
  std::set<std::pair<int32_t, int32_t>> pairs;
  std::vector<int64_t> item_count(200, 0);
  const Interactions* sp[3] = {&ds.train, &ds.valid, &ds.test};
  for (int s = 0; s < 3; ++s)
    for (size_t r = 0; r < sp[s]->size(); ++r) {
      ++per_user[sp[s]->users[r]][s];
      EXPECT_TRUE(pairs.insert({sp[s]->users[r], sp[s]->items[r]}).second);
      ++item_count[sp[s]->items[r]];
    }
  EXPECT_EQ(per_user.size(), 300u);
  for (auto& [u, c] : per_user) {
    const int64_t n = c[0] + c[1] + c[2];
    EXPECT_GE(n, 5);
    SplitSizes want = mmrec_split_sizes(n);
    EXPECT_EQ(c[0], want.train);
    EXPECT_EQ(c[1], want.valid);
    EXPECT_EQ(c[2], want.test);
  }
  for (int64_t c : item_count) EXPECT_GE(c, p.min_item);
  // Text rows are unit length; image rows are non-negative.
  const float* t = ds.features["text"].values.data<float>();
  for (int i = 0; i < 200; ++i) {
    double ss = 0;
    for (int w = 0; w < 32; ++w) ss += t[i * 32 + w] * t[i * 32 + w];
    EXPECT_NEAR(ss, 1.0, 1e-5);
  }
  for (float x : ds.features["image"].values.to_vector<float>()) EXPECT_GE(x, 0.0f);
}

TEST(Synthetic, FeaturesCarryInteractionSignal) {
  // Items co-consumed by the same users should be more similar in feature space than random item pairs,
  // in both modalities (both are driven by the item factors that drive the interactions).
  Dataset ds = generate_synthetic(synth_preset("tiny"), 3);
  for (const char* m : {"image", "text"}) {
    const Tensor& x = ds.features[m].values;
    const int64_t W = x.cols();
    const float* p = x.data<float>();
    auto cosine = [&](int32_t a, int32_t b) {
      double ab = 0, aa = 0, bb = 0;
      for (int64_t w = 0; w < W; ++w) {
        ab += p[a * W + w] * p[b * W + w];
        aa += p[a * W + w] * p[a * W + w];
        bb += p[b * W + w] * p[b * W + w];
      }
      return ab / std::sqrt(aa * bb + 1e-30);
    };
    UserItems ui = UserItems::build(ds.train, ds.n_users);
    double co = 0, rnd = 0;
    int64_t nco = 0, nrnd = 0;
    for (int32_t u = 0; u < ds.n_users; ++u)
      for (int32_t a = ui.indptr[u]; a + 1 < ui.indptr[u + 1]; ++a) {
        co += cosine(ui.items[a], ui.items[a + 1]);
        ++nco;
      }
    for (int32_t a = 0; a < ds.n_items; ++a)
      for (int32_t b = a + 1; b < ds.n_items; b += 7) {
        rnd += cosine(a, b);
        ++nrnd;
      }
    EXPECT_GT(co / nco, rnd / nrnd + 0.02) << m;
    std::printf("%s: co-consumed %.4f random %.4f\n", m, co / nco, rnd / nrnd);
  }
}

TEST(Synthetic, SameSeedSameBytesDifferentSeedDifferent) {
  TempDir t;
  SynthPreset p = synth_preset("tiny");
  write_mmrec(generate_synthetic(p, 11), (t / "a").string());
  write_mmrec(generate_synthetic(p, 11), (t / "b").string());
  write_mmrec(generate_synthetic(p, 12), (t / "c").string());
  for (const char* f : {"inter", "image_feat.npy", "text_feat.npy"}) {
    auto name = [&](const char* dir) {
      return std::string(f) == "inter" ? t / dir / (std::string(dir) + ".inter") : t / dir / f;
    };
    EXPECT_EQ(test::read_bytes(name("a")), test::read_bytes(name("b"))) << f;
    EXPECT_NE(test::read_bytes(name("a")), test::read_bytes(name("c"))) << f;
  }
  Dataset back = load_mmrec((t / "a").string());
  Dataset orig = generate_synthetic(p, 11);
  EXPECT_EQ(back.train.items, orig.train.items);
  EXPECT_EQ(back.test.users, orig.test.users);
  EXPECT_EQ(back.features["image"].values.to_vector<float>(),
            orig.features["image"].values.to_vector<float>());
}

TEST(Synthetic, UnknownPreset) {
  test::expect_error([] { synth_preset("nope"); }, {"nope", "tiny"});
}

TEST(Synthetic, BabyPresetCountsWithinTwoPercent) {
  const auto t0 = std::chrono::steady_clock::now();
  Dataset ds = generate_synthetic(synth_preset("baby"), 1);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NEAR(ds.n_users, 19445, 19445 * 0.02);
  EXPECT_NEAR(ds.n_items, 7050, 7050 * 0.02);
  const double total = static_cast<double>(ds.train.size() + ds.valid.size() + ds.test.size());
  EXPECT_NEAR(total, 160792, 160792 * 0.02);
  EXPECT_EQ(ds.features["image"].values.shape(), (Shape{7050, 4096}));
  EXPECT_EQ(ds.features["text"].values.shape(), (Shape{7050, 384}));
  EXPECT_LT(secs, 60.0);
  RecordProperty("baby_generate_seconds", std::to_string(secs));
}

TEST(Synthetic, ScaledPresetMultipliesTheCountsAndKeepsTheWidths) {
  const SynthPreset base = synth_preset("clothing");
  const SynthPreset p = scale_preset(base, 1.0 / 64);
  EXPECT_EQ(p.n_users, 615);          // round(39387 / 64)
  EXPECT_EQ(p.n_items, 360);          // round(23033 / 64)
  EXPECT_EQ(p.n_interactions, 4354);  // round(278677 / 64)
  EXPECT_DOUBLE_EQ(p.scale, 1.0 / 64);
  ASSERT_EQ(p.modalities.size(), base.modalities.size());
  for (size_t m = 0; m < p.modalities.size(); ++m) EXPECT_EQ(p.modalities[m].width, base.modalities[m].width);
  const Dataset ds = generate_synthetic(scale_preset(synth_preset("tiny"), 2.0), 5);
  EXPECT_EQ(ds.n_users, 600);
  EXPECT_EQ(ds.n_items, 400);
  EXPECT_EQ(static_cast<int64_t>(ds.train.size() + ds.valid.size() + ds.test.size()), 7000);
  EXPECT_NE(
      synth_source_md(scale_preset(synth_preset("tiny"), 2.0), 5).find("--preset tiny --scale 2 --seed 5"),
      std::string::npos);
  // Too small to give every user and item its minimum rows, or no scale at all.
  test::expect_error([] { scale_preset(synth_preset("tiny"), 0.1); }, {"tiny x 0.1", "more items than 120"});
  test::expect_error([] { scale_preset(synth_preset("tiny"), 0.0); }, {"scale must be > 0"});
}
