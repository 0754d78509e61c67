// MMRecUn (docs/unlearning.md, "MMRecUn"): one step is
//
//     L = alpha * L_rev(B_f) + beta * L_fwd(B_r)
//
//   L_rev(B_f) = mean over forget triples (u, i, j) of -ln sigmoid(s(u, j) - s(u, i)): push each forgotten
//                item i below an ordinary item j the user never interacted with, and no further;
//   L_fwd(B_r) = the backbone's own training loss on a retain batch (BPR plus its regularisers).
// Both terms share the step's one forward. One epoch is one pass over D_f.
#include "autograd/ops.h"
#include "datasets/sampler.h"
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

int64_t apply_own_rows(training::Trainer& trainer, models::Model& model, const std::vector<int32_t>& users,
                       const std::vector<int32_t>& items, const UnlearnOptions& opt) {
  if (opt.own_rows_lr_factor == 1.0) return 0;
  int64_t n = 0;
  for (const auto& [table, rows] : {std::pair{model.user_table(), &users}, {model.item_table(), &items}}) {
    if (rows->empty()) continue;
    for (auto& [name, p] : model.parameters())
      if (name == table)
        trainer.optimizer().set_row_lr_factor(
            p, Tensor::from_vector(*rows, Shape{static_cast<int64_t>(rows->size())}, model.device()),
            opt.own_rows_lr_factor);
    n += static_cast<int64_t>(rows->size());
  }
  return n;
}

int64_t confine_to_forget_rows(training::Trainer& trainer, models::Model& model, const datasets::Interactions& forget) {
  const std::vector<int32_t> users = datasets::unique_users(forget), items = datasets::unique_items(forget);
  std::vector<std::pair<autograd::Var, Tensor>> rows;
  for (auto& [name, p] : model.parameters()) {
    const std::vector<int32_t>* ids = name == model.user_table() ? &users : name == model.item_table() ? &items : nullptr;
    if (ids) rows.emplace_back(p, Tensor::from_vector(*ids, Shape{static_cast<int64_t>(ids->size())}, model.device()));
  }
  trainer.optimizer().restrict_to(rows);
  return static_cast<int64_t>(users.size() + items.size());
}

}  // namespace lethe::unlearning::detail
