// Loss compositions of models/losses.h.
#include "models/losses.h"

#include "engine/device.h"

namespace lethe::models {

ag::Var bpr_loss_mmrec(const ag::Var& pos, const ag::Var& neg) {
  return ag::neg(ag::mean(ag::log(ag::add_scalar(ag::sigmoid(ag::sub(pos, neg)), 1e-10))));
}

ag::Var bpr_loss_logsigmoid(const ag::Var& pos, const ag::Var& neg) {
  return ag::neg(ag::mean(ag::logsigmoid(ag::sub(pos, neg))));
}

ag::Var bpr_rows_logsigmoid(const ag::Var& u, const ag::Var& p, const ag::Var& n) {
  return bpr_loss_logsigmoid(ag::rowdot(u, p), ag::rowdot(u, n));
}

ag::Var emb_loss(const std::vector<ag::Var>& xs) {
  LETHE_CHECK(!xs.empty(), "emb_loss: no matrices");
  ag::Var total = ag::frobenius(xs[0]);
  for (size_t i = 1; i < xs.size(); ++i) total = ag::add(total, ag::frobenius(xs[i]));
  LETHE_CHECK(xs.back().rows() > 0, "emb_loss: the last matrix has no rows");
  return ag::scale(total, 1.0 / static_cast<double>(xs.back().rows()));
}

ag::Var half_sq_reg(const std::vector<ag::Var>& xs, int64_t batch_size) {
  LETHE_CHECK(!xs.empty(), "half_sq_reg: no matrices");
  LETHE_CHECK(batch_size > 0, "half_sq_reg: train_batch_size must be > 0, got " << batch_size);
  ag::Var total = ag::sumsq(xs[0]);
  for (size_t i = 1; i < xs.size(); ++i) total = ag::add(total, ag::sumsq(xs[i]));
  return ag::scale(total, 0.5 / static_cast<double>(batch_size));
}

ag::Var info_nce(const ag::Var& a, const ag::Var& b, double tau) {
  LETHE_CHECK(a.shape() == b.shape(), "info_nce: views must have equal shapes, got " << shape_str(a.shape())
                                                                                     << " and " << shape_str(b.shape()));
  LETHE_CHECK(tau > 0, "info_nce: tau must be > 0, got " << tau);
  const ag::Var an = ag::l2norm_rows(a), bn = ag::l2norm_rows(b);
  const ag::Var logits = ag::scale(ag::matmul(an, bn, false, true), 1.0 / tau);  // [B, B]
  const ag::Var pos = ag::scale(ag::rowdot(an, bn), 1.0 / tau);                  // diagonal of logits
  return ag::mean(ag::sub(ag::logsumexp_rows(logits), pos));
}

}  // namespace lethe::models
