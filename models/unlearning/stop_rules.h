// Stop rules of the unlearning methods (docs/unlearning.md, "Stopping"): the forget-set measurement that
// until-forgotten compares with a never-seen reference level after every epoch, and the landing that cuts
// the crossing epoch back to the reference.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "autograd/var.h"
#include "datasets/dataset.h"
#include "engine/tensor.h"
#include "models/eval/evaluator.h"
#include "models/model.h"
#include "models/unlearning/request_view.h"

namespace lethe::unlearning {

// The until-forgotten measurements: Recall@20 of the forget set (targets D_f, mask the
// user's retained train items, dropped items not masked so that their scores are still audited) and the
// "never seen" reference level it is compared with. For a user who keeps training data (item, interaction
// requests) the reference is the user's Recall@20 on their own held-out test rows of the original data set
// (the plain stop rule). For a user left with NO training data (user requests) we use the level of an
// uninformed user vector: the mean recall of the user's forget targets over 1024 fixed random directions
// ranked against this model's item embeddings. Reason: that user's test items share exactly the taste the
// model learned from D_f, so their test recall is itself a memory of D_f (measured on tiny data: it stays
// high until the forgotten items are gone), while gold, which never saw the user, scores items with its
// untrained initial embedding, i.e. a random direction. reference = the user-weighted mean of the two.
// See docs/unlearning.md, "Stopping".
struct ForgetCheck {
  double forget_recall = 0.0;  // mean over the forget set's users
  double test_recall = 0.0;    // the same users' test recall (users with test rows)
  double reference = 0.0;      // the level until-forgotten compares with (see above)
  int64_t forget_users = 0, test_users = 0, users_without_data = 0, items_without_data = 0;
  // Every candidate never-seen level, -1 where it does not apply (docs/unlearning.md, "Stopping"):
  double ref_heldout = -1;       // users who keep data: their held-out test recall
  double ref_random_users = -1;  // users left without data: random user directions
  double ref_random_items = -1;  // items left without data: fresh rows in their item-table rows (all users)
  double ref_zero_items = -1;    // items left without data: zero rows in their item-table rows (all users)
  double ref_mean_items = -1;    // users who keep data: the user vector replaced by the mean of their retained
                                 // items' final embeddings (what the rest of their data says, no own row)
};
// What a check needs that does not depend on the parameters (the forget set's users, who of them keeps
// data, the targets, the held-out rows, the evaluator with its mask), built once per forget set; check()
// then costs one evaluation forward and the scoring. until-forgotten checks every epoch and the landing six
// more times, all against the same forget set.
class ForgetChecker {
 public:
  ForgetChecker(const RequestView& view, const datasets::Interactions& forget, Device dev);
  ForgetCheck check(models::Model& model) const;
  // Users of the forget set left with no training row in D_r (sorted).
  const std::vector<int32_t>& users_without_data() const { return without_data_; }
  bool all_without_data() const { return !users_.empty() && with_data_.empty(); }

 private:
  std::vector<int32_t> users_, with_data_, without_data_, items_without_data_;
  datasets::UserItems targets_, test_items_, retained_;
  bool has_test_ = false;
  std::unique_ptr<eval::Evaluator> ev_;  // null for an empty forget set
};

// One check with a ForgetChecker built for it.
ForgetCheck forget_check(models::Model& model, const RequestView& view, const datasets::Interactions& forget);

// The landing (docs/unlearning.md, "Landing"): the epoch that crossed the reference started above it at
// `theta0` and ended below it at the parameters' current values theta1. Bisects the segment
// theta0 + t (theta1 - theta0), six halvings, for the smallest t (to 1/64) whose check is still at or below
// the reference; leaves the parameters there and returns t, with `at` the check there.
double land_on_reference(std::vector<autograd::Var> params, const std::vector<Tensor>& theta0,
                         const std::function<ForgetCheck()>& check, ForgetCheck& at);

}  // namespace lethe::unlearning
