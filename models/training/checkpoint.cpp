// Model checkpoints (see checkpoint.h).
#include "models/training/checkpoint.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/formats/safetensors.h"

namespace lethe::training {

namespace {

constexpr const char* kFormat = "lethe-checkpoint";
constexpr const char* kVersion = "1";

}  // namespace

std::string data_fingerprint(const TrainData& d) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64 offset basis
  auto mix = [&h](const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 1099511628211ull;
    }
  };
  auto mix_i64 = [&](int64_t v) { mix(&v, sizeof v); };
  mix_i64(d.n_users);
  mix_i64(d.n_items);
  mix_i64(static_cast<int64_t>(d.train.size()));
  mix(d.train.users.data(), d.train.users.size() * sizeof(int32_t));
  mix(d.train.items.data(), d.train.items.size() * sizeof(int32_t));
  for (const auto& [name, t] : d.features) {
    mix(name.data(), name.size());
    for (int64_t s : t.shape()) mix_i64(s);
  }
  mix_i64(static_cast<int64_t>(d.item_dropped.size()));
  mix(d.item_dropped.data(), d.item_dropped.size());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void save_checkpoint(const std::string& path, Model& model, const CheckpointInfo& info,
                     const autograd::Adam* opt,
                     const std::vector<std::pair<std::string, Tensor>>& extra_tensors) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  auto params = model.parameters();
  for (auto& [name, v] : params) tensors.emplace_back(name, v.value());
  std::map<std::string, std::string> md = info.extra;
  md["format"] = kFormat;
  md["format_version"] = kVersion;
  md["model"] = info.model.empty() ? model.name() : info.model;
  md["config"] = info.config_yaml;
  md["fingerprint"] = info.fingerprint;
  md["epoch"] = std::to_string(info.epoch);
  if (opt) {
    auto& o = const_cast<autograd::Adam&>(*opt);  // m()/v() have no const overloads; nothing is modified
    LETHE_CHECK(o.m().size() == params.size() || o.m().empty(), path << ": optimizer holds " << o.m().size()
                                                                     << " moments for " << params.size()
                                                                     << " parameters");
    for (size_t i = 0; i < o.m().size(); ++i) {
      if (o.m()[i].defined()) tensors.emplace_back("m/" + params[i].first, o.m()[i]);
      if (i < o.v().size() && o.v()[i].defined()) tensors.emplace_back("v/" + params[i].first, o.v()[i]);
    }
    md["adam_steps"] = std::to_string(o.steps());
    char lr[64];
    std::snprintf(lr, sizeof lr, "%.17g", o.lr());
    md["adam_lr"] = lr;
  }
  for (const auto& e : extra_tensors) tensors.push_back(e);
  formats::write_safetensors(path, tensors, md);
}

namespace {

CheckpointInfo info_from_metadata(const std::map<std::string, std::string>& md, const std::string& path) {
  auto get = [&](const char* k) {
    auto it = md.find(k);
    return it == md.end() ? std::string() : it->second;
  };
  LETHE_CHECK(get("format") == kFormat, path << ": not a Lethe checkpoint (metadata format = '"
                                             << get("format") << "', expected '" << kFormat << "')");
  CheckpointInfo info;
  info.model = get("model");
  info.config_yaml = get("config");
  info.fingerprint = get("fingerprint");
  const std::string epoch = get("epoch");
  int64_t e = -1;
  if (!epoch.empty()) {
    const auto [p, ec] = std::from_chars(epoch.data(), epoch.data() + epoch.size(), e);
    LETHE_CHECK(ec == std::errc() && p == epoch.data() + epoch.size(),
                path << ": metadata epoch '" << epoch << "' is not an integer");
  }
  info.epoch = e;
  for (const auto& [k, v] : md)
    if (k != "format" && k != "format_version" && k != "model" && k != "config" && k != "fingerprint" &&
        k != "epoch")
      info.extra[k] = v;
  return info;
}

}  // namespace

CheckpointInfo read_checkpoint_info(const std::string& path) {
  return info_from_metadata(formats::read_safetensors_metadata(path), path);
}

CheckpointInfo load_checkpoint(const std::string& path, Model& model, autograd::Adam* opt,
                               const LoadOptions& lo, formats::SafeTensors* raw) {
  formats::SafeTensors st = formats::read_safetensors(path);
  CheckpointInfo info = info_from_metadata(st.metadata, path);
  LETHE_CHECK(info.model == model.name(),
              path << ": checkpoint is for model '" << info.model << "', expected '" << model.name() << "'");
  if (lo.check_fingerprint && !lo.expected_fingerprint.empty())
    LETHE_CHECK(info.fingerprint == lo.expected_fingerprint,
                path << ": checkpoint was trained on other data (fingerprint " << info.fingerprint
                     << ", expected " << lo.expected_fingerprint
                     << " for the data given: users, items, training interactions or feature shapes differ)");
  auto params = model.parameters();
  std::set<std::string> known;
  for (auto& [name, v] : params) known.insert(name);
  for (const auto& [name, t] : st.tensors) {
    // Optimizer moments and extra tensors (best-epoch snapshot, ...) live under "<prefix>/".
    if (name.rfind("m/", 0) == 0 || name.rfind("v/", 0) == 0 || name.rfind("best/", 0) == 0 ||
        name.rfind("extra/", 0) == 0)
      continue;
    LETHE_CHECK(known.count(name), path << ": checkpoint has parameter '" << name << "' that model '"
                                        << model.name() << "' does not have");
  }
  // Validate everything before touching the model, so a failed load changes nothing.
  for (auto& [name, v] : params) {
    const Tensor* t = st.find(name);
    LETHE_CHECK(t, path << ": parameter '" << name << "' of model '" << model.name() << "' is missing");
    LETHE_CHECK(t->shape() == v.value().shape() && t->dtype() == v.value().dtype(),
                path << ": parameter '" << name << "' is " << dtype_name(t->dtype()) << shape_str(t->shape())
                     << " in the checkpoint, expected " << dtype_name(v.value().dtype())
                     << shape_str(v.value().shape()) << " (other data set or configuration?)");
  }
  for (auto& [name, v] : params) v.mutable_value().copy_from(*st.find(name));
  if (opt && lo.load_optimizer && st.metadata.count("adam_steps")) {
    auto& m = opt->m();
    auto& vv = opt->v();
    if (m.size() != params.size()) m.resize(params.size());
    if (vv.size() != params.size()) vv.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor* tm = st.find("m/" + params[i].first);
      const Tensor* tv = st.find("v/" + params[i].first);
      LETHE_CHECK(tm && tv, path << ": Adam state for parameter '" << params[i].first << "' is missing");
      const Device dev = params[i].second.value().device();
      if (m[i].defined() && m[i].shape() == tm->shape())
        m[i].copy_from(*tm);
      else
        m[i] = tm->to(dev);
      if (vv[i].defined() && vv[i].shape() == tv->shape())
        vv[i].copy_from(*tv);
      else
        vv[i] = tv->to(dev);
    }
    const std::string& steps = st.metadata.at("adam_steps");
    int64_t n = 0;
    const auto [p, ec] = std::from_chars(steps.data(), steps.data() + steps.size(), n);
    LETHE_CHECK(ec == std::errc() && p == steps.data() + steps.size() && n >= 0,
                path << ": metadata adam_steps '" << steps << "' is not a count");
    opt->set_steps(n);
    if (st.metadata.count("adam_lr")) {
      const std::string& lr = st.metadata.at("adam_lr");
      char* end = nullptr;
      const double v = std::strtod(lr.c_str(), &end);
      LETHE_CHECK(end && *end == '\0' && !lr.empty(),
                  path << ": metadata adam_lr '" << lr << "' is not a number");
      opt->set_lr(v);
    }
  }
  if (raw) *raw = std::move(st);
  return info;
}

std::vector<Tensor> snapshot_parameters(Model& model) {
  std::vector<Tensor> out;
  for (auto& [name, v] : model.parameters()) out.push_back(v.value().clone());
  return out;
}

void restore_parameters(Model& model, const std::vector<Tensor>& snap) {
  auto params = model.parameters();
  LETHE_CHECK(snap.size() == params.size(),
              "restore_parameters: snapshot has " << snap.size() << " tensors, model has " << params.size());
  for (size_t i = 0; i < params.size(); ++i) params[i].second.mutable_value().copy_from(snap[i]);
}

}  // namespace lethe::training
