// The optimizer: Adam (torch.optim.Adam semantics, MMRec defaults) with the per-epoch learning-rate
// schedule lr_e = lr0 * a^(e / b) (MMRec's LambdaLR `learning_rate_scheduler`).
#pragma once

#include <string>
#include <vector>

#include "autograd/var.h"

namespace lethe::autograd {

// Adam over named parameters (torch.optim.Adam semantics, bias-corrected, L2 weight decay added to the
// gradient) with a per-epoch learning-rate schedule.
class Adam {
 public:
  Adam(std::vector<Var> params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
       double weight_decay = 0.0);
  // Sets every parameter's gradient to zero (torch <= 1.13 zero_grad: zeroed, not freed, so Adam keeps
  // moving parameters whose gradient is zero on a batch).
  void zero_grad();
  void step();
  // lr = lr0 * a^(epoch / b); call once per epoch, after training (MMRec steps the scheduler then).
  void set_epoch(int epoch, double a, double b);
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  const std::vector<Var>& params() const { return params_; }
  int64_t steps() const { return t_; }
  // Rows `rows` (I32 ids) of parameter `param` (one of params()) take `factor` times the learning rate; the
  // rest of the parameter keeps lr. Adam's update of an entry is lr times a function of that entry's own
  // moments, so this equals a second Adam with lr * factor over those rows (tested). Used by unlearning for
  // rows that only the forget set trains (docs/unlearning.md).
  void set_row_lr_factor(const Var& param, const Tensor& rows, double factor);
  // The same with one factor per row (`factors`: a vector of rows.numel() values > 0).
  void set_row_lr_factors(const Var& param, const Tensor& rows, const std::vector<double>& factors);
  // Every entry of `param` (one of params(), any shape) takes `factor` times the learning rate: equal to a
  // second Adam with lr * factor over that parameter (tested). Used by unlearning to scale a modality branch
  // (docs/unlearning.md, "Branch scaling").
  void set_param_lr_factor(const Var& param, double factor);
  // Only these parameters move: rows `rows` (I32 ids) of `param`, and every row of `whole` parameters. Every
  // other parameter, and every other row of `param`, is frozen: its gradient is set to zero before each
  // step, so with moments that start at zero (fresh state) it never moves. Call before the first step.
  // Used by unlearning to confine updates to the rows the forget set shaped (docs/unlearning.md, "Own rows").
  void restrict_to(const std::vector<std::pair<Var, Tensor>>& rows, const std::vector<Var>& whole = {});
  // State, for checkpoints: first and second moments per parameter (same order as params()).
  std::vector<Tensor>& m() { return m_; }
  std::vector<Tensor>& v() { return v_; }
  void set_steps(int64_t t) { t_ = t; }

 private:
  std::vector<Var> params_;
  double lr0_, lr_;
  double b1_, b2_, eps_, wd_;
  int64_t t_ = 0;
  std::vector<Tensor> m_, v_;
  struct RowLr {
    size_t param;
    Tensor rows;
    double factor;
    Tensor factor_minus_one;  // per-row factors - 1, [rows, 1] in the parameter's dtype (undefined: `factor`)
  };
  std::vector<RowLr> row_lr_;
  std::vector<double> param_lr_;  // per parameter (set_param_lr_factor; default 1)
  bool restricted_ = false;
  std::vector<Tensor> trainable_rows_;  // per parameter: undefined = frozen (when restricted_), or row ids
  std::vector<uint8_t> trainable_whole_;
};

}  // namespace lethe::autograd
