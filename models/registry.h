// The model registry's configuration side (models/registry.cpp): the defaults compiled from
// models/configs/*.yaml (overall.yaml merged with the model's file), the keys each model accepts, and the
// strict assembly of a configuration from defaults, a YAML file and "key=value" assignments.
// create_model / model_names / default_config are declared in models/model.h.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "models/config.h"

namespace lethe::models {

// The text of a shipped configuration file, by stem ("overall", "bpr", ...); empty when there is none.
std::string config_file_text(const std::string& stem);
// The keys a model's configuration may hold: overall.yaml's, the model's file's, and "model".
std::set<std::string> known_config_keys(const std::string& model);
// Fails with a message naming the key, where it was set and the closest known key when `config` holds a
// key that `model` does not know (keys of another model are named as such).
void check_config_keys(const std::string& model, const Config& config);
// Defaults of `model`, then the YAML file `yaml_file` (if not empty), then each "key=value" of
// `assignments`, checked with check_config_keys.
Config resolve_config(const std::string& model, const std::string& yaml_file,
                      const std::vector<std::string>& assignments);

}  // namespace lethe::models
