// Unlearning (docs/unlearning.md, spec unlearning.md 2-5): the data view after one or more requests and the
// methods that map (original model, request) to an unlearned model.
//
//   RequestView: the original data set, the requests applied in order, the data set after them, the forget
//                set (cumulative against the original training data, and the one of the last step), the
//                retain TrainData D_r (features erased, dropped items flagged) that every derived structure
//                is rebuilt from.
//   Methods:     mmrecun  L = alpha * L_rev(B_f) + beta * L_fwd(B_r), one forward per step (section 4)
//                gold     retrain from scratch on D_r with the original config and early stopping (trainer)
//                finetune L_fwd on D_r only, from the original parameters
//                neggrad  gradient ascent on the forget set alone (fixed epochs)
// Before any step every method calls Model::set_data(view.retain): no forgotten edge survives in any graph.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "engine/error.h"
#include "models/unlearning/requests.h"
#include "models/config.h"
#include "models/eval/evaluator.h"
#include "models/model.h"

namespace lethe::unlearning {

struct RequestView {
  datasets::Dataset original;                 // what the original model was trained on
  std::vector<unlearning::Request> requests;    // applied in order
  datasets::Dataset current;                  // after all requests (valid / test rows of cold users, dropped items gone)
  datasets::Interactions forget;              // cumulative D_f: original train rows no longer in D_r (train order)
  datasets::Interactions step_forget;         // D_f of the last request only (what a sequential step must unlearn)
  models::TrainData retain;               // D_r, features after erasure, item_dropped flags (cumulative)
  unlearning::RequestKind kind = unlearning::RequestKind::User;  // of the last request
  std::vector<int32_t> forgotten_users;   // users named by user requests (cumulative, sorted)
  std::vector<int32_t> forgotten_items;   // items named by item requests (cumulative, sorted)
  std::vector<int32_t> dropped_items;     // items out of the catalogue (cumulative, sorted)
  std::map<std::string, std::vector<int32_t>> erased;  // modality -> erased item rows (cumulative)
  std::vector<int32_t> affected_users;    // users with a row in `forget` (sorted)
  bool has_forget_set() const { return !forget.empty(); }
};

// Applies `requests` one after another to `ds` (each validated and resolved against the previous result;
// a bad request throws a lethe::Error naming the file and line, and nothing is changed).
RequestView apply_requests(const datasets::Dataset& ds, const std::vector<unlearning::Request>& requests);

// The parameters a modality request must overwrite: a table "<modality>_embedding.weight" of shape
// [n_items, width] holds a (fine-tunable) copy of the raw features (FREEDOM, MGCN): its erased rows get the
// erased feature values and dropped items' rows the zero rows of view.retain, so no trace of the removed
// features stays in the parameters. Returns the number of rows overwritten.
int64_t reset_feature_parameters(models::Model& model, const RequestView& view);

enum class Method { MMRecUn, Gold, Finetune, NegGrad };
Method parse_method(const std::string& s);  // "mmrecun", "gold", "finetune", "neggrad"
const char* method_name(Method m);

struct UnlearnOptions {
  Method method = Method::MMRecUn;
  double alpha = 1.0, beta = 1.0;  // MMRecUn weights of L_rev and L_fwd
  double lr = 1e-3;                // fresh Adam
  // MMRecUn: the learning-rate factor for the user-table rows of users left with no training data (user
  // requests). Nothing but the reverse term trains those rows, and they must travel as far as the whole
  // original training moved them, in the |D_f| / batch steps of an epoch (docs/unlearning.md, "own rows").
  double own_rows_lr_factor = 30.0;
  int64_t batch_size = 2048;       // B_f and B_r
  int64_t epochs = 0;              // fixed number of epochs (> 0), or 0 with until_forgotten
  bool until_forgotten = false;    // stop once forget Recall@20 <= ForgetCheck::reference
  int64_t max_epochs = 300;        // cap for until_forgotten
  // until_forgotten, when every user of the step is left without data (user requests): the epoch that crosses
  // the reference is cut back to the point of its parameter segment where the forget recall meets the
  // reference (bisection; docs/unlearning.md "landing").
  bool landing = true;
  uint64_t seed = 999;             // sampling randomness (gold: also the initialisation seed)
  bool quiet = false;
  std::ostream* log = nullptr;     // progress lines (default std::cout)
};

struct EpochLog {
  int64_t epoch = 0;
  double loss = 0.0;              // sum of step losses
  double seconds = 0.0;           // cumulative wall time since the method started
  double forget_recall = -1.0;    // Recall@20 on D_f (-1: not measured this epoch)
  double test_recall = -1.0;      // Recall@20 on the same users' test rows
  double reference = -1.0;        // ForgetCheck::reference
};

struct UnlearnResult {
  std::string method;
  int64_t epochs_run = 0;
  int64_t steps = 0;
  std::string stop_reason;        // "epochs", "until-forgotten", "max-epochs", "early stopping", ...
  double seconds = 0.0;           // wall time of the whole method (rebuild, steps, stopping checks)
  std::vector<EpochLog> epochs;
  nlohmann::json extra = nlohmann::json::object();  // method specific (gold: best epoch, ...)
};

// Checks that the options make sense for the request (stopping rule, a forget set where the method needs
// one, weights, learning rate); throws lethe::Error with a one-line reason. run_method calls it first.
void check_options(const UnlearnOptions& opt, const RequestView& view);

// Runs a method. `model` holds the starting parameters (the original model, or the previous step's model
// for sequential requests) and is replaced by a fresh model for gold. `config` / `model_name` are the
// original run's. The model ends in the unlearned state, with set_data(view.retain) applied.
UnlearnResult run_method(std::unique_ptr<models::Model>& model, const std::string& model_name,
                         const models::Config& config, const RequestView& view, const UnlearnOptions& opt);

// The until-forgotten measurements (spec section 6.2): Recall@20 of the forget set (targets D_f, mask the
// user's retained train items, dropped items not masked so that their scores are still audited) and the
// "never seen" reference level it is compared with. For a user who keeps training data (item, interaction
// requests) the reference is the user's Recall@20 on their own held-out test rows of the original data set
// (spec section 4). For a user left with NO training data (user requests) we use the level of an
// uninformed user vector: the mean recall of the user's forget targets over 1024 fixed random directions
// ranked against this model's item embeddings. Reason: that user's test items share exactly the taste the
// model learned from D_f, so their test recall is itself a memory of D_f (measured on tiny data: it stays
// high until the forgotten items are gone), while gold, which never saw the user, scores items with its
// untrained initial embedding, i.e. a random direction. reference = the user-weighted mean of the two.
struct ForgetCheck {
  double forget_recall = 0.0;  // mean over the forget set's users
  double test_recall = 0.0;    // the same users' test recall (users with test rows)
  double reference = 0.0;      // the level until-forgotten compares with (see above)
  int64_t forget_users = 0, test_users = 0, users_without_data = 0;
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
  std::vector<int32_t> users_, with_data_, without_data_;
  datasets::UserItems targets_, test_items_;
  bool has_test_ = false;
  std::unique_ptr<eval::Evaluator> ev_;  // null for an empty forget set
};

// One check with a ForgetChecker built for it.
ForgetCheck forget_check(models::Model& model, const RequestView& view, const datasets::Interactions& forget);

}  // namespace lethe::unlearning
