// Synthetic data generator (see datasets/synthetic.h for the generative model).
#include "datasets/synthetic.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "engine/error.h"
#include "engine/rng.h"

namespace lethe::datasets {
namespace {

// Uniform in the open interval (0, 1): safe for logarithms.
double open01(Rng& r) { return (static_cast<double>(r.next_u32()) + 0.5) * (1.0 / 4294967296.0); }

std::string fmt_scale(double x) {
  std::ostringstream o;
  o << x;
  return o.str();
}

}  // namespace

std::vector<std::string> synth_preset_names() { return {"baby", "sports", "clothing", "tiny"}; }

SynthPreset synth_preset(const std::string& name) {
  const std::vector<SynthModality> amazon = {{"image", 4096, 0.5}, {"text", 384, 0.5}};
  SynthPreset p;
  if (name == "baby") {
    p = {"baby", 19445, 7050, 160792, amazon};
  } else if (name == "sports") {
    p = {"sports", 35598, 18357, 296337, amazon};
  } else if (name == "clothing") {
    p = {"clothing", 39387, 23033, 278677, amazon};
  } else if (name == "tiny") {
    p = {"tiny", 300, 200, 3500, {{"image", 64, 0.5}, {"text", 32, 0.5}}};
    p.min_item = 3;
  } else {
    std::string all;
    for (auto& n : synth_preset_names()) all += (all.empty() ? "" : ", ") + n;
    LETHE_CHECK(false, "unknown synthetic preset '" << name << "' (known: " << all << ")");
  }
  return p;
}

SynthPreset scale_preset(const SynthPreset& preset, double factor) {
  LETHE_CHECK(factor > 0 && std::isfinite(factor), "synthetic: scale must be > 0, got " << factor);
  SynthPreset p = preset;
  p.n_users = static_cast<int32_t>(std::llround(preset.n_users * factor));
  p.n_items = static_cast<int32_t>(std::llround(preset.n_items * factor));
  p.n_interactions = std::llround(static_cast<double>(preset.n_interactions) * factor);
  p.scale = preset.scale * factor;
  LETHE_CHECK(p.n_users > 0 && p.n_items > p.max_user &&
                  p.n_interactions >= static_cast<int64_t>(p.n_users) * p.min_user &&
                  p.n_interactions >= static_cast<int64_t>(p.n_items) * p.min_item,
              "synthetic: " << preset.name << " x " << factor << " gives " << p.n_users << " users, "
                            << p.n_items << " items and " << p.n_interactions
                            << " interactions; it needs more items than " << p.max_user
                            << " (the most rows of a user) and at least " << p.min_user
                            << " rows per user and " << p.min_item << " per item");
  return p;
}

SplitSizes mmrec_split_sizes(int64_t n) {
  if (n < 10) return {n - 2, 1, 1};
  int64_t vt = n / 5, valid = vt / 2;
  return {n - vt, valid, vt - valid};
}

void mmrec_split(const Interactions& all, int32_t n_users, uint64_t seed, Dataset& out) {
  UserItems by_user = UserItems::build(all, n_users);  // groups rows by user (items sorted: deterministic)
  Rng rng(seed, 0x5917u);
  out.train = {};
  out.valid = {};
  out.test = {};
  std::vector<int32_t> rows;
  for (int32_t u = 0; u < n_users; ++u) {
    rows.assign(by_user.items.begin() + by_user.indptr[u], by_user.items.begin() + by_user.indptr[u + 1]);
    if (rows.empty()) continue;
    LETHE_CHECK(rows.size() >= 3, "mmrec_split: user " << u << " has " << rows.size()
                                                       << " interactions; the split needs at least 3");
    rng.shuffle(rows);
    SplitSizes s = mmrec_split_sizes(static_cast<int64_t>(rows.size()));
    size_t r = 0;
    for (int64_t k = 0; k < s.train; ++k) out.train.push(u, rows[r++]);
    for (int64_t k = 0; k < s.valid; ++k) out.valid.push(u, rows[r++]);
    for (int64_t k = 0; k < s.test; ++k) out.test.push(u, rows[r++]);
  }
}

Dataset generate_synthetic(const SynthPreset& p, uint64_t seed) {
  const int32_t U = p.n_users, I = p.n_items, d = p.latent_dim;
  const int32_t max_user = std::min<int32_t>(p.max_user, I / 2);
  LETHE_CHECK(U > 0 && I > 0 && d > 0, "generate_synthetic: empty preset '" << p.name << "'");
  LETHE_CHECK(p.n_interactions >= static_cast<int64_t>(U) * p.min_user &&
                  p.n_interactions <= static_cast<int64_t>(U) * max_user &&
                  p.n_interactions >= static_cast<int64_t>(I) * p.min_item,
              "generate_synthetic: preset '" << p.name << "' asks for " << p.n_interactions
                                             << " interactions, impossible with its user/item limits");
  Rng master(seed, 0);
  const uint64_t s_lat = master.next_u64(), s_act = master.next_u64(), s_pop = master.next_u64(),
                 s_pick = master.next_u64(), s_fix = master.next_u64(), s_split = master.next_u64(),
                 s_feat = master.next_u64();

  // Latent factors with entries N(0, 1/sqrt(d)): <z_u, z_i> has unit variance.
  const double zscale = 1.0 / std::pow(static_cast<double>(d), 0.25);
  std::vector<float> zu(static_cast<size_t>(U) * d), zi(static_cast<size_t>(I) * d);
  {
    Rng r(s_lat, 1);
    for (auto& x : zu) x = static_cast<float>(r.normal() * zscale);
    for (auto& x : zi) x = static_cast<float>(r.normal() * zscale);
  }

  // User activity: 5 + Pareto extra, scaled and topped up to hit n_interactions exactly.
  std::vector<int32_t> n_u(U, p.min_user);
  {
    Rng r(s_act, 2);
    std::vector<double> w(U);
    double sw = 0;
    for (auto& x : w) {
      x = std::pow(open01(r), -1.0 / p.user_alpha) - 1.0;
      sw += x;
    }
    const double extra = static_cast<double>(p.n_interactions - static_cast<int64_t>(U) * p.min_user);
    int64_t total = 0;
    for (int32_t u = 0; u < U; ++u) {
      n_u[u] = std::min<int32_t>(max_user, p.min_user + static_cast<int32_t>(std::floor(w[u] * extra / sw)));
      total += n_u[u];
    }
    while (total < p.n_interactions) {  // floor and the cap leave a deficit: add single rows at random
      int32_t u = static_cast<int32_t>(r.below(static_cast<uint32_t>(U)));
      if (n_u[u] < max_user) {
        ++n_u[u];
        ++total;
      }
    }
  }

  // Item popularity: Zipf weights over a random order of the items.
  std::vector<float> log_pop(I);
  {
    Rng r(s_pop, 3);
    std::vector<int32_t> perm(I);
    std::iota(perm.begin(), perm.end(), 0);
    r.shuffle(perm);
    for (int32_t k = 0; k < I; ++k) log_pop[perm[k]] = static_cast<float>(-p.item_zipf * std::log(k + 1.0));
  }

  // Item choice per user: Gumbel-top-n_u over log_pop + <z_u, z_i>/T (= sampling without replacement).
  std::vector<int64_t> start(U + 1, 0);
  for (int32_t u = 0; u < U; ++u) start[u + 1] = start[u] + n_u[u];
  std::vector<int32_t> items(start[U]);
  const float inv_t = static_cast<float>(1.0 / p.temperature);
#pragma omp parallel
  {
    std::vector<float> key(I);
    std::vector<int32_t> idx(I);
#pragma omp for schedule(dynamic, 64)
    for (int32_t u = 0; u < U; ++u) {
      Rng r(s_pick, static_cast<uint64_t>(u) + 16);
      const float* a = &zu[static_cast<size_t>(u) * d];
      for (int32_t i = 0; i < I; ++i) {
        const float* b = &zi[static_cast<size_t>(i) * d];
        float dot = 0;
        for (int k = 0; k < d; ++k) dot += a[k] * b[k];
        key[i] = log_pop[i] + dot * inv_t - static_cast<float>(std::log(-std::log(open01(r))));
      }
      std::iota(idx.begin(), idx.end(), 0);
      auto cmp = [&](int32_t x, int32_t y) { return key[x] > key[y] || (key[x] == key[y] && x < y); };
      std::nth_element(idx.begin(), idx.begin() + n_u[u], idx.end(), cmp);
      std::sort(idx.begin(), idx.begin() + n_u[u]);
      std::copy(idx.begin(), idx.begin() + n_u[u], items.begin() + start[u]);
    }
  }

  // Every item at least min_item rows: rare items take over random rows of items above the minimum.
  {
    Rng r(s_fix, 4);
    std::vector<int64_t> count(I, 0);
    std::vector<int32_t> row_user(items.size());
    for (int32_t u = 0; u < U; ++u)
      for (int64_t k = start[u]; k < start[u + 1]; ++k) row_user[k] = u;
    for (int32_t x : items) ++count[x];
    const auto rows = static_cast<uint64_t>(items.size());
    for (int32_t j = 0; j < I; ++j) {
      int64_t guard = 0;
      while (count[j] < p.min_item) {
        LETHE_CHECK(++guard < 100000000, "generate_synthetic: cannot give item " << j << " enough rows");
        const auto k = static_cast<int64_t>(r.next_u64() % rows);
        const int32_t o = items[k], u = row_user[k];
        if (count[o] <= p.min_item) continue;
        if (std::find(items.begin() + start[u], items.begin() + start[u + 1], j) !=
            items.begin() + start[u + 1])
          continue;
        items[k] = j;
        --count[o];
        ++count[j];
      }
    }
  }

  Dataset ds;
  ds.name = p.name;
  ds.n_users = U;
  ds.n_items = I;
  Interactions all;
  all.users.resize(items.size());
  all.items = items;
  for (int32_t u = 0; u < U; ++u)
    std::fill(all.users.begin() + start[u], all.users.begin() + start[u + 1], u);
  mmrec_split(all, U, s_split, ds);

  // Features: x_i = z_i P_m + noise_m; image ReLU'd, text L2-normalised.
  for (size_t m = 0; m < p.modalities.size(); ++m) {
    const SynthModality& mod = p.modalities[m];
    const int64_t W = mod.width;
    const uint64_t sm = s_feat + 0x9E3779B97F4A7C15ull * (m + 1);
    std::vector<float> proj(static_cast<size_t>(d) * W);
    {
      Rng r(sm, 0);
      for (auto& x : proj) x = static_cast<float>(r.normal() * zscale);
    }
    Tensor t = Tensor::empty({I, W}, DType::F32);
    float* out = t.data<float>();
    const bool relu = mod.name == "image", l2 = mod.name == "text";
#pragma omp parallel for schedule(static)
    for (int32_t i = 0; i < I; ++i) {
      Rng r(sm, static_cast<uint64_t>(i) + 1);
      float* row = out + static_cast<int64_t>(i) * W;
      for (int64_t w = 0; w < W; ++w) row[w] = static_cast<float>(mod.noise * r.normal());
      for (int k = 0; k < d; ++k) {
        const float z = zi[static_cast<size_t>(i) * d + k];
        const float* pr = &proj[static_cast<size_t>(k) * W];
        for (int64_t w = 0; w < W; ++w) row[w] += z * pr[w];
      }
      if (relu)
        for (int64_t w = 0; w < W; ++w) row[w] = std::max(row[w], 0.0f);
      if (l2) {
        double ss = 0;
        for (int64_t w = 0; w < W; ++w) ss += static_cast<double>(row[w]) * row[w];
        const float inv = static_cast<float>(1.0 / std::max(std::sqrt(ss), 1e-12));
        for (int64_t w = 0; w < W; ++w) row[w] *= inv;
      }
    }
    ds.features[mod.name] = FeatureTable{t, "f32", ""};
  }
  return ds;
}

std::string synth_source_md(const SynthPreset& p, uint64_t seed) {
  std::ostringstream o;
  o << "# " << p.name << " (synthetic)\n\n"
    << "**Synthetic data, not real.** Generated by `lethe gen --preset " << p.name
    << (p.scale == 1.0 ? std::string() : " --scale " + fmt_scale(p.scale)) << " --seed " << seed
    << "` (datasets/synthetic.cpp). The same preset and seed give byte-identical files.\n\n"
    << "Shape: " << p.n_users << " users, " << p.n_items << " items, " << p.n_interactions
    << " interactions (MMRec per-user split, x_label 0/1/2); rating 1.0 and timestamp 0 are placeholders.\n"
    << "Model: latent factors (dim " << p.latent_dim
    << ") drive both the interactions (power-law user activity,"
    << " every user >= " << p.min_user << "; Zipf item popularity x exp(<u,i>/" << p.temperature << "))"
    << " and the features (item factors x random projection + noise per modality).\n\nModalities:\n";
  for (auto& m : p.modalities)
    o << "- `" << m.name << "_feat.npy`: float32 [" << p.n_items << ", " << m.width << "], noise sd "
      << m.noise
      << (m.name == "image"  ? ", ReLU"
          : m.name == "text" ? ", rows L2-normalised"
                             : "")
      << "\n";
  return o.str();
}

}  // namespace lethe::datasets
