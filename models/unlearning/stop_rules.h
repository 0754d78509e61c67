// Stop rules of the unlearning methods (docs/unlearning.md, "Stopping"): the forget-set measurement that
// until-forgotten compares with a never-seen reference level after every epoch, and the landing that cuts
// the crossing epoch back to the reference.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/var.h"
#include "datasets/dataset.h"
#include "engine/tensor.h"
#include "models/eval/evaluator.h"
#include "models/model.h"
#include "models/unlearning/request_view.h"

namespace lethe::unlearning {

// The until-forgotten measurement (docs/unlearning.md, "Stopping"): Recall@20 of the forget set (targets D_f,
// mask the user's retained train items; dropped items are not masked, so that their scores are still
// audited) against a reference: an estimate, from what a deployed system has, of gold's level for the same
// users, i.e. of a model whose user rows were fit to the retained data alone.
//   * a user left with NO training data (user requests): gold never trained the user's row, so it scores
//     items with an untrained, random direction. The level is the mean recall of the user's forget targets
//     over 1024 fixed random directions ranked against this model's item embeddings.
//   * a user who keeps data (item and interaction requests): gold's row is fit to the user's retained items.
//     The level is the recall of the forget targets when the user's vector is the mean of the final
//     embeddings of the user's retained items: what the rest of the user's data says, with no memory of
//     D_f in a row of the user's own. The rule stops when the users' own rows rank the forgotten items no
//     higher than their remaining data does.
//     Two-sided (the default, Reference::TwoSided): a forgotten pair's item that keeps data (interaction
//     requests) also remembers the pair in its own row, and the user-side level reads that row: on real
//     TikTok, LightGCN, it equals gold's forget recall on gold's model (0.144 / 0.144) but sits at 0.169 on
//     MMRecUn's model at the stop. So each such item's vector is also replaced, for this level only, by what
//     its retained users say: the direction of the mean of their final embeddings, at the item's own norm.
//     On gold's model that level is 0.134 (gold 0.144); the stop lands at 0.154. Reference::Retained keeps
//     the user side alone (where no item keeps data, the two are the same).
// reference = the user-weighted mean of the two. Reference::HeldOut keeps the plain rule for users with data
// (their held-out test recall; it sits below gold's level on leave-last-out splits, measured).
//   * items left with NO training data (item requests; the mirror of the first case): Recall@20 only sees
//     the top 20, and a forgotten item can leave it while still ranking far above where gold puts it (a
//     membership signal). So the forget pairs of such items must also rank, on average over all items, no
//     higher than they do when those items' ID rows hold fresh draws of the model's initialisation (gold's
//     row that no data reaches) with everything else as it is now: item_rank <= item_rank_reference.
//     Measured over the pairs whose user keeps data (users left without data have the level above).
//     When every forget pair's item is such an item (item requests), this rank alone decides: the
//     retained-items recall level follows the forgotten items down as the method moves their rows (it
//     reached 0 on real Scientific, FREEDOM, against gold's 0.020), while the fresh-row rank matched gold's
//     rank to 0.002 on five of six measured cells. Where some forget pairs' items keep data (interaction
//     requests) recall decides and the rank is reported only (ForgetCheck::forgotten). Under
//     Reference::HeldOut this part is off (the plain rule).
enum class Reference { Retained, TwoSided, HeldOut };
Reference parse_reference(const std::string& s);  // "retained", "two-sided", "heldout"
const char* reference_name(Reference r);

struct ForgetCheck {
  double forget_recall = 0.0;  // mean over the forget set's users
  double test_recall = -1.0;   // the same users' held-out test recall (users with test rows; diagnostics)
  double reference = 0.0;      // the level until-forgotten compares with (see above)
  double ref_no_data = -1;     // users left without data: the random-direction level (-1: none such)
  double ref_retained = -1;    // users who keep data: the retained-items level (-1: none such / not computed)
  double ref_two_sided = -1;   // users who keep data: the two-sided level (-1: none such / not computed)
  double ref_heldout = -1;  // users who keep data: their held-out test recall (-1: none such / not computed)
  int64_t forget_users = 0, test_users = 0, users_without_data = 0;
  // Forget pairs whose item has no training data left: their mean rank percentile among all items, and the
  // same with those items' ID rows drawn fresh (-1: no such pairs, Reference::HeldOut, or recall decides and
  // the check is not a diagnostic one).
  double item_rank = -1, item_rank_reference = -1;
  bool recall_decides = true;  // false when every forget pair's item lost all its data (the rank decides)
  // Forget pairs of a user and an item that both keep data (interaction requests): their mean rank
  // percentile among all items with the users' own rows, and the same with each user's vector the mean of
  // its retained items' final embeddings, the user-side level's vector (-1: not measured). With
  // ForgetChecker::set_pair_rank the rank must also be at or below that level (pair_rank_applies; a quiet
  // check measures it only when the recall is at its level, and an unmeasured rank is not forgotten).
  double pair_rank = -1, pair_rank_reference = -1;
  bool pair_rank_applies = false;
  // Where the pair rank applies and ForgetChecker::set_recall_floor is on: the reference less two of its
  // standard errors, 2 sqrt(ref (1 - ref) / n) over its n users (-1: off). The rank may hold the run on
  // only until the forget recall reaches this floor: below it the recall says the pairs are further down
  // than gold's level within its own sampling error, and pushing on is the overshoot the rank was not meant
  // to cause (docs/unlearning.md, "Recall floor").
  double recall_floor = -1;
  // The until-forgotten condition: forget recall at or below the reference, or, when the rank decides, the
  // item rank at or below its reference. Where recall decides the rank is only reported: an interaction
  // request that happens to empty a few items (102 of 2979 pairs, core selection on real TikTok, FREEDOM)
  // kept pushing every pair down until those few ranked at their fresh-row level, and forget recall fell to
  // 0.003 against gold's 0.012.
  bool forgotten() const {
    const bool level = recall_decides ? forget_recall <= reference : item_rank <= item_rank_reference;
    const bool rank = pair_rank >= 0 && pair_rank <= pair_rank_reference;
    const bool floor = recall_floor >= 0 && forget_recall <= recall_floor;
    return level && (!pair_rank_applies || rank || floor);
  }
  // What made a forgotten check forgotten, recorded with the run (`stopped_on`) so that a user can see how
  // strong the evidence is: "recall level" (the forget recall at its reference; nothing else applies),
  // "item rank" (item requests), "pair rank" (the recall at its level and the pairs' rank at theirs) or
  // "recall floor" (the recall two standard errors below its reference while the pairs still rank above
  // their level: docs/unlearning.md, "Recall floor"). Empty when not forgotten.
  std::string decided_by() const {
    if (!forgotten()) return "";
    if (pair_rank_applies)
      return pair_rank >= 0 && pair_rank <= pair_rank_reference ? "pair rank" : "recall floor";
    return recall_decides ? "recall level" : "item rank";
  }
  // Forgotten and strictly below a reference that decides (the landing then cuts the epoch back).
  bool overshot() const {
    return forgotten() && ((recall_decides ? forget_recall < reference : item_rank < item_rank_reference) ||
                           (pair_rank_applies && pair_rank < pair_rank_reference));
  }
};

// What a check needs that does not depend on the parameters (the forget set's users, who of them keeps
// data, the targets, the held-out rows, the evaluator with its mask), built once per forget set; check()
// then costs one evaluation forward and the scoring. until-forgotten checks every epoch and the landing six
// more times, all against the same forget set.
class ForgetChecker {
 public:
  ForgetChecker(const RequestView& view, const datasets::Interactions& forget, Device dev,
                Reference rule = Reference::TwoSided);
  // One forward of the evaluation view, the forget recall and the reference of the rule. With `diagnostics`,
  // also the same users' held-out test recall and every candidate level (for logs; costs more evaluations).
  ForgetCheck check(models::Model& model, bool diagnostics = true) const;
  // Measures the fresh-row item rank reference once, on the model as it is now (before the method moves
  // any row), and uses that value in every later check. The reverse term pushes the forget set's users
  // away from the forgotten items and from what resembles them, which lowers a reference measured live
  // (real Scientific, FREEDOM item request: 0.748 before the first epoch, gold's own rank 0.748, 0.731
  // after twelve); gold's users never felt that push. No-op when no item rank is measured.
  void fix_item_rank_reference(models::Model& model);
  // Interaction requests: until-forgotten also waits for the forget pairs' mean rank percentile to reach the
  // user-side rank level (ForgetCheck::pair_rank; docs/unlearning.md, "Stopping"). Recall@20 sees only the
  // top 20: on the Baby-shaped preset MMRecUn lands on gold's forget recall while the pairs still rank far
  // above where gold puts them, and the membership attack reads them.
  void set_pair_rank(bool on) { pair_rank_ = on; }
  // With the pair rank: stop waiting for it once the forget recall is two standard errors below the
  // reference (ForgetCheck::recall_floor).
  void set_recall_floor(bool on) { recall_floor_ = on; }
  // Users of the forget set left with no training row in D_r (sorted).
  const std::vector<int32_t>& users_without_data() const { return without_data_; }
  // Items of the forget set left with no training row in D_r (sorted; item requests: all of them).
  const std::vector<int32_t>& items_without_data() const { return items_without_data_; }
  bool all_without_data() const { return !users_.empty() && with_data_.empty(); }

 private:
  Reference rule_ = Reference::TwoSided;
  std::vector<int32_t> users_, with_data_, without_data_, items_without_data_;
  datasets::UserItems targets_, test_items_, retained_;
  std::vector<int32_t> kept_items_;    // items of forget pairs of users with data that keep data themselves
  datasets::UserItems item_users_;     // every item's retained users (built when kept_items_ is not empty)
  datasets::Interactions item_pairs_;  // forget pairs of an item without data and a user with data
  datasets::Interactions kept_pairs_;  // forget pairs of a user and an item that both keep data
  bool pair_rank_ = false;             // set_pair_rank
  bool recall_floor_ = false;          // set_recall_floor
  bool rank_decides_ = false;          // every forget pair's item is without data (item requests)
  double fixed_item_reference_ = -1;   // fix_item_rank_reference's value (-1: measured at every check)
  bool has_test_ = false;
  std::unique_ptr<eval::Evaluator> ev_;  // null for an empty forget set
};

// The forget pairs whose user and item both keep training rows in D_r (interaction requests): the pairs the
// two-sided level, the pair rank and MMRecUn's pair gate read.
datasets::Interactions pairs_keeping_data(const RequestView& view, const datasets::Interactions& forget);

// The user-side level's vectors: row u of the result ([n_users, d], on `device` in `dtype`) is the mean of
// the rows of `item_values` (host, [n_items, d] row-major, the final item embeddings) at u's `retained`
// items, for each u in `users` (each keeps at least one); every other row is zero.
Tensor retained_item_means(const std::vector<float>& item_values, int64_t d,
                           const datasets::UserItems& retained, const std::vector<int32_t>& users,
                           int64_t n_users, Device device, DType dtype);

// One check with a ForgetChecker built for it.
ForgetCheck forget_check(models::Model& model, const RequestView& view, const datasets::Interactions& forget,
                         Reference rule = Reference::TwoSided);

// The landing (docs/unlearning.md, "Landing"): the epoch that crossed the reference started above it at
// `theta0` and ended below it at the parameters' current values theta1. Bisects the segment
// theta0 + t (theta1 - theta0), six halvings, for the smallest t (to 1/64) whose check is still at or below
// the reference (ForgetCheck::forgotten); leaves the parameters there and returns t, with `at` the check
// there.
double land_on_reference(std::vector<autograd::Var> params, const std::vector<Tensor>& theta0,
                         const std::function<ForgetCheck()>& check, ForgetCheck& at);

}  // namespace lethe::unlearning
