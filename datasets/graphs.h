// Graph builders shared by several models (docs/datasets.md, "Graphs"), all returning host F32 lethe::Csr.
// Builders that only one model uses sit with that model (models/freedom_graphs.h).
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

namespace lethe::datasets {

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
// cosine with everything is 0), similarities in row blocks of at most `block` rows and 2^26 similarities
// (GEMM through lethe::ops::matmul; the I x I matrix is never materialised, so memory is linear in I: the
// normalised copy, one block, k neighbours per row; docs/scaling.md, "How cost grows"), top-k per row
// including self, ties broken by the lower item id. The result does not depend on the block size. `active`
// (optional, size I): inactive items (dropped from the catalogue) have no row entries and are never a
// neighbour; k is capped at the number of active items. Row sums r <= 0 (possible only with negative cosines)
// give 0 instead of NaN. `device`: where the similarities and the top-k run (the features stay on the host;
// only k neighbours per row come back). On a GPU the cosines come from cuBLAS, so two neighbours whose
// cosines differ by less than float rounding may be ordered differently from the CPU's (test
// Graphs.KnnGraphCudaMatchesCpu); an item drop on a GPU model no longer waits for a host GEMM over the whole
// catalogue (docs/unlearning.md, "Item drops on a GPU").
Csr knn_graph(const Tensor& features, int64_t k, KnnWeight weight,
              const std::vector<uint8_t>* active = nullptr, int64_t block = 1024,
              Device device = Device::cpu());

namespace detail {
// knn_graph's device search (GEMM, mask, top-k through lethe::ops) on any device, the CPU included: the
// tests compare it on the CPU with the host search, bit for bit.
Csr knn_graph_through_ops(const Tensor& features, int64_t k, KnnWeight weight,
                          const std::vector<uint8_t>* active, int64_t block, Device device);
}  // namespace detail

// Symmetric N x N matrix (items at offset n_users) with value v[k] at (u_k, i_k) and (i_k, u_k) for the
// U x I edges e (no de-duplication: pass unique pairs).
Csr symmetric_from_edges(const Interactions& e, const std::vector<float>& v, int32_t n_users,
                         int32_t n_items);

// Sorted unique (user, item) pairs of x (helper shared with the builders).
Interactions unique_pairs(const Interactions& x);

}  // namespace lethe::datasets
