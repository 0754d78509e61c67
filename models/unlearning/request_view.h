// The data after one or more unlearning requests (docs/unlearning.md, "Requests"): the original data set,
// the requests applied in order, the data set after them, the forget sets, and the retain TrainData D_r
// (features after erasure, dropped items flagged) that every derived structure is rebuilt from.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "models/model.h"
#include "models/unlearning/requests.h"

namespace lethe::unlearning {

struct RequestView {
  datasets::Dataset original;                 // what the original model was trained on
  std::vector<unlearning::Request> requests;  // applied in order
  datasets::Dataset current;      // after all requests (valid / test rows of cold users, dropped items gone)
  datasets::Interactions forget;  // cumulative D_f: original train rows no longer in D_r (train order)
  datasets::Interactions step_forget;  // D_f of the last request only (what a sequential step must unlearn)
  models::TrainData retain;            // D_r, features after erasure, item_dropped flags (cumulative)
  unlearning::RequestKind kind = unlearning::RequestKind::User;  // of the last request
  std::vector<int32_t> forgotten_users;                // users named by user requests (cumulative, sorted)
  std::vector<int32_t> forgotten_items;                // items named by item requests (cumulative, sorted)
  std::vector<int32_t> dropped_items;                  // items out of the catalogue (cumulative, sorted)
  std::map<std::string, std::vector<int32_t>> erased;  // modality -> erased item rows (cumulative)
  std::vector<int32_t> affected_users;                 // users with a row in `forget` (sorted)
  bool has_forget_set() const { return !forget.empty(); }
};

// Applies `requests` one after another to `ds` (each validated and resolved against the previous result;
// a bad request throws a lethe::Error naming the file and line, and nothing is changed).
RequestView apply_requests(const datasets::Dataset& ds, const std::vector<unlearning::Request>& requests);

// Erases removed features from the parameters (docs/unlearning.md, "Modality requests"): for every modality
// the model declares (Model::modality_uses), the rows of its erased items and of dropped items in each
// parameter fed by it are overwritten with the retain data's rows (erased: the replacement; dropped: zeros),
// so no trace of the removed features stays in the parameters. Returns the number of rows overwritten.
int64_t reset_feature_parameters(models::Model& model, const RequestView& view);

}  // namespace lethe::unlearning
