// Model / training configuration: a flat map of MMRec-style keys (embedding_size, n_ui_layers, knn_k,
// reg_weight, learning_rate, learning_rate_scheduler, ...). Loaded from YAML, overridden by "key=value"
// assignments. Values are kept as YAML scalars or sequences so that lists (learning_rate_scheduler:
// [1.0, 50]) survive. Each key remembers where it was set (file and line, or the assignment), so that a
// strict check (check_keys) can name the place of an unknown key.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace lethe::models {

class Config {
 public:
  Config() = default;
  static Config from_yaml_file(const std::string& path);  // errors name the file and key
  // `source` names the text in messages and origins ("models/configs/bpr.yaml"); empty: "config".
  static Config from_yaml_string(const std::string& text, const std::string& source = "");
  void set(const std::string& key, const std::string& value);  // value is parsed as YAML ("0.1", "[1.0, 50]")
  void set_from_assignment(const std::string& kv);             // "key=value"
  bool has(const std::string& key) const;
  double get_double(const std::string& key, double def) const;
  int64_t get_int(const std::string& key, int64_t def) const;
  bool get_bool(const std::string& key, bool def) const;
  std::string get_string(const std::string& key, const std::string& def) const;
  std::vector<double> get_doubles(const std::string& key, const std::vector<double>& def) const;
  // Required keys: a missing key is an error naming it (the defaults come from models/configs/*.yaml).
  double get_double(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::string to_yaml() const;  // stable order (sorted keys)
  const std::map<std::string, std::string>& raw() const { return values_; }
  // Where `key` was set: "FILE, line N", "assignment 'k=v'", or "" (set in code).
  std::string origin(const std::string& key) const;
  void set_origin(const std::string& key, const std::string& origin, int64_t line = 0);
  // Merges: keys of `over` replace ours (with their origins).
  void merge(const Config& over);
  // Strict check: every key must be in `known`. The first unknown key (in file order) is an error naming
  // the key, where it was set and the closest known key; `what` says whose keys these are ("model bpr").
  void check_keys(const std::set<std::string>& known, const std::string& what) const;
  // Keys whose values differ between the two configs (or that only one has), sorted.
  static std::vector<std::string> differing_keys(const Config& a, const Config& b);

 private:
  std::map<std::string, std::string> values_;  // key -> YAML text of the value
  std::map<std::string, std::string> origin_;  // key -> where it was set
  std::map<std::string, int64_t> order_;       // key -> line in its file (0 when not from a file)
};

// The known key closest to `key` by edit distance, or "" when none is close enough to be a likely typo.
std::string closest_key(const std::string& key, const std::set<std::string>& known);

}  // namespace lethe::models
