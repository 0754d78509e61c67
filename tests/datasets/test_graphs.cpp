// Tests for the graph builders (datasets/graphs.h) against dense formulas and brute force.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "datasets/graphs.h"
#include "datasets/synthetic.h"
#include "tests/datasets/helpers.h"

using namespace lethe;
using namespace lethe::datasets;

namespace {

using test::dense;
using test::expect_csr_equal;
using test::random_features;

Interactions small_graph() {
  Interactions x;  // 4 users, 5 items; user 3 and item 4 have no edges; (0, 1) repeated
  for (auto [u, i] : std::vector<std::pair<int, int>>{{0, 0}, {0, 1}, {1, 1}, {1, 2}, {2, 0}, {2, 3}, {0, 1}})
    x.push(u, i);
  return x;
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

namespace {

// Features with an all-zero item (its cosines are all 0, so its neighbours are decided by the id order) and a
// drop mask, for the search-path comparisons below.
Tensor knn_test_features(int64_t I, int64_t F, uint64_t seed, std::vector<uint8_t>& active) {
  Tensor x = random_features(I, F, seed);
  std::fill_n(x.data<float>() + 3 * F, F, 0.0f);
  active.assign(I, 1);
  for (int64_t i = 5; i < I; i += 7) active[i] = 0;
  return x;
}

}  // namespace

// The device search through lethe::ops (GEMM, -inf mask, top-k), run on the CPU, gives the host search's
// graph bit for bit: same blocks, same GEMM, and top-k's order (larger value, then lower index) is the host
// sort's.
TEST(Graphs, KnnThroughOpsEqualsHostSearch) {
  std::vector<uint8_t> active;
  const Tensor x = knn_test_features(57, 9, 4, active);
  const std::vector<uint8_t>* masks[] = {nullptr, &active};
  for (KnnWeight w : {KnnWeight::Cosine, KnnWeight::Binary})
    for (int64_t k : {1, 6, 60})
      for (int64_t block : {5, 1024})
        for (const std::vector<uint8_t>* mask : masks) {
          SCOPED_TRACE("k " + std::to_string(k) + " block " + std::to_string(block) +
                       (mask ? " masked" : ""));
          test::expect_csr_equal(
              knn_graph(x, k, w, mask, block),
              lethe::datasets::detail::knn_graph_through_ops(x, k, w, mask, block, Device::cpu()));
        }
}

// CPU twin of the kNN search on a GPU: the same neighbours on random features (no near-ties at float
// rounding) and the same weights to float rounding of the cuBLAS cosines.
TEST(Graphs, KnnGraphCudaMatchesCpu) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  std::vector<uint8_t> active;
  const Tensor x = knn_test_features(300, 48, 5, active);
  const std::vector<uint8_t>* masks[] = {nullptr, &active};
  for (KnnWeight w : {KnnWeight::Cosine, KnnWeight::Binary})
    for (int64_t block : {64, 1024})
      for (const std::vector<uint8_t>* mask : masks) {
        SCOPED_TRACE("block " + std::to_string(block) + (mask ? " masked" : ""));
        const Csr cpu = knn_graph(x, 10, w, mask, block);
        const Csr gpu = knn_graph(x, 10, w, mask, block, Device::cuda());
        EXPECT_EQ(cpu.indptr.to_vector<int32_t>(), gpu.indptr.to_vector<int32_t>());
        EXPECT_EQ(cpu.indices.to_vector<int32_t>(), gpu.indices.to_vector<int32_t>());
        const auto a = cpu.values.to_vector<float>(), b = gpu.values.to_vector<float>();
        ASSERT_EQ(a.size(), b.size());
        for (size_t p = 0; p < a.size(); ++p) EXPECT_NEAR(a[p], b[p], 1e-5) << "entry " << p;
      }
}
