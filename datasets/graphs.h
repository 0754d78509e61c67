// Graph builders shared by the models (semantics.md 4.0, 4.4-4.8), all returning host F32 lethe::Csr.
// Every builder is a pure function of the training interactions and/or features, so after an unlearning
// request the structures rebuilt from the retain set equal those built from scratch on it (unlearning.md 3).
//
// Interactions are de-duplicated before building (a repeated pair counts once); users or items without
// edges get all-zero rows/columns (no NaNs).
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/dataset.h"
#include "engine/rng.h"
#include "engine/sparse.h"

namespace lethe::data {

// N x N (N = n_users + n_items; items at offset n_users) symmetric D^-1/2 A D^-1/2 of A = [[0, R], [R^T, 0]],
// binary R from `train`. eps > 0: deg = row count + eps (LightGCN, FREEDOM, BM3, LGMRec use 1e-7);
// eps = 0: deg = row count and zero degree -> 0 (MGCN).
Csr bipartite_sym_adj(const Interactions& train, int32_t n_users, int32_t n_items, double eps = 1e-7);

// N x N random walk with self loops, D^-1 (A + I), D = rowsum(A + I) (LATTICE). Every node has a self loop.
Csr bipartite_rw_adj(const Interactions& train, int32_t n_users, int32_t n_items);

// U x I user-item block. normalized: entries 1/sqrt(d_u d_i) (MGCN's R, the user-item block of the eps = 0
// symmetric adjacency); otherwise binary (LGMRec's R).
Csr user_item_matrix(const Interactions& train, int32_t n_users, int32_t n_items, bool normalized);

enum class KnnWeight {
  Cosine,  // keep cosine values, S_ij = s_ij / sqrt(r_i r_j), r = row sums of the kept matrix (LATTICE, MGCN)
  Binary,  // keep ones, S_ij = 1 / sqrt((c_i + 1e-7)(c_j + 1e-7)), c = kept per row (FREEDOM: 1/(k + 1e-7))
};

// Cosine kNN item-item graph (I x I) from features [I, f]: rows L2-normalised (a zero row stays zero, so its
// cosine with everything is 0), similarities in row blocks of `block` rows (GEMM through lethe::ops::matmul;
// the I x I matrix is never materialised), top-k per row including self, ties broken by the lower item id.
// `active` (optional, size I): inactive items (dropped from the catalogue) have no row entries and are never
// a neighbour; k is capped at the number of active items. Row sums r <= 0 (possible only with negative
// cosines) give 0 instead of NaN.
Csr knn_graph(const Tensor& features, int64_t k, KnnWeight weight, const std::vector<uint8_t>* active = nullptr,
              int64_t block = 1024);

// FREEDOM's frozen mm_adj = image_weight * S_v + (1 - image_weight) * S_t, both Binary kNN, duplicate
// entries summed.
Csr freedom_mm_adj(const Tensor& image, const Tensor& text, int64_t k, double image_weight = 0.1,
                   const std::vector<uint8_t>* active = nullptr);

// FREEDOM's degree-sensitive edge pruning (per epoch). Edge weights w_e = 1/sqrt((d_u + 1e-7)(d_i + 1e-7))
// with degrees of the whole (de-duplicated) train graph; floor(E (1 - dropout)) edges are drawn without
// replacement with probability ∝ w by Efraimidis-Spirakis keys: key_e = ln(u_e) / w_e with u_e uniform
// in (0, 1) from rng, keep the largest keys (same distribution as torch.multinomial without replacement).
// The kept U x I subgraph is normalised with its own degrees, 1/sqrt((d'_u + 1e-7)(d'_i + 1e-7)), and
// returned as the symmetric N x N matrix.
Csr freedom_pruned_adj(const Interactions& train, int32_t n_users, int32_t n_items, double dropout, Rng& rng);

// Sorted unique (user, item) pairs of x (helper shared with the builders).
Interactions unique_pairs(const Interactions& x);

}  // namespace lethe::data
