// After a request, every structure derived from the training data must be the one built from scratch on
// D_r (docs/unlearning.md). Checked two ways for each model with data-derived graphs and each request
// kind: (1) a model rebuilt with set_data(D_r) computes bitwise the same forward passes (eval view, and the
// train view with the same sampling) and losses as a model constructed on D_r with the same parameters;
// (2) perturbing the parameters of forgotten users / dropped items changes nothing they are no longer
// connected to, i.e. no forgotten edge is left in message passing.
#include <gtest/gtest.h>

#include "engine/ops.h"
#include "fixture.h"

namespace lethe::unlearning::testing {
namespace {

models::Config small_config(const std::string& model) {
  models::Config c = models::default_config(model);
  c.set("embedding_size", "16");
  c.set("feat_embed_dim", "16");
  return c;
}

RequestView view_for(const datasets::Dataset& ds, const std::string& path) {
  return apply_requests(ds, {unlearning::read_request(path)});
}

void expect_same_forward(models::Model& a, models::Model& b, const std::string& what) {
  autograd::NoGrad ng;
  {
    const models::Forward fa = a.forward(false), fb = b.forward(false);
    EXPECT_EQ(ops::max_abs_diff(fa.users.value(), fb.users.value()), 0.0) << what << ": eval users";
    EXPECT_EQ(ops::max_abs_diff(fa.items.value(), fb.items.value()), 0.0) << what << ": eval items";
  }
  Rng ra(11), rb(11);
  a.pre_epoch(ra);
  b.pre_epoch(rb);
  const models::Forward fa = a.forward(true), fb = b.forward(true);
  EXPECT_EQ(ops::max_abs_diff(fa.users.value(), fb.users.value()), 0.0) << what << ": train users";
  EXPECT_EQ(ops::max_abs_diff(fa.items.value(), fb.items.value()), 0.0) << what << ": train items";
  ASSERT_EQ(fa.aux == nullptr, fb.aux == nullptr) << what;
  if (fa.aux) {
    const auto ta = fa.aux->tensors(), tb = fb.aux->tensors();
    ASSERT_EQ(ta.size(), tb.size()) << what;
    for (size_t k = 0; k < ta.size(); ++k)
      EXPECT_EQ(ops::max_abs_diff(ta[k].value(), tb[k].value()), 0.0) << what << ": aux tensor " << k;
  }
  models::Batch batch;
  batch.users = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 3});
  batch.pos = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 3});
  batch.neg = Tensor::from_vector(std::vector<int32_t>{4, 5, 6, 7});
  EXPECT_EQ(a.loss(fa, batch).value().item(), b.loss(fb, batch).value().item()) << what << ": loss";
}

struct Case {
  std::string name;
  unlearning::RequestKind kind;
  bool drop;
  std::string modality;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c{{"user", unlearning::RequestKind::User, false, ""},
                                   {"item-drop", unlearning::RequestKind::Item, true, ""},
                                   {"interaction", unlearning::RequestKind::Interaction, false, ""},
                                   {"modality-image", unlearning::RequestKind::Modality, false, "image"}};
  return c;
}

TEST(UnlearningStructures, RebuiltFromRetainEqualsBuiltFromScratch) {
  const TinyWorld& w = tiny_world();
  const models::TrainData full = models::make_train_data(w.ds);
  for (const std::string model : {"lightgcn", "freedom", "mgcn", "vbpr"}) {
    for (const Case& c : cases()) {
      SCOPED_TRACE(model + " / " + c.name);
      const std::string req =
          write_generated_request(w.ds, c.kind, 0.1, "struct-" + c.name, c.drop, c.modality);
      const RequestView view = view_for(w.ds, req);
      const models::Config cfg = small_config(model);
      auto a = models::create_model(model, cfg, full, 3, Device::cpu());
      // Θ0 differs from the initialisation: move it so that the equality is not trivial.
      {
        Rng r(5);
        for (auto& [n, p] : a->parameters()) {
          std::vector<float> v = p.value().astype(DType::F32).to_vector<float>();
          for (auto& x : v) x += 0.01f * static_cast<float>(r.normal());
          p.mutable_value().copy_from(Tensor::from_vector(v, p.value().shape()).astype(p.value().dtype()));
        }
      }
      a->set_data(view.retain);
      reset_feature_parameters(*a, view);
      auto b = models::create_model(model, cfg, view.retain, 3, Device::cpu());
      // b: built from scratch on D_r; its feature tables already hold the erased features. Copy a's
      // parameters over, except that the feature tables must already agree after reset_feature_parameters.
      const std::vector<Tensor> pa = training::snapshot_parameters(*a);
      const auto pb = b->parameters();
      for (size_t k = 0; k < pb.size(); ++k) {
        const std::string& n = pb[k].first;
        if (n == "image_embedding.weight" || n == "text_embedding.weight") {
          // Rows of erased / dropped items: exactly the retain features (no trace of the removed ones).
          const auto it = view.erased.find(n.substr(0, n.find('_')));
          std::vector<int32_t> rows = view.dropped_items;
          if (it != view.erased.end()) rows.insert(rows.end(), it->second.begin(), it->second.end());
          const std::vector<float> va = pa[k].to_vector<float>(),
                                   vb = pb[k].second.value().to_vector<float>();
          const int64_t width = pa[k].cols();
          for (int32_t i : rows)
            for (int64_t j = 0; j < width; ++j)
              ASSERT_EQ(va[i * width + j], vb[i * width + j]) << n << " row " << i;
        }
      }
      training::restore_parameters(*b, pa);
      expect_same_forward(*a, *b, model + "/" + c.name);
    }
  }
}

// Perturbs rows `rows` of parameter `name` of model m.
void perturb_rows(models::Model& m, const std::string& name, const std::vector<int32_t>& rows) {
  for (auto& [n, p] : m.parameters()) {
    if (n != name) continue;
    std::vector<float> v = p.value().to_vector<float>();
    const int64_t width = p.value().cols();
    for (int32_t r : rows)
      for (int64_t j = 0; j < width; ++j) v[r * width + j] += 1.0f;
    p.mutable_value().copy_from(Tensor::from_vector(v, p.value().shape()));
    return;
  }
  FAIL() << "no parameter " << name;
}

std::vector<float> rows_of(const Tensor& t, const std::vector<uint8_t>& keep) {
  const std::vector<float> v = t.to_vector<float>();
  std::vector<float> out;
  const int64_t w = t.cols();
  for (int64_t r = 0; r < t.rows(); ++r)
    if (keep[static_cast<size_t>(r)]) out.insert(out.end(), v.begin() + r * w, v.begin() + (r + 1) * w);
  return out;
}

TEST(UnlearningStructures, NoForgottenEdgeLeftInMessagePassing) {
  const TinyWorld& w = tiny_world();
  const models::TrainData full = models::make_train_data(w.ds);
  for (const std::string model : {"lightgcn", "freedom"}) {
    SCOPED_TRACE(model);
    // User request: a forgotten user's embedding no longer reaches any item or other user.
    {
      const RequestView view =
          view_for(w.ds, write_generated_request(w.ds, unlearning::RequestKind::User, 0.1, "edge-user"));
      auto m = models::create_model(model, small_config(model), full, 3, Device::cpu());
      m->set_data(view.retain);
      std::vector<uint8_t> keep(static_cast<size_t>(w.ds.n_users), 1);
      for (int32_t u : view.forgotten_users) keep[static_cast<size_t>(u)] = 0;
      autograd::NoGrad ng;
      const models::Forward before = m->forward(false);
      const std::vector<float> items0 = before.items.value().to_vector<float>(),
                               users0 = rows_of(before.users.value(), keep);
      perturb_rows(*m, "user_embedding.weight", view.forgotten_users);
      const models::Forward after = m->forward(false);
      EXPECT_EQ(after.items.value().to_vector<float>(), items0);
      EXPECT_EQ(rows_of(after.users.value(), keep), users0);
    }
    // Item request with drop: a dropped item reaches no user and (FREEDOM's kNN graph) no other item.
    {
      const RequestView view = view_for(
          w.ds, write_generated_request(w.ds, unlearning::RequestKind::Item, 0.1, "edge-item", true));
      auto m = models::create_model(model, small_config(model), full, 3, Device::cpu());
      m->set_data(view.retain);
      std::vector<uint8_t> keep(static_cast<size_t>(w.ds.n_items), 1);
      for (int32_t i : view.dropped_items) keep[static_cast<size_t>(i)] = 0;
      autograd::NoGrad ng;
      const models::Forward before = m->forward(false);
      const std::vector<float> users0 = before.users.value().to_vector<float>(),
                               items0 = rows_of(before.items.value(), keep);
      perturb_rows(*m, model == "lightgcn" ? "item_embedding.weight" : "item_id_embedding.weight",
                   view.dropped_items);
      const models::Forward after = m->forward(false);
      EXPECT_EQ(after.users.value().to_vector<float>(), users0);
      EXPECT_EQ(rows_of(after.items.value(), keep), items0);
    }
  }
}

}  // namespace
}  // namespace lethe::unlearning::testing
