// Factories of the concrete recommenders (one per models/<name>.cpp) and their MMRec yaml defaults; the
// public entry points are create_model / default_config in models/model.h (models/registry.cpp).
#pragma once

#include <memory>

#include "models/model.h"

namespace lethe::models {

std::unique_ptr<Model> make_bpr(const Config& c, const TrainData& d, uint64_t seed, Device dev);
std::unique_ptr<Model> make_lightgcn(const Config& c, const TrainData& d, uint64_t seed, Device dev);
std::unique_ptr<Model> make_vbpr(const Config& c, const TrainData& d, uint64_t seed, Device dev);
std::unique_ptr<Model> make_freedom(const Config& c, const TrainData& d, uint64_t seed, Device dev);
std::unique_ptr<Model> make_mgcn(const Config& c, const TrainData& d, uint64_t seed, Device dev);

}  // namespace lethe::models
