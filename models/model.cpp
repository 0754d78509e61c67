// TrainData from a data set; a parameter by name (model.h).
#include "models/model.h"

#include "engine/error.h"

namespace lethe::models {

TrainData make_train_data(const datasets::Dataset& ds) {
  TrainData td;
  td.n_users = ds.n_users;
  td.n_items = ds.n_items;
  td.train = ds.train;
  for (const auto& [name, ft] : ds.features) td.features[name] = ft.values;
  return td;
}

autograd::Var parameter(Model& model, const std::string& name) {
  for (auto& [n, p] : model.parameters())
    if (n == name) return p;
  LETHE_ASSERT(false, model.name() << " has no parameter '" << name << "'");
  return {};
}

}  // namespace lethe::models
