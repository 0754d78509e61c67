// FREEDOM's own graphs (docs/models.md, "FREEDOM"): the frozen multi-modal item-item graph and the
// degree-sensitive pruned user-item graph resampled every epoch. Pure functions of the training data and
// features, so after an unlearning request they are rebuilt from the retain set exactly as from scratch.
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/dataset.h"
#include "engine/rng.h"
#include "engine/sparse.h"

namespace lethe::models {

// FREEDOM's frozen mm_adj = image_weight * S_v + (1 - image_weight) * S_t, both Binary kNN, duplicate
// entries summed. `device`: where the kNN similarities are computed (datasets::knn_graph).
Csr freedom_mm_adj(const Tensor& image, const Tensor& text, int64_t k, double image_weight = 0.1,
                   const std::vector<uint8_t>* active = nullptr, Device device = Device::cpu());

// FREEDOM's degree-sensitive edge pruning (per epoch). Edge weights w_e = 1/sqrt((d_u + 1e-7)(d_i + 1e-7))
// with degrees of the whole (de-duplicated) train graph; floor(E (1 - dropout)) edges are drawn without
// replacement with probability ∝ w by Efraimidis-Spirakis keys: key_e = ln(u_e) / w_e with u_e uniform
// in (0, 1) from rng, keep the largest keys (same distribution as torch.multinomial without replacement).
// The kept U x I subgraph is normalised with its own degrees, 1/sqrt((d'_u + 1e-7)(d'_i + 1e-7)), and
// returned as the symmetric N x N matrix.
Csr freedom_pruned_adj(const datasets::Interactions& train, int32_t n_users, int32_t n_items, double dropout,
                       Rng& rng);

}  // namespace lethe::models
