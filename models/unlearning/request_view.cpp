// Request views (request_view.h): requests applied in order, cumulative forget set, retain TrainData.
#include "models/unlearning/request_view.h"

#include <algorithm>
#include <unordered_map>

#include "datasets/sampler.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "models/layers.h"

namespace lethe::unlearning {

namespace {

uint64_t pair_key(int32_t u, int32_t i) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(u)) << 32) | static_cast<uint32_t>(i);
}

std::vector<int32_t> sorted_union(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  return a;
}

}  // namespace

RequestView apply_requests(const datasets::Dataset& ds, const std::vector<unlearning::Request>& requests) {
  LETHE_CHECK(!requests.empty(), "unlearning: no request given");
  RequestView v;
  v.original = ds;
  v.current = ds;
  v.requests = requests;
  std::vector<uint8_t> dropped(static_cast<size_t>(ds.n_items), 0);
  for (const unlearning::Request& req : requests) {
    const unlearning::Resolution res =
        unlearning::resolve(v.current, req);  // throws on a bad request: nothing changed yet
    v.step_forget = res.forget;
    v.kind = req.kind;
    v.forgotten_users = sorted_union(v.forgotten_users, res.forgotten_users);
    if (req.kind == unlearning::RequestKind::Item)
      v.forgotten_items = sorted_union(v.forgotten_items, req.items);
    for (int32_t i : res.dropped_items) dropped[static_cast<size_t>(i)] = 1;
    for (const auto& [m, items] : res.erased) v.erased[m] = sorted_union(v.erased[m], items);
    v.current = unlearning::apply_request(v.current, res);
  }
  // Cumulative forget set: rows of the original train split missing from the final one (multiset difference,
  // so repeated pairs are handled), in the original train order.
  std::unordered_map<uint64_t, int64_t> left;
  for (size_t k = 0; k < v.current.train.size(); ++k)
    ++left[pair_key(v.current.train.users[k], v.current.train.items[k])];
  for (size_t k = 0; k < ds.train.size(); ++k) {
    auto it = left.find(pair_key(ds.train.users[k], ds.train.items[k]));
    if (it != left.end() && it->second > 0) {
      --it->second;
    } else {
      v.forget.push(ds.train.users[k], ds.train.items[k]);
    }
  }
  v.affected_users = datasets::unique_users(v.forget);
  for (int32_t i = 0; i < ds.n_items; ++i)
    if (dropped[static_cast<size_t>(i)]) v.dropped_items.push_back(i);

  v.retain = models::TrainData{};
  v.retain.n_users = v.current.n_users;
  v.retain.n_items = v.current.n_items;
  v.retain.train = v.current.train;
  for (const auto& [name, ft] : v.current.features) v.retain.features[name] = ft.values;
  if (!v.dropped_items.empty()) v.retain.item_dropped = dropped;
  return v;
}

int64_t reset_feature_parameters(models::Model& model, const RequestView& view) {
  int64_t rows = 0;
  for (const models::ModalityUse& use : model.modality_uses()) {
    if (use.parameters.empty()) continue;  // nothing but what set_data rebuilds
    std::vector<int32_t> reset = view.dropped_items;
    if (auto it = view.erased.find(use.modality); it != view.erased.end())
      reset = sorted_union(reset, it->second);
    if (reset.empty()) continue;
    const auto table = view.retain.features.find(use.modality);
    LETHE_ASSERT(table != view.retain.features.end(),
                 model.name() << " declares modality '" << use.modality << "', which the data does not have");
    for (const std::string& name : use.parameters) {
      Tensor& value = models::parameter(model, name).mutable_value();
      LETHE_ASSERT(value.rows() == table->second.rows() && value.cols() == table->second.cols(),
                   model.name() << ": parameter '" << name << "' is " << shape_str(value.shape()) << ", the '"
                                << use.modality << "' table " << shape_str(table->second.shape()));
      // value[i] = table[i] for the reset rows, exactly.
      models::set_rows(value, reset,
                       ops::gather_rows(table->second,
                                        Tensor::from_vector(reset, Shape{static_cast<int64_t>(reset.size())},
                                                            table->second.device())));
      rows += static_cast<int64_t>(reset.size());
    }
  }
  return rows;
}

}  // namespace lethe::unlearning
