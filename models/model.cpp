// TrainData from a data set (model.h).
#include "models/model.h"

namespace lethe::models {

TrainData make_train_data(const datasets::Dataset& ds) {
  TrainData td;
  td.n_users = ds.n_users;
  td.n_items = ds.n_items;
  td.train = ds.train;
  for (const auto& [name, ft] : ds.features) td.features[name] = ft.values;
  return td;
}

}  // namespace lethe::models
