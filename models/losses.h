// Training losses and regularisers shared by the recommenders (docs/models.md, "Losses"), composed from
// autograd ops (no backward code of their own). Scores are [B] row-wise dot products of user and item rows.
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/ops.h"

namespace lethe::models {

// MMRec's BPRLoss (BPR, LightGCN, VBPR): -mean(log(1e-10 + sigmoid(pos - neg))).
autograd::Var bpr_loss_mmrec(const autograd::Var& pos, const autograd::Var& neg);
// The models' own bpr_loss (FREEDOM, MGCN, LATTICE, LGMRec): -mean(logsigmoid(pos - neg)).
autograd::Var bpr_loss_logsigmoid(const autograd::Var& pos, const autograd::Var& neg);
// BPR (logsigmoid form) on user / positive / negative rows [B, d]: scores are row-wise dots.
autograd::Var bpr_rows_logsigmoid(const autograd::Var& u, const autograd::Var& p, const autograd::Var& n);
// MMRec's EmbLoss: (sum of Frobenius norms, not squared) / rows of the last matrix.
autograd::Var emb_loss(const std::vector<autograd::Var>& xs);
// LATTICE / MGCN: (1/2 sum of squared norms) / the configured train batch size (not the actual one).
autograd::Var half_sq_reg(const std::vector<autograd::Var>& xs, int64_t batch_size);
// MGCN's InfoNCE: rows L2-normalised, logits a b^T / tau (B x B, every other row of the batch is a
// negative, duplicates included); mean over rows of -log softmax(logits)_bb.
autograd::Var info_nce(const autograd::Var& a, const autograd::Var& b, double tau);

}  // namespace lethe::models
