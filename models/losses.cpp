// Loss compositions of models/losses.h.
#include "models/losses.h"

#include "autograd/collective.h"
#include "engine/device.h"
#include "engine/error.h"
#include "models/batch_share.h"

namespace lethe::models {

autograd::Var bpr_loss_mmrec(const autograd::Var& pos, const autograd::Var& neg) {
  return autograd::neg(
      batch_mean(autograd::log(autograd::add_scalar(autograd::sigmoid(autograd::sub(pos, neg)), 1e-10))));
}

autograd::Var bpr_loss_logsigmoid(const autograd::Var& pos, const autograd::Var& neg) {
  return autograd::neg(batch_mean(autograd::logsigmoid(autograd::sub(pos, neg))));
}

autograd::Var bpr_rows_logsigmoid(const autograd::Var& u, const autograd::Var& p, const autograd::Var& n) {
  return bpr_loss_logsigmoid(autograd::rowdot(u, p), autograd::rowdot(u, n));
}

autograd::Var emb_loss(const std::vector<autograd::Var>& xs) {
  LETHE_CHECK(!xs.empty(), "emb_loss: no matrices");
  if (const BatchShare* s = BatchShare::current()) {
    // The norms of the whole batch's rows (every rank's sums of squares added), the same on every rank:
    // each rank adds 1/P of the term (docs/scaling.md, "Data-parallel steps").
    const double P = static_cast<double>(s->comm().size());
    autograd::Var total;
    for (const autograd::Var& x : xs) {
      const autograd::Var norm = autograd::frobenius_over_ranks(x, s->comm());
      total = total.defined() ? autograd::add(total, norm) : norm;
    }
    LETHE_CHECK(s->rows() > 0, "emb_loss: the batch has no rows");
    return autograd::scale(total, 1.0 / (static_cast<double>(s->rows()) * P));
  }
  autograd::Var total = autograd::frobenius(xs[0]);
  for (size_t i = 1; i < xs.size(); ++i) total = autograd::add(total, autograd::frobenius(xs[i]));
  LETHE_CHECK(xs.back().rows() > 0, "emb_loss: the last matrix has no rows");
  return autograd::scale(total, 1.0 / static_cast<double>(xs.back().rows()));
}

autograd::Var half_sq_reg(const std::vector<autograd::Var>& xs, int64_t batch_size) {
  LETHE_CHECK(!xs.empty(), "half_sq_reg: no matrices");
  LETHE_CHECK(batch_size > 0, "half_sq_reg: train_batch_size must be > 0, got " << batch_size);
  autograd::Var total = autograd::sumsq(xs[0]);
  for (size_t i = 1; i < xs.size(); ++i) total = autograd::add(total, autograd::sumsq(xs[i]));
  return autograd::scale(total, 0.5 / static_cast<double>(batch_size));
}

autograd::Var info_nce(const autograd::Var& a, const autograd::Var& b, double tau) {
  LETHE_CHECK(a.shape() == b.shape(), "info_nce: views must have equal shapes, got "
                                          << shape_str(a.shape()) << " and " << shape_str(b.shape()));
  LETHE_CHECK(tau > 0, "info_nce: tau must be > 0, got " << tau);
  // Every row of the batch is every other row's negative: a rank's share alone is a different loss.
  LETHE_CHECK(
      BatchShare::current() == nullptr,
      "info_nce (MGCN's contrastive term) compares every row of the batch with every other and is not "
      "data-parallel yet; train MGCN with one rank (docs/scaling.md, \"What runs today\")");
  const autograd::Var an = autograd::l2norm_rows(a), bn = autograd::l2norm_rows(b);
  // 1 / tau scales one [B, d] side rather than the [B, B] logits: two passes over B x B fewer (forward and
  // backward), the same logits up to rounding.
  const autograd::Var as = autograd::scale(an, 1.0 / tau);
  const autograd::Var logits = autograd::matmul(as, bn, false, true);  // [B, B] = an bn^T / tau
  const autograd::Var pos = autograd::rowdot(as, bn);                  // diagonal of logits
  return autograd::mean(autograd::sub(autograd::logsumexp_rows(logits), pos));
}

}  // namespace lethe::models
