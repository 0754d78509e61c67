// Tests for FREEDOM's graph builders (models/freedom_graphs.h) against dense formulas.
#include <gtest/gtest.h>

#include <cmath>

#include "datasets/graphs.h"
#include "datasets/synthetic.h"
#include "models/freedom_graphs.h"
#include "tests/datasets/helpers.h"

using namespace lethe;
using namespace lethe::datasets;
using lethe::models::freedom_mm_adj;
using lethe::models::freedom_pruned_adj;
using test::dense;
using test::expect_csr_equal;
using test::random_features;

TEST(FreedomGraphs, FreedomMmAdjSumsOverlaps) {
  const int64_t I = 20, k = 3;
  Tensor v = random_features(I, 8, 1), t = random_features(I, 5, 2);
  auto mm = dense(freedom_mm_adj(v, t, k, 0.1));
  auto sv = dense(knn_graph(v, k, KnnWeight::Binary)), st = dense(knn_graph(t, k, KnnWeight::Binary));
  for (int64_t e = 0; e < I * I; ++e) EXPECT_NEAR(mm[e], 0.1f * sv[e] + 0.9f * st[e], 1e-6);
  for (int64_t i = 0; i < I; ++i) EXPECT_NEAR(mm[i * I + i], 1.0 / (k + 1e-7), 1e-6);  // self in both
}

TEST(FreedomGraphs, FreedomPrunedAdjacency) {
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
