// FREEDOM's batch-row projection (models/freedom.cpp, config feature_projection: batch) against MMRec's dense
// form (feature_projection: dense): the same model (same seed) on the same batches gives the same losses,
// the same gradient for every parameter and the same parameters after every Adam step, in f64 to 1e-12 and in
// f32 to 1e-5 (relative). The batches repeat items (duplicates must add up) and leave items out: those rows
// get a zero gradient in both forms, and after a step that touched them they keep moving by Adam's momentum
// in both (the optimizer state is dense).
#include <gtest/gtest.h>

#include "autograd/optim.h"
#include "tests/models/tiny.h"

namespace lethe::models::testing {
namespace {

Batch make_batch(std::vector<int32_t> u, std::vector<int32_t> p, std::vector<int32_t> n) {
  Batch b;
  b.users = Tensor::from_vector(u);
  b.pos = Tensor::from_vector(p);
  b.neg = Tensor::from_vector(n);
  return b;
}

double max_rel_diff(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = host(a), y = host(b);
  EXPECT_EQ(x.size(), y.size());
  double m = 0.0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i)
    m = std::max(m, std::abs(x[i] - y[i]) / std::max(1.0, std::abs(y[i])));
  return m;
}

// Rows [r0, r1) of a 2-D tensor, as doubles.
std::vector<double> rows_of(const Tensor& t, int64_t r0, int64_t r1) { return host(t.row_range(r0, r1)); }

void compare_forms(const std::string& dtype, double tol) {
  const TrainData d = tiny_data();
  Config batch_cfg = tiny_config("freedom", dtype), dense_cfg = tiny_config("freedom", dtype);
  batch_cfg.set("feature_projection", "batch");
  dense_cfg.set("feature_projection", "dense");
  auto mb = create_model("freedom", batch_cfg, d, 2024, Device::cpu());
  auto md = create_model("freedom", dense_cfg, d, 2024, Device::cpu());
  Rng rb(77), rd(77);
  mb->pre_epoch(rb);
  md->pre_epoch(rd);
  autograd::Adam ob(param_vars(*mb), 0.01), od(param_vars(*md), 0.01);
  // Batch A reads items {0, 1, 2, 3, 5} (1, 0 and 2 more than once); batch B reads {6, 7, 8} only.
  const Batch a = make_batch({0, 1, 2, 3, 0, 5}, {0, 1, 1, 3, 0, 2}, {2, 5, 2, 5, 2, 0});
  const Batch b = make_batch({4, 6, 7}, {6, 7, 8}, {8, 6, 7});
  const std::vector<const Batch*> steps{&a, &b, &b, &a};
  std::vector<double> image_rows_before;
  for (size_t s = 0; s < steps.size(); ++s) {
    ob.zero_grad();
    od.zero_grad();
    const autograd::Var lb = mb->loss(mb->forward(true), *steps[s]);
    const autograd::Var ld = md->loss(md->forward(true), *steps[s]);
    autograd::backward(lb);
    autograd::backward(ld);
    EXPECT_NEAR(lb.value().item(), ld.value().item(), tol * std::max(1.0, std::abs(ld.value().item())))
        << dtype << " step " << s;
    auto pb = mb->parameters(), pd = md->parameters();
    ASSERT_EQ(pb.size(), pd.size());
    for (size_t k = 0; k < pb.size(); ++k) {
      ASSERT_EQ(pb[k].first, pd[k].first);
      EXPECT_LE(max_rel_diff(pb[k].second.grad(), pd[k].second.grad()), tol)
          << dtype << " step " << s << " gradient of " << pb[k].first;
    }
    const Tensor& image = pb[2].second.value();
    ASSERT_EQ(pb[2].first, "image_embedding.weight");
    if (s == 1) {  // batch B: items 0-5 get no gradient, in both forms
      for (double g : rows_of(pb[2].second.grad(), 0, 6)) EXPECT_EQ(g, 0.0);
      for (double g : rows_of(pd[2].second.grad(), 0, 6)) EXPECT_EQ(g, 0.0);
      image_rows_before = rows_of(image, 0, 4);
    }
    ob.step();
    od.step();
    for (size_t k = 0; k < pb.size(); ++k)
      EXPECT_LE(max_rel_diff(pb[k].second.value(), pd[k].second.value()), tol)
          << dtype << " step " << s << " value of " << pb[k].first;
    if (s == 1) {  // ... and still move: the momentum of batch A's step
      const std::vector<double> after = rows_of(image, 0, 4);
      double moved = 0.0;
      for (size_t i = 0; i < after.size(); ++i)
        moved = std::max(moved, std::abs(after[i] - image_rows_before[i]));
      EXPECT_GT(moved, 0.0);
    }
  }
}

TEST(FreedomProjection, BatchRowsEqualDenseInF64) { compare_forms("f64", 1e-12); }

TEST(FreedomProjection, BatchRowsEqualDenseInF32) { compare_forms("f32", 1e-5); }

TEST(FreedomProjection, EvaluationViewIsUnchangedAndOptionChecked) {
  const TrainData d = tiny_data();
  Config dense_cfg = tiny_config("freedom");
  dense_cfg.set("feature_projection", "dense");
  auto mb = create_model("freedom", tiny_config("freedom"), d, 2024, Device::cpu());
  auto md = create_model("freedom", dense_cfg, d, 2024, Device::cpu());
  autograd::NoGrad ng;
  const Forward fb = mb->forward(false), fd = md->forward(false);
  EXPECT_EQ(ops::max_abs_diff(fb.users.value(), fd.users.value()), 0.0);
  EXPECT_EQ(ops::max_abs_diff(fb.items.value(), fd.items.value()), 0.0);
  Config bad = tiny_config("freedom");
  bad.set("feature_projection", "sparse");
  const std::string msg = error_of([&] { create_model("freedom", bad, d, 2024, Device::cpu()); });
  EXPECT_NE(msg.find("feature_projection"), std::string::npos) << msg;
  // A batch item out of range is named.
  Rng rng(1);
  mb->pre_epoch(rng);
  const Batch out = make_batch({0}, {kItems}, {0});
  const std::string err = error_of([&] { (void)mb->loss(mb->forward(true), out); });
  EXPECT_NE(err.find("out of range"), std::string::npos) << err;
}

}  // namespace
}  // namespace lethe::models::testing
