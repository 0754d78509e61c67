// MMRecUn (docs/unlearning.md, "MMRecUn"): one step is
//
//     L = alpha * L_rev(B_f) + beta * L_fwd(B_r)
//
//   L_rev(B_f) = mean over forget triples (u, i, j) of -ln sigmoid(s(u, j) - s(u, i)): push each forgotten
//                item i below an ordinary item j the user never interacted with, and no further;
//   L_fwd(B_r) = the backbone's own training loss on a retain batch (BPR plus its regularisers).
// Both terms share the step's one forward. One epoch is one pass over D_f.
#include "autograd/ops.h"
#include "engine/error.h"
#include "models/losses.h"
#include "models/unlearning/method_parts.h"

namespace lethe::unlearning::detail {

training::TrainHooks mmrecun_hooks(Batches& batches, const UnlearnOptions& opt) {
  training::TrainHooks h;
  h.begin_epoch = [&batches](int64_t, Rng& rng) { return batches.begin_forget_epoch(rng); };
  h.make_batch = [&batches](int64_t, int64_t b, Rng& rng) { return batches.forget_batch(b, rng); };
  h.batch_loss = [&batches, &opt](models::Model& m, const models::Forward& f, const models::Batch& bf, int64_t,
                                  int64_t, Rng&) {
    const autograd::Var u = autograd::gather_rows(f.users, bf.users);
    const autograd::Var s_i = autograd::rowdot(u, autograd::gather_rows(f.items, bf.pos));
    const autograd::Var s_j = autograd::rowdot(u, autograd::gather_rows(f.items, bf.neg));
    const autograd::Var l_rev = models::bpr_loss_logsigmoid(s_j, s_i);  // the forgotten item is the "negative"
    autograd::Var loss = autograd::scale(l_rev, opt.alpha);
    if (opt.beta > 0) loss = autograd::add(loss, autograd::scale(m.loss(f, batches.next_retain()), opt.beta));
    return loss;
  };
  return h;
}

int64_t apply_own_rows(training::Trainer& trainer, models::Model& model, const std::vector<int32_t>& own,
                       const UnlearnOptions& opt) {
  if (own.empty() || opt.own_rows_lr_factor == 1.0) return 0;
  const std::string table = model.user_table();
  for (auto& [name, p] : model.parameters())
    if (name == table)
      trainer.optimizer().set_row_lr_factor(
          p, Tensor::from_vector(own, Shape{static_cast<int64_t>(own.size())}, model.device()),
          opt.own_rows_lr_factor);
  return static_cast<int64_t>(own.size());
}

}  // namespace lethe::unlearning::detail
