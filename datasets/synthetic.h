// Synthetic MMRec-style data sets with the shape of the Amazon benchmarks (or a tiny one for tests/demos).
//
// Generative model (all from one seed, identical output for identical seed and any thread count):
//   * latent factors z_u, z_i in R^16, standard normal;
//   * user activity n_u: 5 + power-law (Pareto) extra, scaled so that the total hits the preset's count
//     exactly (every user >= 5, capped); item popularity p_i: Zipf-like weights over a random item order;
//   * each user picks n_u distinct items with probability ∝ p_i · exp(<z_u, z_i> / temperature)
//     (Gumbel-top-k = sampling without replacement); items below a minimum count then take over randomly
//     chosen rows of over-represented items, so that every item id occurs;
//   * features per modality: x_i = z_i P_m + sigma_m · noise (P_m a random 16 x width projection, own noise
//     per modality, so each modality carries real, different signal about the item factors). "image" rows
//     are ReLU'd (CNN features are non-negative); "text" rows are L2-normalised (like MiniLM outputs);
//   * MMRec's per-user split: shuffle each user's rows; n < 10 -> n-2 / 1 / 1;
//     n >= 10 -> vt = floor(0.2 n), valid = floor(vt / 2), test = vt - valid, the rest train.
// See docs/datasets.md, "Synthetic data".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace lethe::datasets {

struct SynthModality {
  std::string name;
  int64_t width;
  double noise;  // standard deviation of the additive noise (signal rows have unit variance per entry)
};

struct SynthPreset {
  std::string name;
  int32_t n_users, n_items;
  int64_t n_interactions;
  std::vector<SynthModality> modalities;
  int latent_dim = 16;
  double temperature = 0.5;  // item choice ∝ pop · exp(<z_u, z_i> / temperature)
  double user_alpha = 1.6;   // Pareto tail index of the extra user activity
  double item_zipf = 0.8;    // item popularity weight of rank r: (r + 1)^-item_zipf
  int32_t min_user = 5, max_user = 120, min_item = 5;
  double scale = 1.0;  // the factor scale_preset applied (for SOURCE.md)
};

// Presets: "baby", "sports", "clothing" (Amazon counts, image 4096-d, text 384-d) and "tiny" (300 users,
// 200 items, ~3.5k rows, image 64-d, text 32-d).
SynthPreset synth_preset(const std::string& name);
std::vector<std::string> synth_preset_names();
// The preset with its users, items and interactions multiplied by `factor` (> 0, rounded; feature widths and
// the generative model unchanged), so that one shape can be grown for cost measurements (docs/scaling.md,
// "How cost grows"). Refused when the result cannot hold min_user rows per user and min_item per item.
SynthPreset scale_preset(const SynthPreset& preset, double factor);

Dataset generate_synthetic(const SynthPreset& preset, uint64_t seed);

// MMRec split sizes for a user with n interactions: {train, valid, test}.
struct SplitSizes {
  int64_t train, valid, test;
};
SplitSizes mmrec_split_sizes(int64_t n);

// Applies the per-user split rule to rows grouped by user (any order), shuffling each user's rows with rng.
// Output rows are sorted by user; within a user train rows come first, then valid, then test.
void mmrec_split(const Interactions& all, int32_t n_users, uint64_t seed, Dataset& out);

// Text of the SOURCE.md written next to generated data.
std::string synth_source_md(const SynthPreset& preset, uint64_t seed);

}  // namespace lethe::datasets
