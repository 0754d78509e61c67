// MMRecUn (docs/unlearning.md, "MMRecUn"): one step is
//
//     L = alpha * L_rev(B_f) + beta * L_fwd(B_r)
//
//   L_rev(B_f) = mean over forget triples (u, i, j) of -ln sigmoid(s(u, j) - s(u, i)): push each forgotten
//                item i below an ordinary item j the user never interacted with, and no further;
//   L_fwd(B_r) = the backbone's own training loss on a retain batch (BPR plus its regularisers).
// With the ranking gate (TRU-style, docs/unlearning.md, "Ranking gate") a triple enters L_rev only while its
// forgotten item still outranks its negative. Both terms share the step's one forward. One epoch is one pass
// over D_f. What moves, and how fast, is decided per row of the ID tables (confine_to_forget_rows,
// apply_share_factors below).
#include <algorithm>
#include <cmath>
#include <tuple>

#include "autograd/ops.h"
#include "datasets/sampler.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "models/batch_share.h"
#include "models/losses.h"
#include "models/unlearning/method_parts.h"

namespace lethe::unlearning::detail {

autograd::Var masked_reverse_loss(const autograd::Var& s_i, const autograd::Var& s_j, const Tensor& mask) {
  const autograd::Var g = autograd::constant(mask.astype(s_i.dtype()).to(s_i.device()));
  // the forgotten item i is the "negative": -mean(mask * ln sigmoid(s_j - s_i)), over every triple
  return autograd::neg(autograd::mean(autograd::mul(g, autograd::logsigmoid(autograd::sub(s_j, s_i)))));
}

namespace {

// 1 where the forgotten item still outranks its negative (s(u,i) > s(u,j)), else 0.
Tensor rank_gate(const autograd::Var& s_i, const autograd::Var& s_j) {
  const std::vector<double> si = s_i.value().to(Device::cpu()).astype(DType::F64).to_vector<double>();
  const std::vector<double> sj = s_j.value().to(Device::cpu()).astype(DType::F64).to_vector<double>();
  std::vector<double> gate(si.size());
  for (size_t k = 0; k < gate.size(); ++k) gate[k] = si[k] > sj[k] ? 1.0 : 0.0;
  return Tensor::from_vector(gate, s_i.shape());
}

}  // namespace

autograd::Var gated_reverse_loss(const autograd::Var& s_i, const autograd::Var& s_j) {
  return masked_reverse_loss(s_i, s_j, rank_gate(s_i, s_j));
}

std::pair<autograd::Var, autograd::Var> pair_scores(const models::Forward& f, const models::Batch& b) {
  const autograd::Var u = autograd::gather_rows(f.users, b.users);
  return {autograd::rowdot(u, autograd::gather_rows(f.items, b.pos)),
          autograd::rowdot(u, autograd::gather_rows(f.items, b.neg))};
}

autograd::Var reverse_loss(const models::Forward& f, const models::Batch& bf, const UnlearnOptions& opt,
                           const Tensor* pair_gate) {
  const auto [s_i, s_j] = pair_scores(f, bf);
  if (!pair_gate) return opt.rank_gate ? gated_reverse_loss(s_i, s_j) : models::bpr_loss_logsigmoid(s_j, s_i);
  const Tensor mask =
      opt.rank_gate ? ops::mul(rank_gate(s_i, s_j).astype(pair_gate->dtype()), pair_gate->to(Device::cpu()))
                    : *pair_gate;
  return masked_reverse_loss(s_i, s_j, mask);
}

training::TrainHooks mmrecun_hooks(Batches& batches, const UnlearnOptions& opt) {
  training::TrainHooks h;
  h.begin_epoch = [&batches](int64_t, Rng& rng) { return batches.begin_forget_epoch(rng); };
  h.make_batch = [&batches](int64_t, int64_t b, Rng& rng) { return batches.forget_batch(b, rng); };
  h.batch_loss = [&batches, &opt](models::Model& m, const models::Forward& f, const models::Batch& bf,
                                  int64_t, int64_t b, Rng&) {
    autograd::Var rev;
    if (batches.has_pair_gate()) {  // opt.pair_gate and pairs whose user and item keep data
      if (b == 0) batches.update_pair_gate(f.users.value(), f.items.value());
      const Tensor gate = batches.pair_gate(bf);
      rev = reverse_loss(f, bf, opt, &gate);
    } else {
      rev = reverse_loss(f, bf, opt);
    }
    autograd::Var loss = autograd::scale(rev, opt.alpha);
    if (opt.beta > 0) {
      // Under data parallelism the retain batch is shared across the ranks like the forget batch.
      const models::Batch br = batches.next_retain();
      const models::BatchShare share(br.size());
      loss = autograd::add(loss, autograd::scale(m.loss(f, share.take(br)), opt.beta));
    }
    return loss;
  };
  return h;
}

ForgetRows forget_rows(const RequestView& view) {
  const datasets::Interactions& f = view.step_forget;
  std::vector<int64_t> fu(static_cast<size_t>(view.retain.n_users), 0), ru(fu.size(), 0);
  std::vector<int64_t> fi(static_cast<size_t>(view.retain.n_items), 0), ri(fi.size(), 0);
  for (size_t k = 0; k < f.size(); ++k)
    ++fu[static_cast<size_t>(f.users[k])], ++fi[static_cast<size_t>(f.items[k])];
  for (size_t k = 0; k < view.retain.train.size(); ++k)
    ++ru[static_cast<size_t>(view.retain.train.users[k])],
        ++ri[static_cast<size_t>(view.retain.train.items[k])];
  ForgetRows out;
  for (const auto& [forgot, kept, ids, share] :
       {std::tuple{&fu, &ru, &out.users, &out.user_share}, std::tuple{&fi, &ri, &out.items, &out.item_share}})
    for (size_t r = 0; r < forgot->size(); ++r)
      if ((*forgot)[r] > 0) {
        ids->push_back(static_cast<int32_t>(r));
        share->push_back(static_cast<double>((*forgot)[r]) / static_cast<double>((*forgot)[r] + (*kept)[r]));
      }
  return out;
}

namespace {

Tensor ids_tensor(const std::vector<int32_t>& ids, Device dev) {
  return Tensor::from_vector(ids, Shape{static_cast<int64_t>(ids.size())}, dev);
}

}  // namespace

int64_t confine_to_forget_rows(training::Trainer& trainer, models::Model& model, const ForgetRows& rows) {
  std::vector<std::pair<autograd::Var, Tensor>> trainable;
  if (!rows.users.empty())
    trainable.emplace_back(models::parameter(model, model.user_table()),
                           ids_tensor(rows.users, model.device()));
  if (!rows.items.empty())
    trainable.emplace_back(models::parameter(model, model.item_table()),
                           ids_tensor(rows.items, model.device()));
  trainer.optimizer().restrict_to(trainable);
  return static_cast<int64_t>(rows.users.size() + rows.items.size());
}

std::vector<double> reverse_sensitivity(models::Model& model, Batches& batches, const UnlearnOptions& opt) {
  auto params = model.parameters();
  for (auto& [name, p] : params) p.mutable_grad() = Tensor();
  Rng rng = Rng(opt.seed).fork(0x5e5);
  const int64_t n = batches.begin_forget_epoch(rng);
  for (int64_t b = 0; b < n; ++b) {  // gradients accumulate over the pass (evaluation mode: no dropout)
    const models::Batch bf = batches.forget_batch(b, rng);
    autograd::backward(reverse_loss(model.forward(false), bf, opt));
  }
  std::vector<double> out(params.size(), 0.0);
  for (size_t k = 0; k < params.size(); ++k) {
    const autograd::Var& p = params[k].second;
    if (p.grad().defined())
      for (double g : p.grad().to(Device::cpu()).astype(DType::F64).to_vector<double>())
        out[k] += std::abs(g);
    params[k].second.mutable_grad() = Tensor();
  }
  return out;
}

nlohmann::json confine_to_sensitive_layers(training::Trainer& trainer, models::Model& model, Batches& batches,
                                           const UnlearnOptions& opt) {
  auto params = model.parameters();
  const std::vector<double> sens = reverse_sensitivity(model, batches, opt);
  std::vector<std::pair<double, size_t>> order;
  for (size_t k = 0; k < params.size(); ++k) order.emplace_back(sens[k], k);
  // Most sensitive first; ties by the model's parameter order.
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<autograd::Var> moving;
  nlohmann::json out = nlohmann::json::array();
  for (size_t r = 0; r < order.size(); ++r) {
    const bool moves = static_cast<int64_t>(r) < opt.sensitive_layers;
    if (moves) moving.push_back(params[order[r].second].second);
    out.push_back(
        {{"parameter", params[order[r].second].first}, {"sensitivity", order[r].first}, {"moves", moves}});
  }
  trainer.optimizer().restrict_to({}, moving);
  return out;
}

nlohmann::json scale_modality_branches(training::Trainer& trainer, models::Model& model, Batches& batches,
                                       const UnlearnOptions& opt) {
  const std::vector<models::ModalityUse> uses = model.modality_uses();
  auto params = model.parameters();
  std::vector<std::vector<size_t>> members(uses.size());
  for (size_t u = 0; u < uses.size(); ++u) {
    std::vector<std::string> names = uses[u].parameters;
    names.insert(names.end(), uses[u].branch.begin(), uses[u].branch.end());
    for (const std::string& name : names)
      for (size_t k = 0; k < params.size(); ++k)
        if (params[k].first == name) members[u].push_back(k);
  }
  bool any = false;
  for (const auto& m : members) any = any || !m.empty();
  LETHE_CHECK(any, "branch scaling: model '" << model.name() << "' has no modality branch to scale");
  const std::vector<double> sens = reverse_sensitivity(model, batches, opt);
  std::vector<double> branch(uses.size(), 0.0);
  double least = 0.0;
  for (size_t u = 0; u < uses.size(); ++u) {
    for (size_t k : members[u]) branch[u] += sens[k];
    if (branch[u] > 0 && (least == 0.0 || branch[u] < least)) least = branch[u];
  }
  nlohmann::json out = nlohmann::json::array();
  for (size_t u = 0; u < uses.size(); ++u) {
    // A branch the reverse term does not reach keeps lr (there is nothing of it to rebalance).
    const double factor = branch[u] > 0 ? least / branch[u] : 1.0;
    if (factor != 1.0)
      for (size_t k : members[u]) trainer.optimizer().set_param_lr_factor(params[k].second, factor);
    nlohmann::json names = nlohmann::json::array();
    for (size_t k : members[u]) names.push_back(params[k].first);
    out.push_back({{"modality", uses[u].modality},
                   {"parameters", names},
                   {"sensitivity", branch[u]},
                   {"factor", factor}});
  }
  return out;
}

int64_t confine_to_erased_rows(training::Trainer& trainer, models::Model& model, const RequestView& view) {
  std::vector<int32_t> items;
  for (const auto& [modality, ids] : view.erased) items.insert(items.end(), ids.begin(), ids.end());
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  if (items.empty()) return 0;
  const Tensor ids = ids_tensor(items, model.device());
  std::vector<std::pair<autograd::Var, Tensor>> trainable{
      {models::parameter(model, model.item_table()), ids}};
  for (const models::ModalityUse& use : model.modality_uses())
    if (view.erased.count(use.modality))
      for (const std::string& name : use.parameters)
        trainable.emplace_back(models::parameter(model, name), ids);
  trainer.optimizer().restrict_to(trainable);
  return static_cast<int64_t>(items.size() * trainable.size());
}

int64_t apply_share_factors(training::Trainer& trainer, models::Model& model, const ForgetRows& rows,
                            double factor) {
  if (factor == 1.0) return 0;
  int64_t faster = 0;
  for (const auto& [table, ids, share] : {std::tuple{model.user_table(), &rows.users, &rows.user_share},
                                          std::tuple{model.item_table(), &rows.items, &rows.item_share}}) {
    if (ids->empty()) continue;
    std::vector<double> f(ids->size());
    for (size_t k = 0; k < f.size(); ++k) {
      f[k] = std::max(1.0, factor * (*share)[k]);
      faster += f[k] > 1.0;
    }
    trainer.optimizer().set_row_lr_factors(models::parameter(model, table), ids_tensor(*ids, model.device()),
                                           f);
  }
  return faster;
}

}  // namespace lethe::unlearning::detail
