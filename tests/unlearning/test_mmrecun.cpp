// MMRecUn's choices beyond the paper's objective (docs/unlearning.md, "MMRecUn"): confined updates (only the
// ID rows of the forget set's users and items move), the own-rows step (each such row learns at
// lr x max(1, factor x the share of its data the request removed)) and the landing of until-forgotten (the
// crossing epoch is cut back to where the forget recall meets the reference).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "autograd/ops.h"
#include "datasets/sampler.h"
#include "fixture.h"
#include "models/unlearning/method_parts.h"
#include "models/unlearning/unlearn_run.h"

namespace lethe::unlearning::testing {
namespace {

struct UserRequestWorld {
  RequestView view;
  std::vector<int32_t> own;  // forgotten users (a user request leaves them no data)
};

const UserRequestWorld& user_request() {
  static const UserRequestWorld w = [] {
    const TinyWorld& t = tiny_world();
    UserRequestWorld u;
    u.view = apply_requests(t.ds, {unlearning::read_request(write_generated_request(
                                      t.ds, unlearning::RequestKind::User, 0.05, "own-rows"))});
    u.own = u.view.forgotten_users;
    return u;
  }();
  return w;
}

std::unique_ptr<models::Model> load_original(const std::string& dir) {
  return load_model_run(dir, models::make_train_data(tiny_world().ds), "original").model;
}

// A 5% interaction request on the tiny world, applied (`name` keeps each test's request file apart).
RequestView tiny_interaction_view(const std::string& name) {
  const TinyWorld& t = tiny_world();
  return apply_requests(t.ds,
                        {read_request(write_generated_request(t.ds, RequestKind::Interaction, 0.05, name))});
}

// The premise of the own-rows step: after the rebuild from D_r, no retain loss reaches a forgotten user's
// row, for every model (their only gradient comes from the reverse term).
TEST(MMRecUnOwnRows, RetainLossNeverReachesAForgottenUsersRow) {
  const UserRequestWorld& w = user_request();
  ASSERT_FALSE(w.own.empty());
  for (const std::string& name : models::model_names()) {
    SCOPED_TRACE(name);
    models::Config cfg = models::default_config(name);
    auto model = models::create_model(name, cfg, w.view.retain, kSeed, Device::cpu());
    autograd::Var table;
    for (auto& [n, p] : model->parameters())
      if (n == model->user_table()) table = p;
    ASSERT_TRUE(table.defined()) << "user_table() names no parameter";
    ASSERT_EQ(table.value().rows(), w.view.retain.n_users);
    // Every retained training row in one batch: the whole retain loss.
    datasets::BprSampler s = datasets::BprSampler::for_training(
        w.view.retain.train, w.view.retain.n_users, static_cast<int64_t>(w.view.retain.train.size()));
    Rng rng(3);
    const datasets::BprBatch b = s.batch(0, rng);
    models::Batch batch;
    const Shape sh{static_cast<int64_t>(b.size())};
    batch.users = Tensor::from_vector(b.users, sh);
    batch.pos = Tensor::from_vector(b.pos, sh);
    batch.neg = Tensor::from_vector(b.neg, sh);
    Rng pre(4);
    model->pre_epoch(pre);
    autograd::backward(model->loss(model->forward(true), batch));
    const std::vector<float> g = table.grad().astype(DType::F32).to_vector<float>();
    const int64_t d = table.value().cols();
    double own_max = 0.0, other_max = 0.0;
    std::vector<uint8_t> is_own(static_cast<size_t>(w.view.retain.n_users), 0);
    for (int32_t u : w.own) is_own[static_cast<size_t>(u)] = 1;
    for (int64_t u = 0; u < w.view.retain.n_users; ++u)
      for (int64_t c = 0; c < d; ++c) {
        double& mx = is_own[static_cast<size_t>(u)] ? own_max : other_max;
        mx = std::max(mx, static_cast<double>(std::abs(g[static_cast<size_t>(u * d + c)])));
      }
    EXPECT_EQ(own_max, 0.0);
    EXPECT_GT(other_max, 0.0);  // the loss does reach the retained users
  }
}

std::vector<float> values_of(models::Model& m, const std::string& name) {
  for (auto& [n, p] : m.parameters())
    if (n == name) return p.value().astype(DType::F32).to_vector<float>();
  ADD_FAILURE() << m.name() << ": no parameter named " << name;
  return {};
}

// Share of each user's / item's training rows that the view removed.
std::pair<std::vector<double>, std::vector<double>> shares(const RequestView& v) {
  std::vector<double> fu(static_cast<size_t>(v.retain.n_users), 0), tu(fu.size(), 0);
  std::vector<double> fi(static_cast<size_t>(v.retain.n_items), 0), ti(fi.size(), 0);
  for (size_t k = 0; k < v.step_forget.size(); ++k) {
    fu[v.step_forget.users[k]] += 1, tu[v.step_forget.users[k]] += 1;
    fi[v.step_forget.items[k]] += 1, ti[v.step_forget.items[k]] += 1;
  }
  for (size_t k = 0; k < v.retain.train.size(); ++k)
    tu[v.retain.train.users[k]] += 1, ti[v.retain.train.items[k]] += 1;
  for (size_t u = 0; u < fu.size(); ++u) fu[u] = tu[u] > 0 ? fu[u] / tu[u] : 0;
  for (size_t i = 0; i < fi.size(); ++i) fi[i] = ti[i] > 0 ? fi[i] / ti[i] : 0;
  return {fu, fi};
}

// One step (the tiny forget set fits one batch) from the same start with factor 1 and factor 7, for a user
// and an interaction request: each row of the forget set's users and items moves max(1, 7 x share) times as
// far; every other row and every other parameter keeps its starting value exactly (confined updates).
TEST(MMRecUnOwnRows, EachForgetRowTakesItsShareOfTheFactorAndNothingElseMoves) {
  const TinyWorld& t = tiny_world();
  for (RequestKind kind : {RequestKind::User, RequestKind::Interaction}) {
    SCOPED_TRACE(request_kind_name(kind));
    const RequestView view =
        apply_requests(t.ds, {read_request(write_generated_request(
                                 t.ds, kind, 0.05, std::string("share-") + request_kind_name(kind)))});
    ASSERT_LE(static_cast<int64_t>(view.step_forget.size()), 2048);
    const std::string run = t.quick_run_dir();
    auto start = load_original(run);
    start->set_data(view.retain);
    std::vector<std::unique_ptr<models::Model>> out;
    for (double factor : {1.0, 7.0}) {
      auto m = load_original(run);
      UnlearnOptions o;
      o.epochs = 1;
      o.quiet = true;
      o.own_rows_lr_factor = factor;
      run_method(m, "lightgcn", m->config(), view, o);
      out.push_back(std::move(m));
    }
    const auto [user_share, item_share] = shares(view);
    double moved = 0.0;
    for (const auto& [table, share] :
         {std::pair{start->user_table(), &user_share}, {start->item_table(), &item_share}}) {
      const std::vector<float> t0 = values_of(*start, table), a = values_of(*out[0], table),
                               b = values_of(*out[1], table);
      const int64_t rows = static_cast<int64_t>(share->size()), d = static_cast<int64_t>(t0.size()) / rows;
      for (int64_t r = 0; r < rows; ++r) {
        const double s = (*share)[static_cast<size_t>(r)], f = std::max(1.0, 7.0 * s);
        for (int64_t c = 0; c < d; ++c) {
          const size_t k = static_cast<size_t>(r * d + c);
          if (s == 0) {
            ASSERT_EQ(a[k], t0[k]) << table << " row " << r << " is not the forget set's and moved";
            ASSERT_EQ(b[k], t0[k]) << table << " row " << r;
          } else {
            EXPECT_NEAR(b[k] - t0[k], f * (a[k] - t0[k]), 1e-6) << table << " row " << r;
            moved = std::max(moved, static_cast<double>(std::abs(a[k] - t0[k])));
          }
        }
      }
    }
    EXPECT_GT(moved, 1e-4);
    auto ps = start->parameters(), pa = out[0]->parameters();
    for (size_t k = 0; k < ps.size(); ++k)
      if (ps[k].first != start->user_table() && ps[k].first != start->item_table()) {
        EXPECT_EQ(ops::max_abs_diff(ps[k].second.value(), pa[k].second.value()), 0.0)
            << ps[k].first << " moved";
      }
  }
}

// The paper's plain form stays reachable: unconfined, every parameter moves.
TEST(MMRecUnOwnRows, UnconfinedMovesEveryParameter) {
  const TinyWorld& t = tiny_world();
  const RequestView view = tiny_interaction_view("unconfined");
  auto start = load_original(t.quick_run_dir());
  start->set_data(view.retain);
  auto m = load_original(t.quick_run_dir());
  UnlearnOptions o;
  o.epochs = 1;
  o.quiet = true;
  o.confine = false;
  o.own_rows_lr_factor = 1.0;
  o.pair_gate = false;
  run_method(m, "lightgcn", m->config(), view, o);
  const auto [user_share, item_share] = shares(view);
  const std::vector<float> t0 = values_of(*start, start->user_table()), a = values_of(*m, m->user_table());
  const int64_t d = static_cast<int64_t>(t0.size()) / view.retain.n_users;
  int64_t other_moved = 0;
  for (int64_t u = 0; u < view.retain.n_users; ++u)
    if (user_share[static_cast<size_t>(u)] == 0)
      for (int64_t c = 0; c < d; ++c) other_moved += a[u * d + c] != t0[u * d + c];
  EXPECT_GT(other_moved, 0);
}

// The landing: the same run with and without it stops after the same epoch; with it the forget recall sits
// at or below the reference but not below where the whole epoch went, and the recorded value is the model's.
TEST(MMRecUnLanding, CutsTheCrossingEpochBackToTheReference) {
  const UserRequestWorld& w = user_request();
  const std::string run = tiny_world().run_dir_full();
  std::vector<UnlearnResult> res;
  std::vector<std::unique_ptr<models::Model>> models_out;
  for (bool landing : {false, true}) {
    auto m = load_original(run);
    UnlearnOptions o;
    o.until_forgotten = true;
    o.max_epochs = 100;
    o.quiet = true;
    o.landing = landing;
    res.push_back(run_method(m, "lightgcn", m->config(), w.view, o));
    models_out.push_back(std::move(m));
  }
  ASSERT_EQ(res[0].stop_reason, "until-forgotten");
  ASSERT_EQ(res[1].stop_reason, "until-forgotten");
  EXPECT_EQ(res[0].epochs_run, res[1].epochs_run);
  const EpochLog& plain = res[0].epochs.back();
  const EpochLog& landed = res[1].epochs.back();
  EXPECT_LE(plain.forget_recall, plain.reference);
  EXPECT_LE(landed.forget_recall, landed.reference);
  EXPECT_GE(landed.forget_recall, plain.forget_recall);
  if (plain.forget_recall < plain.reference) {
    ASSERT_TRUE(res[1].extra.contains("landing_fraction"));
    const double t = res[1].extra["landing_fraction"];
    EXPECT_GT(t, 0.0);
    EXPECT_LE(t, 1.0);
    EXPECT_DOUBLE_EQ(res[1].extra["forget_recall_before_landing"].get<double>(), plain.forget_recall);
  }
  const ForgetCheck now = forget_check(*models_out[1], w.view, w.view.step_forget);
  EXPECT_DOUBLE_EQ(now.forget_recall, landed.forget_recall);
  std::cout << "forget recall at the stop: without landing " << plain.forget_recall << ", with "
            << landed.forget_recall << " (reference " << landed.reference << ")\n";
}

// Under the plain held-out reference, requests whose users keep data stop by the plain rule: that reference
// is not gold's level, so nothing is cut back. Under the retained and two-sided references it applies to them
// too.
TEST(MMRecUnLanding, ItemRequestsLandUnlessTheReferenceIsHeldOut) {
  const TinyWorld& t = tiny_world();
  const RequestView view = apply_requests(
      t.ds, {read_request(write_generated_request(t.ds, RequestKind::Item, 0.05, "landing-item"))});
  for (Reference ref : {Reference::HeldOut, Reference::Retained, Reference::TwoSided}) {
    SCOPED_TRACE(reference_name(ref));
    auto m = load_original(t.run_dir_full());
    UnlearnOptions o;
    o.until_forgotten = true;
    o.max_epochs = 50;
    o.quiet = true;
    o.reference = ref;
    const UnlearnResult r = run_method(m, "lightgcn", m->config(), view, o);
    ASSERT_EQ(r.stop_reason, "until-forgotten");
    const EpochLog& last = r.epochs.back();
    EXPECT_LE(last.forget_recall, last.reference);
    if (ref == Reference::HeldOut) {
      EXPECT_FALSE(r.extra.contains("landing_fraction"));
    }
    if (ref != Reference::HeldOut && r.extra.contains("forget_recall_before_landing")) {
      EXPECT_GE(last.forget_recall, r.extra["forget_recall_before_landing"].get<double>());
    }
  }
}

// A modality request erasing the image rows of `items`.
Request image_request(const std::vector<int32_t>& items) {
  Request req;
  req.kind = RequestKind::Modality;
  req.items = items;
  req.modalities.assign(items.size(), "image");
  req.lines.assign(items.size(), 0);
  return req;
}

// A modality request that the model never read (LightGCN: no features) leaves it exactly as it was, with no
// training (gold retrains to the same values); a model that reads the modality (FREEDOM) trains.
TEST(MMRecUnModality, AModelThatReadsNoErasedModalityIsLeftAsItWas) {
  const TinyWorld& t = tiny_world();
  const Request req = image_request({2, 3, 5, 7});
  const RequestView view = apply_requests(t.ds, {req});
  UnlearnOptions o;
  o.epochs = 5;
  o.quiet = true;
  auto before = load_original(t.quick_run_dir());
  auto m = load_original(t.quick_run_dir());
  const UnlearnResult r = run_method(m, "lightgcn", m->config(), view, o);
  EXPECT_EQ(r.stop_reason, "model-unaffected");
  EXPECT_EQ(r.epochs_run, 0);
  auto pb = before->parameters(), pa = m->parameters();
  ASSERT_EQ(pb.size(), pa.size());
  for (size_t k = 0; k < pb.size(); ++k)
    EXPECT_EQ(ops::max_abs_diff(pb[k].second.value(), pa[k].second.value()), 0.0) << pb[k].first << " moved";

  const models::Config cfg = models::default_config("freedom");
  std::unique_ptr<models::Model> f =
      models::create_model("freedom", cfg, models::make_train_data(t.ds), kSeed, Device::cpu());
  o.epochs = 1;
  const UnlearnResult rf = run_method(f, "freedom", cfg, view, o);
  EXPECT_EQ(rf.stop_reason, "epochs");
  EXPECT_EQ(rf.epochs_run, 1);
}

// A modality request under confined updates: only the erased items' rows move, in the item table and in
// every per-item parameter the erased modality feeds; every other row and parameter keeps its value bitwise.
// Unconfined, the shared layers move too.
TEST(MMRecUnModality, ConfinedUpdatesMoveOnlyTheErasedItemsRows) {
  const TinyWorld& t = tiny_world();
  const Request req = image_request({2, 3, 5, 7});
  const RequestView view = apply_requests(t.ds, {req});
  for (const std::string name : {"freedom", "mgcn"}) {
    for (bool confine : {true, false}) {
      SCOPED_TRACE(name + (confine ? " confined" : " unconfined"));
      const models::Config cfg = models::default_config(name);
      auto make = [&] {
        return models::create_model(name, cfg, models::make_train_data(t.ds), kSeed, Device::cpu());
      };
      std::unique_ptr<models::Model> before = make(), m = make();
      UnlearnOptions o;
      o.epochs = 1;
      o.quiet = true;
      o.confine = confine;
      const UnlearnResult r = run_method(m, name, cfg, view, o);
      ASSERT_EQ(r.epochs_run, 1);
      // The rows that may move: the erased items' rows of the item table and of the image-fed parameters.
      std::set<std::string> per_item{m->item_table()};
      for (const models::ModalityUse& use : m->modality_uses())
        if (use.modality == "image") per_item.insert(use.parameters.begin(), use.parameters.end());
      ASSERT_GE(per_item.size(), 2u);
      int64_t erased_moved = 0, other_moved = 0;
      auto pb = before->parameters(), pa = m->parameters();
      ASSERT_EQ(pb.size(), pa.size());
      for (size_t k = 0; k < pb.size(); ++k) {
        const Tensor& b = pb[k].second.value();
        const Tensor& a = pa[k].second.value();
        if (!per_item.count(pb[k].first)) {
          other_moved += ops::max_abs_diff(b, a) > 0;
          continue;
        }
        const std::vector<float> bv = b.to_vector<float>(), av = a.to_vector<float>();
        const int64_t w = b.cols();
        for (int64_t row = 0; row < b.rows(); ++row) {
          const bool erased = std::find(req.items.begin(), req.items.end(), row) != req.items.end();
          bool moved = false;
          for (int64_t j = 0; j < w; ++j) moved |= bv[row * w + j] != av[row * w + j];
          (erased ? erased_moved : other_moved) += moved;
        }
      }
      EXPECT_GT(erased_moved, 0);
      if (confine) {
        EXPECT_EQ(other_moved, 0);
      } else {
        EXPECT_GT(other_moved, 0);
      }
    }
  }
}

// TRU-style layer isolation: the pass over the forget set ranks every parameter tensor by the L1 norm of its
// reverse-term gradient (reported most sensitive first); only the K first move, the rest keep their values
// bitwise; K beyond the tensor count moves every tensor the step reaches. It needs unconfined updates.
TEST(MMRecUnSensitiveLayers, OnlyTheMostSensitiveTensorsMove) {
  const TinyWorld& t = tiny_world();
  const RequestView view = tiny_interaction_view("sensitive");
  const models::Config cfg = models::default_config("mgcn");
  auto make = [&] {
    return models::create_model("mgcn", cfg, models::make_train_data(t.ds), kSeed, Device::cpu());
  };
  for (int64_t k : {1, 3}) {
    SCOPED_TRACE(k);
    std::unique_ptr<models::Model> before = make(), m = make();
    UnlearnOptions o;
    o.epochs = 1;
    o.quiet = true;
    o.confine = false;
    o.sensitive_layers = k;
    const UnlearnResult r = run_method(m, "mgcn", cfg, view, o);
    const nlohmann::json& sl = r.extra.at("sensitive_layers");
    auto pb = before->parameters(), pa = m->parameters();
    ASSERT_EQ(sl.size(), pa.size());
    std::set<std::string> chosen;
    for (size_t i = 0; i < sl.size(); ++i) {
      EXPECT_GE(sl[i]["sensitivity"].get<double>(), 0.0);
      if (i > 0) {
        EXPECT_LE(sl[i]["sensitivity"].get<double>(), sl[i - 1]["sensitivity"].get<double>());
      }
      EXPECT_EQ(sl[i]["moves"].get<bool>(), static_cast<int64_t>(i) < k);
      if (sl[i]["moves"].get<bool>()) chosen.insert(sl[i]["parameter"].get<std::string>());
    }
    EXPECT_GT(sl[0]["sensitivity"].get<double>(), 0.0);
    for (size_t i = 0; i < pb.size(); ++i) {
      const bool moved = ops::max_abs_diff(pb[i].second.value(), pa[i].second.value()) > 0;
      if (chosen.count(pb[i].first)) {
        EXPECT_TRUE(moved) << pb[i].first;
      } else {
        EXPECT_FALSE(moved) << pb[i].first;
      }
    }
  }
  UnlearnOptions confined;
  confined.epochs = 1;
  confined.quiet = true;
  confined.sensitive_layers = 2;
  auto m = make();
  EXPECT_THROW(run_method(m, "mgcn", cfg, view, confined), Error);
}

// The pair gate: a forget pair whose user and item keep data stays open while its rank over all items is
// above the rank the mean of its user's retained items' final embeddings gives it (brute force in double
// below; pairs within float rounding of their level are skipped), pairs without such a level (an item with
// no data left) are always open, and a closed pair's triple adds nothing to the reverse term or its gradient.
TEST(MMRecUnPairGate, OpenWhileThePairRanksAboveWhereItsUsersRetainedItemsPutIt) {
  const TinyWorld& t = tiny_world();
  const RequestView view = tiny_interaction_view("pair-gate");
  auto m = load_original(t.run_dir_full());
  m->set_data(view.retain);
  UnlearnOptions o;
  detail::Batches batches(view, o, Device::cpu());
  ASSERT_TRUE(batches.has_pair_gate());
  Tensor ue, ie;
  {
    autograd::NoGrad ng;
    const models::Forward f = m->forward(false);
    ue = f.users.value();
    ie = f.items.value();
  }
  const double open = batches.update_pair_gate(ue, ie);
  const std::vector<float> uv = ue.to_vector<float>(), iv = ie.to_vector<float>();
  const int64_t d = ie.cols(), n_items = ie.rows();
  const datasets::UserItems retained = datasets::UserItems::build(view.retain.train, view.retain.n_users);
  auto rank = [&](const std::vector<double>& u, int32_t item) {
    std::vector<double> s(static_cast<size_t>(n_items), 0.0);
    for (int64_t i = 0; i < n_items; ++i)
      for (int64_t j = 0; j < d; ++j) s[i] += u[j] * iv[i * d + j];
    const double v = s[static_cast<size_t>(item)];
    return static_cast<double>(std::count_if(s.begin(), s.end(), [&](double x) { return x < v; })) /
           static_cast<double>(n_items - 1);
  };
  models::Batch all;
  all.users =
      Tensor::from_vector(view.step_forget.users, Shape{static_cast<int64_t>(view.step_forget.size())});
  all.pos = Tensor::from_vector(view.step_forget.items, Shape{static_cast<int64_t>(view.step_forget.size())});
  all.neg = all.pos;
  const std::vector<float> gate = batches.pair_gate(all).to_vector<float>();
  std::vector<uint8_t> has_data(static_cast<size_t>(n_items), 0);
  for (int32_t i : view.retain.train.items) has_data[static_cast<size_t>(i)] = 1;
  int checked = 0, open_n = 0, gated_pairs = 0;
  for (size_t k = 0; k < view.step_forget.size(); ++k) {
    const int32_t u = view.step_forget.users[k], i = view.step_forget.items[k];
    if (!has_data[static_cast<size_t>(i)]) {
      EXPECT_EQ(gate[k], 1.0f);  // no level: always open
      continue;
    }
    ++gated_pairs;
    open_n += gate[k] == 1.0f;
    std::vector<double> own(static_cast<size_t>(d)), mean(static_cast<size_t>(d), 0.0);
    for (int64_t j = 0; j < d; ++j) own[j] = uv[u * d + j];
    for (int32_t p = retained.indptr[u]; p < retained.indptr[u + 1]; ++p)
      for (int64_t j = 0; j < d; ++j) mean[j] += iv[retained.items[p] * d + j] / retained.degree(u);
    const double r_own = rank(own, i), r_ref = rank(mean, i);
    if (std::abs(r_own - r_ref) < 2.0 / static_cast<double>(n_items)) continue;
    ++checked;
    EXPECT_EQ(gate[k], r_own > r_ref ? 1.0f : 0.0f) << "pair " << u << ", " << i;
  }
  EXPECT_GT(checked, 0);
  EXPECT_NEAR(open, static_cast<double>(open_n) / gated_pairs, 1e-12);

  // A closed triple adds nothing: the masked term equals the plain one over the open triples (mean over all).
  const std::vector<double> si{2.0, -1.0, 0.5}, sj{1.0, 0.5, 0.7};
  const autograd::Var a = autograd::param(Tensor::from_vector(si, Shape{3}));
  const autograd::Var b = autograd::param(Tensor::from_vector(sj, Shape{3}));
  const autograd::Var l =
      detail::masked_reverse_loss(a, b, Tensor::from_vector(std::vector<double>{1, 0, 1}, Shape{3}));
  double want = 0;
  for (size_t k : {size_t{0}, size_t{2}}) want += std::log1p(std::exp(si[k] - sj[k]));
  EXPECT_NEAR(l.value().to_vector<double>()[0], want / 3.0, 1e-12);
  autograd::backward(l);
  EXPECT_EQ(a.grad().to_vector<double>()[1], 0.0);
  EXPECT_EQ(b.grad().to_vector<double>()[1], 0.0);
  EXPECT_NE(a.grad().to_vector<double>()[0], 0.0);

  // Off (the paper's form) or for another method: no gate.
  o.pair_gate = false;
  EXPECT_FALSE(detail::Batches(view, o, Device::cpu()).has_pair_gate());
  o.pair_gate = true;
  o.method = Method::Finetune;
  EXPECT_FALSE(detail::Batches(view, o, Device::cpu()).has_pair_gate());
}

// TRU-style branch scaling: each modality branch (the per-item feature table and the layers that read that
// modality alone) learns at lr x (least sensitive branch / its own). After one step from the same start, a
// branch parameter has moved by its factor times the unscaled run's move and every other parameter exactly as
// there. FREEDOM's branches get no reverse gradient: nothing is scaled. A model without branches is refused,
// and so are confined updates.
TEST(MMRecUnBranchScaling, EachBranchMovesAtItsFactorOfTheUnscaledStep) {
  const TinyWorld& t = tiny_world();
  const RequestView view = tiny_interaction_view("branches");
  for (const std::string name : {"mgcn", "freedom"}) {
    SCOPED_TRACE(name);
    const models::Config cfg = models::default_config(name);
    auto make = [&] {
      return models::create_model(name, cfg, models::make_train_data(t.ds), kSeed, Device::cpu());
    };
    std::unique_ptr<models::Model> before = make(), plain = make(), scaled = make();
    UnlearnOptions o;
    o.epochs = 1;
    o.quiet = true;
    o.confine = false;
    const UnlearnResult rp = run_method(plain, name, cfg, view, o);
    o.branch_scaling = true;
    const UnlearnResult rs = run_method(scaled, name, cfg, view, o);
    ASSERT_EQ(rs.steps, 1);  // one step: the move is the first Adam step, linear in the learning rate
    const nlohmann::json& br = rs.extra.at("branch_scaling");
    ASSERT_EQ(br.size(), 2u);
    std::map<std::string, double> factor_of;
    double least = 0;
    for (const auto& b : br) {
      for (const auto& p : b["parameters"]) factor_of[p.get<std::string>()] = b["factor"].get<double>();
      EXPECT_LE(b["factor"].get<double>(), 1.0);
      least = std::max(least, b["factor"].get<double>());
    }
    EXPECT_DOUBLE_EQ(least, 1.0);  // the least sensitive branch keeps lr
    auto p0 = before->parameters(), pp = plain->parameters(), ps = scaled->parameters();
    for (const auto& [pname, f] : factor_of) {
      bool found = false;
      for (const auto& q : p0) found = found || q.first == pname;
      EXPECT_TRUE(found) << pname << " is declared in a branch but is not a parameter";
    }
    int scaled_tensors = 0;
    for (size_t i = 0; i < p0.size(); ++i) {
      const auto it = factor_of.find(p0[i].first);
      const double f = it == factor_of.end() ? 1.0 : it->second;
      if (f == 1.0) {
        EXPECT_EQ(pp[i].second.value().to_vector<float>(), ps[i].second.value().to_vector<float>())
            << p0[i].first;
        continue;
      }
      ++scaled_tensors;
      const auto a = p0[i].second.value().to_vector<float>(), b = pp[i].second.value().to_vector<float>(),
                 c = ps[i].second.value().to_vector<float>();
      // Moves are differences of float32 values: a few ulps of the values themselves.
      const double ulp = std::numeric_limits<float>::epsilon();
      for (size_t e = 0; e < a.size(); ++e)
        EXPECT_NEAR(c[e] - a[e], f * (b[e] - a[e]),
                    1e-6 * std::abs(b[e] - a[e]) + 4 * ulp * std::max(std::abs(a[e]), std::abs(c[e])))
            << p0[i].first << " " << e;
    }
    if (name == "mgcn") {
      EXPECT_GT(scaled_tensors, 0);  // the reverse term reaches both branches, unevenly
    } else {
      EXPECT_EQ(scaled_tensors, 0);  // FREEDOM's branches feed no score
      for (const auto& b : br) EXPECT_EQ(b["sensitivity"].get<double>(), 0.0);
    }
  }
  const models::Config lcfg = models::default_config("lightgcn");
  auto lg = models::create_model("lightgcn", lcfg, models::make_train_data(t.ds), kSeed, Device::cpu());
  UnlearnOptions o;
  o.epochs = 1;
  o.quiet = true;
  o.confine = false;
  o.branch_scaling = true;
  EXPECT_THROW(run_method(lg, "lightgcn", lcfg, view, o), Error);
  o.confine = true;
  const models::Config mcfg = models::default_config("mgcn");
  auto mg = models::create_model("mgcn", mcfg, models::make_train_data(t.ds), kSeed, Device::cpu());
  EXPECT_THROW(run_method(mg, "mgcn", mcfg, view, o), Error);
}

}  // namespace
}  // namespace lethe::unlearning::testing
