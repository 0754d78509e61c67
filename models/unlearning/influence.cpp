// Influence-function unlearning (docs/unlearning.md, "Influence"; Koh & Liang, ICML 2017; restricted to the
// affected rows as SCIF, Li et al., SIGIR 2023, and IFRU, Zhang et al., TOIS 2024, do). With the training
// objective a sum of per-row losses, sum_D l = sum_{D_r} l + sum_{D_f} l, stationary at the trained theta*,
// one Newton step on the retain objective from theta* is
//
//     delta = (H_r + lambda I)^-1 grad sum_{D_f} l(theta*)        H_r = Hessian of sum_{D_r} l at theta*
//
// restricted to P, the ID-table rows of the forget set's users and items; lambda is the damping. The retain
// sum runs over the rows of D_r whose user or item is in P (the terms that read a row of P directly; every
// term for a model without propagation). H_r v is a central difference of two gradients, solved by conjugate
// gradients; the damping grows tenfold (and the solve restarts) while CG meets non-positive curvature.
// Triples: each row with one negative drawn once from the seed, as the training loss samples them.
#include <chrono>
#include <cmath>

#include "autograd/ops.h"
#include "engine/error.h"
#include "models/unlearning/method_parts.h"

namespace lethe::unlearning::detail {

namespace {

std::vector<double> host(const Tensor& t) {
  return t.to(Device::cpu()).astype(DType::F64).to_vector<double>();
}

std::vector<models::Batch> fixed_batches(datasets::BprSampler s, Rng rng, Device dev) {
  std::vector<models::Batch> out;
  s.shuffle(rng);
  for (int64_t b = 0; b < s.num_batches(); ++b) {
    const datasets::BprBatch x = s.batch(b, rng);
    const Shape sh{static_cast<int64_t>(x.size())};
    out.push_back({Tensor::from_vector(x.users, sh, dev), Tensor::from_vector(x.pos, sh, dev),
                   Tensor::from_vector(x.neg, sh, dev)});
  }
  return out;
}

}  // namespace

InfluenceObjective::InfluenceObjective(models::Model& model, const RequestView& view,
                                       const UnlearnOptions& opt)
    : model_(model) {
  const ForgetRows rows = forget_rows(view);
  for (auto& [name, p] : model.parameters()) {
    if (name == model.user_table() && !rows.users.empty()) tables_.push_back({p, rows.users});
    if (name == model.item_table() && !rows.items.empty()) tables_.push_back({p, rows.items});
  }
  for (const Table& t : tables_) dim_ += static_cast<int64_t>(t.ids.size()) * t.param.cols();
  const int32_t nu = view.retain.n_users, ni = view.retain.n_items;
  std::vector<uint8_t> in_u(static_cast<size_t>(nu), 0), in_i(static_cast<size_t>(ni), 0);
  for (int32_t u : rows.users) in_u[static_cast<size_t>(u)] = 1;
  for (int32_t i : rows.items) in_i[static_cast<size_t>(i)] = 1;
  datasets::Interactions near, seen = view.retain.train;
  for (size_t r = 0; r < view.retain.train.size(); ++r)
    if (in_u[static_cast<size_t>(view.retain.train.users[r])] ||
        in_i[static_cast<size_t>(view.retain.train.items[r])])
      near.push(view.retain.train.users[r], view.retain.train.items[r]);
  for (size_t k = 0; k < view.step_forget.size(); ++k)
    seen.push(view.step_forget.users[k], view.step_forget.items[k]);
  retain_rows_ = static_cast<int64_t>(near.size());
  const std::vector<int32_t> pool = datasets::unique_items(view.retain.train);
  LETHE_CHECK(!pool.empty(), "influence: the retain set is empty");
  const Rng rng = Rng(opt.seed).fork(0x1F1F);
  const datasets::UserItems exclude = datasets::UserItems::build(seen, nu);
  if (!near.empty())
    retain_ = fixed_batches(datasets::BprSampler(near, exclude, pool, opt.batch_size), Rng(rng).fork(1),
                            model.device());
  forget_ = fixed_batches(datasets::BprSampler(view.step_forget, exclude, pool, opt.batch_size),
                          Rng(rng).fork(2), model.device());
  Rng pre = Rng(rng).fork(3);
  model.pre_epoch(pre);  // one fixed training view (FREEDOM's pruned graph) for every evaluation
}

autograd::Var InfluenceObjective::sum_loss(const std::vector<models::Batch>& batches) {
  const models::Forward f = model_.forward(true);
  autograd::Var total;
  for (const models::Batch& b : batches) {
    const autograd::Var l =
        autograd::scale(model_.loss(f, b), static_cast<double>(b.size()));  // batch mean -> sum
    total = total.defined() ? autograd::add(total, l) : l;
  }
  return total;
}

std::vector<double> InfluenceObjective::gradient(const std::vector<models::Batch>& batches) {
  std::vector<double> g(static_cast<size_t>(dim_), 0.0);
  if (batches.empty()) return g;
  for (auto& [n, p] : model_.parameters()) p.mutable_grad() = Tensor();
  autograd::backward(sum_loss(batches));
  size_t at = 0;
  for (const Table& t : tables_) {
    const int64_t d = t.param.cols();
    if (!t.param.grad().defined()) {
      at += t.ids.size() * static_cast<size_t>(d);
      continue;
    }
    const std::vector<double> all = host(t.param.grad());
    for (int32_t r : t.ids)
      for (int64_t c = 0; c < d; ++c)
        g[at++] = all[static_cast<size_t>(r) * static_cast<size_t>(d) + static_cast<size_t>(c)];
  }
  for (auto& [n, p] : model_.parameters()) p.mutable_grad() = Tensor();
  return g;
}

std::vector<double> InfluenceObjective::forget_gradient() { return gradient(forget_); }
std::vector<double> InfluenceObjective::retain_gradient() { return gradient(retain_); }

double InfluenceObjective::retain_value() {
  if (retain_.empty()) return 0.0;
  autograd::NoGrad ng;
  return host(sum_loss(retain_).value())[0];
}

std::vector<double> InfluenceObjective::get() const {
  std::vector<double> x;
  x.reserve(static_cast<size_t>(dim_));
  for (const Table& t : tables_) {
    const int64_t d = t.param.cols();
    const std::vector<double> all = host(t.param.value());
    for (int32_t r : t.ids)
      for (int64_t c = 0; c < d; ++c)
        x.push_back(all[static_cast<size_t>(r) * static_cast<size_t>(d) + static_cast<size_t>(c)]);
  }
  return x;
}

void InfluenceObjective::set(const std::vector<double>& x) {
  LETHE_ASSERT(static_cast<int64_t>(x.size()) == dim_,
               "influence: a vector of " << x.size() << " for " << dim_);
  autograd::NoGrad ng;
  size_t at = 0;
  for (Table& t : tables_) {
    const int64_t d = t.param.cols();
    std::vector<double> all = host(t.param.value());
    for (int32_t r : t.ids)
      for (int64_t c = 0; c < d; ++c)
        all[static_cast<size_t>(r) * static_cast<size_t>(d) + static_cast<size_t>(c)] = x[at++];
    Tensor& v = t.param.mutable_value();
    v.copy_from(Tensor::from_vector(all, v.shape()).astype(v.dtype()).to(v.device()));
  }
}

std::vector<double> InfluenceObjective::hvp(const std::vector<double>& v) {
  double norm = 0;
  for (double x : v) norm += x * x;
  norm = std::sqrt(norm);
  std::vector<double> out(v.size(), 0.0);
  if (norm == 0) return out;
  // A step of 1e-5 (float64) or 1e-2 (float32) along v's direction: truncation O(eps^2) against rounding
  // O(machine eps / eps) of the gradient difference.
  const double eps = (tables_.front().param.dtype() == DType::F64 ? 1e-5 : 1e-2) / norm;
  std::vector<Tensor> saved;
  for (const Table& t : tables_) saved.push_back(t.param.value().clone());
  const std::vector<double> x0 = get();
  std::vector<double> x = x0;
  for (size_t k = 0; k < x.size(); ++k) x[k] = x0[k] + eps * v[k];
  set(x);
  const std::vector<double> gp = retain_gradient();
  for (size_t k = 0; k < x.size(); ++k) x[k] = x0[k] - eps * v[k];
  set(x);
  const std::vector<double> gm = retain_gradient();
  {
    autograd::NoGrad ng;
    for (size_t k = 0; k < tables_.size(); ++k)
      tables_[k].param.mutable_value().copy_from(saved[k]);  // exact restore
  }
  for (size_t k = 0; k < out.size(); ++k) out[k] = (gp[k] - gm[k]) / (2 * eps);
  return out;
}

CgResult conjugate_gradient(const std::function<std::vector<double>(const std::vector<double>&)>& apply,
                            const std::vector<double>& b, int64_t max_iter, double tol) {
  const size_t n = b.size();
  auto dot = [n](const std::vector<double>& a, const std::vector<double>& c) {
    double s = 0;
    for (size_t k = 0; k < n; ++k) s += a[k] * c[k];
    return s;
  };
  CgResult r;
  r.x.assign(n, 0.0);
  std::vector<double> res = b, p = b;
  const double b_norm = std::sqrt(dot(b, b));
  double rr = dot(res, res);
  r.residual = b_norm > 0 ? 1.0 : 0.0;
  if (b_norm == 0) return r;
  while (r.iterations < max_iter) {
    const std::vector<double> ap = apply(p);
    const double pap = dot(p, ap);
    if (!(pap > 0)) throw NotPositiveDefinite("conjugate gradient: p'Ap = " + std::to_string(pap) + " <= 0");
    const double a = rr / pap;
    for (size_t k = 0; k < n; ++k) r.x[k] += a * p[k], res[k] -= a * ap[k];
    ++r.iterations;
    const double rr_new = dot(res, res);
    r.residual = std::sqrt(rr_new) / b_norm;
    if (r.residual <= tol) break;
    for (size_t k = 0; k < n; ++k) p[k] = res[k] + (rr_new / rr) * p[k];
    rr = rr_new;
  }
  return r;
}

UnlearnResult run_influence(models::Model& model, const RequestView& view, const UnlearnOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  UnlearnResult r;
  r.method = "influence";
  model.set_data(view.retain);
  r.extra["feature_rows_reset"] = reset_feature_parameters(model, view);
  InfluenceObjective obj(model, view, opt);
  const std::vector<double> g = obj.forget_gradient();
  // The BPR Hessian is indefinite: when CG meets a direction without positive curvature, the damping grows
  // tenfold and the solve restarts (Levenberg-style), up to lambda = 1e6.
  double lambda = opt.damping;
  int64_t restarts = 0, products = 0;
  CgResult cg;
  for (;;) {
    try {
      cg = conjugate_gradient(
          [&](const std::vector<double>& v) {
            ++products;
            std::vector<double> hv = obj.hvp(v);
            for (size_t k = 0; k < hv.size(); ++k) hv[k] += lambda * v[k];
            return hv;
          },
          g, opt.cg_max_iter, opt.cg_tol);
      break;
    } catch (const NotPositiveDefinite&) {
      LETHE_CHECK(lambda < 1e6,
                  "influence: the damped Hessian has no positive curvature along a CG direction even "
                  "with damping "
                      << lambda);
      lambda = lambda > 0 ? lambda * 10 : 1e-3;
      ++restarts;
    }
  }
  std::vector<double> x = obj.get();
  double step = 0;
  for (size_t k = 0; k < x.size(); ++k) x[k] += cg.x[k], step += cg.x[k] * cg.x[k];
  obj.set(x);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.epochs_run = 1;
  r.steps = products;
  r.stop_reason = cg.residual <= opt.cg_tol ? "cg converged" : "cg max iterations";
  r.extra["restricted_dim"] = obj.dim();
  r.extra["retain_rows"] = obj.retain_rows();
  r.extra["cg_iterations"] = cg.iterations;
  r.extra["cg_relative_residual"] = cg.residual;
  r.extra["damping"] = lambda;
  r.extra["damping_restarts"] = restarts;
  r.extra["hessian_vector_products"] = products;
  r.extra["step_norm"] = std::sqrt(step);
  EpochLog el;
  el.seconds = r.seconds;
  r.epochs.push_back(el);
  return r;
}

}  // namespace lethe::unlearning::detail
