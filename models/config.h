// Model / training configuration: a flat map of MMRec-style keys (embedding_size, n_ui_layers, knn_k,
// reg_weight, learning_rate, learning_rate_scheduler, ...). Loaded from YAML, overridden by `--set k=v`.
// Values are kept as YAML scalars or sequences so that lists (learning_rate_scheduler: [1.0, 50]) survive.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace lethe::models {

class Config {
 public:
  Config() = default;
  static Config from_yaml_file(const std::string& path);  // errors name the file and key
  static Config from_yaml_string(const std::string& text);
  void set(const std::string& key, const std::string& value);  // value is parsed as YAML ("0.1", "[1.0, 50]")
  void set_from_assignment(const std::string& kv);            // "key=value"
  bool has(const std::string& key) const;
  double get_double(const std::string& key, double def) const;
  int64_t get_int(const std::string& key, int64_t def) const;
  bool get_bool(const std::string& key, bool def) const;
  std::string get_string(const std::string& key, const std::string& def) const;
  std::vector<double> get_doubles(const std::string& key, const std::vector<double>& def) const;
  std::string to_yaml() const;  // stable order (sorted keys)
  const std::map<std::string, std::string>& raw() const { return values_; }
  // Merges: keys of `over` replace ours.
  void merge(const Config& over);

 private:
  std::map<std::string, std::string> values_;  // key -> YAML text of the value
};

}  // namespace lethe::models
