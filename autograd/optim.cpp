// Adam: zero_grad, the per-epoch LambdaLR-style schedule and the step (one fused engine kernel per parameter,
// torch.optim.Adam semantics). Parameters are updated in place on their device.
#include "autograd/optim.h"

#include <cmath>

#include "engine/error.h"
#include "engine/ops.h"

namespace lethe::autograd {

namespace {

// The parameter's gradient, allocated as zeros when no gradient reached it (torch <= 1.13 zero_grad keeps
// zeroed buffers, so such parameters still take an Adam step driven by their moments).
Tensor& grad_or_zeros(Var& p) {
  Tensor& g = p.mutable_grad();
  if (!g.defined()) g = Tensor::zeros(p.shape(), p.dtype(), p.device());
  return g;
}

}  // namespace

void Adam::zero_grad() {
  for (Var& p : params_) {
    Tensor& g = p.mutable_grad();
    if (g.defined())
      ops::fill(g, 0.0);
    else
      g = Tensor::zeros(p.shape(), p.dtype(), p.device());
  }
}

void Adam::set_epoch(int epoch, double a, double b) {
  LETHE_CHECK(b != 0.0, "set_epoch: schedule period b must be non-zero");
  lr_ = lr0_ * std::pow(a, static_cast<double>(epoch) / b);
}

Adam::Adam(std::vector<Var> params, double lr, double beta1, double beta2, double eps, double weight_decay)
    : params_(std::move(params)), lr0_(lr), lr_(lr), b1_(beta1), b2_(beta2), eps_(eps), wd_(weight_decay) {
  for (const Var& p : params_) {
    LETHE_CHECK(p.defined(), "Adam: undefined parameter");
    m_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
    v_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
  }
}

void Adam::set_row_lr_factor(const Var& param, const Tensor& rows, double factor) {
  LETHE_CHECK(factor > 0 && std::isfinite(factor),
              "Adam: row learning-rate factor must be > 0, got " << factor);
  LETHE_CHECK(rows.dtype() == DType::I32 && rows.shape().size() == 1, "Adam: row ids must be an I32 vector");
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].node() != param.node()) continue;
    LETHE_CHECK(params_[i].value().shape().size() == 2, "Adam: row learning rates need a 2-d parameter");
    row_lr_.push_back({i, rows.to(params_[i].device()), factor, Tensor()});
    return;
  }
  LETHE_CHECK(false, "Adam: set_row_lr_factor on a parameter this optimizer does not hold");
}

void Adam::set_param_lr_factor(const Var& param, double factor) {
  LETHE_CHECK(factor > 0 && std::isfinite(factor), "Adam: learning-rate factor must be > 0, got " << factor);
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].node() != param.node()) continue;
    param_lr_.resize(params_.size(), 1.0);
    param_lr_[i] = factor;
    return;
  }
  LETHE_CHECK(false, "Adam: set_param_lr_factor on a parameter this optimizer does not hold");
}

void Adam::restrict_to(const std::vector<std::pair<Var, Tensor>>& rows, const std::vector<Var>& whole) {
  LETHE_CHECK(t_ == 0, "Adam: restrict_to must be called before the first step");
  LETHE_CHECK(wd_ == 0.0, "Adam: restrict_to needs weight_decay 0 (decay would move the frozen entries)");
  restricted_ = true;
  trainable_rows_.assign(params_.size(), Tensor());
  trainable_whole_.assign(params_.size(), 0);
  auto index_of = [&](const Var& v) {
    for (size_t i = 0; i < params_.size(); ++i)
      if (params_[i].node() == v.node()) return i;
    LETHE_CHECK(false, "Adam: restrict_to names a parameter this optimizer does not hold");
    return size_t{0};
  };
  for (const auto& [param, ids] : rows) {
    LETHE_CHECK(ids.dtype() == DType::I32 && ids.shape().size() == 1, "Adam: row ids must be an I32 vector");
    const size_t i = index_of(param);
    LETHE_CHECK(params_[i].value().shape().size() == 2, "Adam: trainable rows need a 2-d parameter");
    trainable_rows_[i] = ids.to(params_[i].device());
  }
  for (const Var& v : whole) trainable_whole_[index_of(v)] = 1;
}

void Adam::set_row_lr_factors(const Var& param, const Tensor& rows, const std::vector<double>& factors) {
  LETHE_CHECK(static_cast<int64_t>(factors.size()) == rows.numel(),
              "Adam: " << factors.size() << " row factors for " << rows.numel() << " rows");
  std::vector<double> fm1(factors.size());
  for (size_t k = 0; k < factors.size(); ++k) {
    LETHE_CHECK(factors[k] > 0 && std::isfinite(factors[k]),
                "Adam: row learning-rate factor must be > 0, got " << factors[k]);
    fm1[k] = factors[k] - 1.0;
  }
  set_row_lr_factor(param, rows, 1.0);
  RowLr& r = row_lr_.back();
  const Var& p = params_[r.param];
  r.factor_minus_one =
      Tensor::from_vector(fm1, Shape{static_cast<int64_t>(fm1.size())}).astype(p.dtype()).to(p.device());
}

void Adam::step() {
  ++t_;
  // Rows with their own factor: remember them, take the ordinary step, then scale their change:
  // p_row = before + factor * (after - before), i.e. after += (factor - 1) * (after - before).
  std::vector<Tensor> before(row_lr_.size());
  for (size_t k = 0; k < row_lr_.size(); ++k)
    before[k] = ops::gather_rows(params_[row_lr_[k].param].value(), row_lr_[k].rows);
  for (size_t i = 0; i < params_.size(); ++i) {
    Var& p = params_[i];
    Tensor& g = grad_or_zeros(p);
    if (restricted_ && !trainable_whole_[i]) {
      if (!trainable_rows_[i].defined()) continue;  // frozen: no gradient, zero moments, no move
      // Keep the gradient of the trainable rows only; the other rows' moments stay zero, so they never move.
      const Tensor kept = ops::gather_rows(g, trainable_rows_[i]);
      ops::fill(g, 0.0);
      ops::scatter_add_rows(g, trainable_rows_[i], kept);
    }
    const double lr = param_lr_.empty() ? lr_ : lr_ * param_lr_[i];
    ops::adam_step(p.mutable_value(), g, m_[i], v_[i], lr, b1_, b2_, eps_, wd_, t_);
  }
  for (size_t k = 0; k < row_lr_.size(); ++k) {
    Tensor& value = params_[row_lr_[k].param].mutable_value();
    const Tensor change = ops::sub(ops::gather_rows(value, row_lr_[k].rows), before[k]);
    const RowLr& r = row_lr_[k];
    ops::scatter_add_rows(value, r.rows,
                          r.factor_minus_one.defined() ? ops::scale_rows(change, r.factor_minus_one)
                                                       : ops::scale(change, r.factor - 1.0));
  }
}

}  // namespace lethe::autograd
