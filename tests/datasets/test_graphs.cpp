// Tests for the graph builders (datasets/graphs.h) against dense formulas and brute force.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "datasets/graphs.h"
#include "datasets/requests.h"
#include "datasets/synthetic.h"
#include "tests/datasets/helpers.h"

using namespace lethe;
using namespace lethe::data;

namespace {

std::vector<float> dense(const Csr& m) { return m.to_dense().to_vector<float>(); }

void expect_csr_equal(const Csr& a, const Csr& b) {
  ASSERT_EQ(a.rows, b.rows);
  ASSERT_EQ(a.cols, b.cols);
  EXPECT_EQ(a.indptr.to_vector<int32_t>(), b.indptr.to_vector<int32_t>());
  EXPECT_EQ(a.indices.to_vector<int32_t>(), b.indices.to_vector<int32_t>());
  EXPECT_EQ(a.values.to_vector<float>(), b.values.to_vector<float>());  // bitwise
}

Interactions small_graph() {
  Interactions x;  // 4 users, 5 items; user 3 and item 4 have no edges; (0, 1) repeated
  for (auto [u, i] : std::vector<std::pair<int, int>>{{0, 0}, {0, 1}, {1, 1}, {1, 2}, {2, 0}, {2, 3}, {0, 1}})
    x.push(u, i);
  return x;
}

Tensor random_features(int64_t n, int64_t f, uint64_t seed) {
  Rng r(seed);
  std::vector<float> v(n * f);
  for (auto& x : v) x = static_cast<float>(r.normal());
  return Tensor::from_vector(v, {n, f});
}

}  // namespace

TEST(Graphs, SymAdjacencyMatchesDenseFormula) {
  const int32_t U = 4, I = 5, N = 9;
  Interactions x = small_graph();
  std::vector<double> A(N * N, 0.0);
  for (size_t k = 0; k < x.size(); ++k) {
    A[x.users[k] * N + U + x.items[k]] = 1;
    A[(U + x.items[k]) * N + x.users[k]] = 1;
  }
  std::vector<double> deg(N, 0);
  for (int r = 0; r < N; ++r)
    for (int c = 0; c < N; ++c) deg[r] += A[r * N + c];
  for (double eps : {1e-7, 0.0}) {
    auto got = dense(bipartite_sym_adj(x, U, I, eps));
    for (int r = 0; r < N; ++r)
      for (int c = 0; c < N; ++c) {
        double dr = deg[r] + eps, dc = deg[c] + eps;
        double want = A[r * N + c] == 0 ? 0.0 : A[r * N + c] / std::sqrt(dr) / std::sqrt(dc);
        EXPECT_NEAR(got[r * N + c], want, 1e-7) << r << "," << c;
        EXPECT_FALSE(std::isnan(got[r * N + c]));
      }
  }
  // LATTICE: D^-1 (A + I).
  auto rw = dense(bipartite_rw_adj(x, U, I));
  for (int r = 0; r < N; ++r)
    for (int c = 0; c < N; ++c) {
      double want = (A[r * N + c] + (r == c)) / (deg[r] + 1);
      EXPECT_NEAR(rw[r * N + c], want, 1e-7);
    }
  // R blocks: normalised equals the user-item block of the eps = 0 adjacency; binary is 0/1.
  auto sym0 = dense(bipartite_sym_adj(x, U, I, 0.0));
  auto rn = dense(user_item_matrix(x, U, I, true));
  auto rb = dense(user_item_matrix(x, U, I, false));
  for (int u = 0; u < U; ++u)
    for (int i = 0; i < I; ++i) {
      EXPECT_FLOAT_EQ(rn[u * I + i], sym0[u * N + U + i]);
      EXPECT_EQ(rb[u * I + i], A[u * N + U + i]);
    }
}

TEST(Graphs, KnnMatchesBruteForce) {
  const int64_t I = 37, F = 9, k = 5;
  Tensor x = random_features(I, F, 9);
  const float* p = x.data<float>();
  // Brute-force cosine, top-k (ties by lower index), then both normalisations.
  std::vector<double> S(I * I);
  for (int a = 0; a < I; ++a)
    for (int b = 0; b < I; ++b) {
      double ab = 0, aa = 0, bb = 0;
      for (int f = 0; f < F; ++f) {
        ab += p[a * F + f] * p[b * F + f];
        aa += p[a * F + f] * p[a * F + f];
        bb += p[b * F + f] * p[b * F + f];
      }
      S[a * I + b] = ab / std::sqrt(aa) / std::sqrt(bb);
    }
  std::vector<double> keep(I * I, 0.0), ones(I * I, 0.0);
  for (int a = 0; a < I; ++a) {
    std::vector<int> idx(I);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int m, int n) { return S[a * I + m] > S[a * I + n]; });
    EXPECT_EQ(idx[0], a);  // self is the nearest
    for (int t = 0; t < k; ++t) {
      keep[a * I + idx[t]] = S[a * I + idx[t]];
      ones[a * I + idx[t]] = 1.0;
    }
  }
  for (int64_t block : {4, 1024}) {
    auto cos_g = dense(knn_graph(x, k, KnnWeight::Cosine, nullptr, block));
    auto bin_g = dense(knn_graph(x, k, KnnWeight::Binary, nullptr, block));
    std::vector<double> rs(I, 0), rc(I, 0);
    for (int a = 0; a < I; ++a)
      for (int b = 0; b < I; ++b) {
        rs[a] += keep[a * I + b];
        rc[a] += ones[a * I + b];
      }
    for (int a = 0; a < I; ++a)
      for (int b = 0; b < I; ++b) {
        EXPECT_NEAR(cos_g[a * I + b], keep[a * I + b] / std::sqrt(rs[a] * rs[b]), 1e-5);
        EXPECT_NEAR(bin_g[a * I + b], ones[a * I + b] / std::sqrt((rc[a] + 1e-7) * (rc[b] + 1e-7)), 1e-6);
        if (ones[a * I + b] != 0) {
          EXPECT_NEAR(bin_g[a * I + b], 1.0 / (k + 1e-7), 1e-6);
        }
      }
  }
}

TEST(Graphs, KnnWithDroppedItemsEqualsKnnOnRemainingItems) {
  const int64_t I = 30, F = 6, k = 4;
  Tensor x = random_features(I, F, 2);
  std::vector<uint8_t> active(I, 1);
  for (int i : {0, 7, 8, 29}) active[i] = 0;
  std::vector<int32_t> keep_ids;
  for (int i = 0; i < I; ++i)
    if (active[i]) keep_ids.push_back(i);
  const int64_t J = static_cast<int64_t>(keep_ids.size());
  std::vector<float> sub(J * F);
  for (int64_t j = 0; j < J; ++j)
    for (int64_t f = 0; f < F; ++f) sub[j * F + f] = x.data<float>()[keep_ids[j] * F + f];
  for (KnnWeight w : {KnnWeight::Cosine, KnnWeight::Binary}) {
    auto full = dense(knn_graph(x, k, w, &active));
    auto small = dense(knn_graph(Tensor::from_vector(sub, {J, F}), k, w));
    for (int64_t a = 0; a < I; ++a)
      for (int64_t b = 0; b < I; ++b)
        if (!active[a] || !active[b]) {
          EXPECT_EQ(full[a * I + b], 0.0f);
        }
    for (int64_t a = 0; a < J; ++a)
      for (int64_t b = 0; b < J; ++b) EXPECT_FLOAT_EQ(full[keep_ids[a] * I + keep_ids[b]], small[a * J + b]);
  }
}

TEST(Graphs, FreedomMmAdjSumsOverlaps) {
  const int64_t I = 20, k = 3;
  Tensor v = random_features(I, 8, 1), t = random_features(I, 5, 2);
  auto mm = dense(freedom_mm_adj(v, t, k, 0.1));
  auto sv = dense(knn_graph(v, k, KnnWeight::Binary)), st = dense(knn_graph(t, k, KnnWeight::Binary));
  for (int64_t e = 0; e < I * I; ++e) EXPECT_NEAR(mm[e], 0.1f * sv[e] + 0.9f * st[e], 1e-6);
  for (int64_t i = 0; i < I; ++i) EXPECT_NEAR(mm[i * I + i], 1.0 / (k + 1e-7), 1e-6);  // self in both
}

TEST(Graphs, FreedomPrunedAdjacency) {
  Dataset ds = generate_synthetic(synth_preset("tiny"), 4);
  const int32_t U = ds.n_users, I = ds.n_items, N = U + I;
  const size_t E = ds.train.size();
  Rng r1(5), r2(5), r3(6);
  Csr a = freedom_pruned_adj(ds.train, U, I, 0.8, r1);
  Csr b = freedom_pruned_adj(ds.train, U, I, 0.8, r2);
  Csr c = freedom_pruned_adj(ds.train, U, I, 0.8, r3);
  expect_csr_equal(a, b);  // same seed, same graph
  EXPECT_NE(a.indices.to_vector<int32_t>(), c.indices.to_vector<int32_t>());
  const auto kept = static_cast<int64_t>(std::floor(E * 0.2));
  EXPECT_EQ(a.nnz(), 2 * kept);
  // Symmetric; each entry 1/sqrt(d'_u d'_i) with the kept graph's degrees; only train edges.
  auto d = dense(a);
  UserItems ui = UserItems::build(ds.train, U);
  std::vector<double> deg(N, 0);
  for (int r = 0; r < N; ++r)
    for (int cc = 0; cc < N; ++cc) deg[r] += d[static_cast<size_t>(r) * N + cc] != 0;
  for (int u = 0; u < U; ++u)
    for (int i = 0; i < I; ++i) {
      const float x = d[static_cast<size_t>(u) * N + U + i];
      EXPECT_EQ(x, d[static_cast<size_t>(U + i) * N + u]);
      if (x != 0) {
        EXPECT_TRUE(ui.contains(u, i));
        EXPECT_NEAR(x, 1.0 / std::sqrt((deg[u] + 1e-7) * (deg[U + i] + 1e-7)), 1e-6);
      }
    }
  // Sampling favours low-degree edges: kept edges have a larger mean weight than all edges.
  std::vector<double> du(U, 0), di(I, 0);
  for (size_t e = 0; e < E; ++e) {
    du[ds.train.users[e]]++;
    di[ds.train.items[e]]++;
  }
  double all = 0, sel = 0;
  for (size_t e = 0; e < E; ++e) all += 1.0 / std::sqrt(du[ds.train.users[e]] * di[ds.train.items[e]]);
  for (int u = 0; u < U; ++u)
    for (int i = 0; i < I; ++i)
      if (d[static_cast<size_t>(u) * N + U + i] != 0) sel += 1.0 / std::sqrt(du[u] * di[i]);
  EXPECT_GT(sel / kept, all / E);
}

TEST(Graphs, RebuiltFromRetainEqualsFromScratch) {
  // After a request, structures built from the resolution's retain set equal those built on a data set
  // whose train split is the retain set from the start (unlearning.md 3).
  Dataset ds = generate_synthetic(synth_preset("tiny"), 8);
  RequestSpec spec;
  spec.kind = RequestKind::Item;
  spec.fraction = 0.1;
  spec.drop = true;
  spec.seed = 3;
  Resolution res = resolve(ds, generate_request(ds, spec));
  Dataset scratch = apply_request(ds, res);
  Interactions retain_sorted = unique_pairs(res.retain);  // a different row order must not matter
  expect_csr_equal(bipartite_sym_adj(res.retain, ds.n_users, ds.n_items),
                   bipartite_sym_adj(scratch.train, scratch.n_users, scratch.n_items));
  expect_csr_equal(bipartite_sym_adj(retain_sorted, ds.n_users, ds.n_items),
                   bipartite_sym_adj(scratch.train, scratch.n_users, scratch.n_items));
  expect_csr_equal(bipartite_rw_adj(res.retain, ds.n_users, ds.n_items),
                   bipartite_rw_adj(scratch.train, scratch.n_users, scratch.n_items));
  expect_csr_equal(user_item_matrix(res.retain, ds.n_users, ds.n_items, true),
                   user_item_matrix(scratch.train, scratch.n_users, scratch.n_items, true));
  Rng r1(9), r2(9);
  expect_csr_equal(freedom_pruned_adj(res.retain, ds.n_users, ds.n_items, 0.9, r1),
                   freedom_pruned_adj(scratch.train, scratch.n_users, scratch.n_items, 0.9, r2));
  auto mask = catalogue_mask(ds, res);
  auto feats = apply_to_features(ds, res);
  expect_csr_equal(knn_graph(feats["image"].values, 10, KnnWeight::Cosine, &mask),
                   knn_graph(scratch.features["image"].values, 10, KnnWeight::Cosine, &mask));
  // No forgotten edge survives.
  Csr adj = bipartite_sym_adj(res.retain, ds.n_users, ds.n_items);
  auto ip = adj.indptr.to_vector<int32_t>(), ix = adj.indices.to_vector<int32_t>();
  for (size_t f = 0; f < res.forget.size(); ++f) {
    const int32_t u = res.forget.users[f], col = ds.n_users + res.forget.items[f];
    EXPECT_FALSE(std::binary_search(ix.begin() + ip[u], ix.begin() + ip[u + 1], col));
  }
  // Dropped items have no kNN edges at all.
  Csr g = knn_graph(feats["text"].values, 10, KnnWeight::Binary, &mask);
  auto gd = dense(g);
  for (int32_t i : res.dropped_items)
    for (int32_t j = 0; j < ds.n_items; ++j) {
      EXPECT_EQ(gd[static_cast<size_t>(i) * ds.n_items + j], 0.0f);
      EXPECT_EQ(gd[static_cast<size_t>(j) * ds.n_items + i], 0.0f);
    }
}
