// Model registry: create_model by name and the default configurations. The defaults are the files
// models/configs/*.yaml, compiled in by CMakeLists.txt (configs_embedded.inc): MMRec's overall.yaml merged
// with the model's yaml. MMRec's model yamls list grids (`hyper_parameters`); a default here is one point of
// each grid, chosen as documented in the model's file. The C++ checks ranges but holds no default value.
#include "models/registry.h"

#include <functional>
#include <map>

#include "engine/error.h"
#include "models/sharded.h"
#include "models/zoo.h"

namespace lethe::models {

namespace {

// stem -> YAML text of models/configs/<stem>.yaml.
const std::map<std::string, std::string>& config_files() {
  static const std::map<std::string, std::string> files{
#include "models/configs_embedded.inc"
  };
  return files;
}

struct Entry {
  const char* name;
  std::unique_ptr<Model> (*make)(const Config&, const TrainData&, uint64_t, Device);
};

const Entry kModels[] = {
    {"bpr", make_bpr},         {"lightgcn", make_lightgcn}, {"vbpr", make_vbpr},
    {"freedom", make_freedom}, {"mgcn", make_mgcn},
};

const Entry& find(const std::string& name) {
  for (const auto& e : kModels)
    if (name == e.name) return e;
  std::string known;
  for (const auto& e : kModels) known += std::string(known.empty() ? "" : ", ") + e.name;
  LETHE_CHECK(false, "unknown model '" << name << "' (known: " << known << ")");
  return kModels[0];
}

Config file_config(const std::string& stem) {
  const std::string text = config_file_text(stem);
  LETHE_ASSERT(!text.empty(), "models/configs/" << stem << ".yaml was not compiled in");
  return Config::from_yaml_string(text, "models/configs/" + stem + ".yaml");
}

}  // namespace

std::string config_file_text(const std::string& stem) {
  auto it = config_files().find(stem);
  return it == config_files().end() ? std::string() : it->second;
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const auto& e : kModels) out.emplace_back(e.name);
  return out;
}

Config default_config(const std::string& name) {
  find(name);
  Config c = file_config("overall");
  c.merge(file_config(name));
  c.set("model", name);
  return c;
}

std::set<std::string> known_config_keys(const std::string& model) {
  const Config defaults = default_config(model);
  std::set<std::string> keys;
  for (const auto& [k, v] : defaults.raw()) keys.insert(k);
  return keys;
}

void check_config_keys(const std::string& model, const Config& config) {
  const std::set<std::string> known = known_config_keys(model);
  for (const auto& [k, v] : config.raw()) {
    if (known.count(k)) continue;
    // A key of another model is no typo: say whose it is.
    std::string owners;
    for (const auto& other : model_names())
      if (other != model && known_config_keys(other).count(k)) owners += (owners.empty() ? "" : ", ") + other;
    if (owners.empty()) continue;  // reported by check_keys below, with the closest key
    const std::string where = config.origin(k);
    LETHE_CHECK(false, "config: key '" << k << "'" << (where.empty() ? "" : " (" + where + ")")
                                       << " is a key of " << owners << ", not of model " << model);
  }
  config.check_keys(known, "model " + model);
}

Config resolve_config(const std::string& model, const std::string& yaml_file,
                      const std::vector<std::string>& assignments) {
  Config c = default_config(model);
  if (!yaml_file.empty()) {
    const Config file = Config::from_yaml_file(yaml_file);
    check_config_keys(model, file);
    c.merge(file);
  }
  for (const auto& kv : assignments) {
    Config one;
    one.set_from_assignment(kv);
    check_config_keys(model, one);
    c.merge(one);
  }
  if (c.has("model")) {
    const std::string m = c.get_string("model", model);
    LETHE_CHECK(m == model, "config: key 'model' (" << c.origin("model") << ") says '" << m
                                                    << "', but the model is '" << model << "'");
  }
  return c;
}

std::unique_ptr<Model> create_model(const std::string& name, const Config& config, const TrainData& data,
                                    uint64_t seed, Device dev) {
  // Keys the given config lacks (a partial config, or a run written before a key existed) take the defaults.
  Config full = default_config(name);
  full.merge(config);
  const int64_t shards = full.get_int("shards");
  LETHE_CHECK(shards >= 1, "config: shards must be >= 1, got " << shards);
  if (shards > 1) return std::make_unique<ShardedModel>(name, full, data, seed, dev);
  return find(name).make(full, data, seed, dev);
}

}  // namespace lethe::models
