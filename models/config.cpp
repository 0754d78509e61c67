// Config: a flat key -> YAML-text map (models/config.h). Values are parsed on every read, so a value set
// from the command line ("0.1", "[1.0, 50]") and one read from a file behave the same. A one-element list
// (MMRec's hyper-parameter style, `reg_weight: [1e-4]`) reads as its element; longer lists are grids and
// must be narrowed to one value before a scalar read.
#include "models/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "engine/device.h"
#include "engine/error.h"

namespace lethe::models {

namespace {

// YAML text of a node, sequences and maps in flow style ("[1.0, 50]") so that they fit on one line.
std::string emit(const YAML::Node& n) {
  YAML::Emitter out;
  out << YAML::Flow << n;
  return out.c_str();
}

// Parses the stored text of `key`; errors name the key.
YAML::Node parse_value(const std::string& key, const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    LETHE_CHECK(false, "config: key '" << key << "': cannot parse value '" << text << "': " << e.msg);
  }
  return {};
}

// The scalar behind `key`: the value itself or the only element of a one-element list.
YAML::Node scalar_node(const std::string& key, const std::string& text) {
  YAML::Node n = parse_value(key, text);
  if (n.IsSequence()) {
    LETHE_CHECK(n.size() == 1, "config: key '" << key << "' is a list of " << n.size()
                                               << " values (a grid); set a single value, e.g. " << key
                                               << "=...");
    n = n[0];
  }
  LETHE_CHECK(n.IsScalar(), "config: key '" << key << "' must be a scalar, got '" << text << "'");
  return n;
}

template <class T>
T as(const std::string& key, const std::string& text, const char* what) {
  YAML::Node n = scalar_node(key, text);
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    LETHE_CHECK(false, "config: key '" << key << "' must be " << what << ", got '" << text << "'");
  }
  return T{};
}

}  // namespace

namespace {

// Builds a Config from a parsed document; `source` (a file name, or "" for text) goes into the origins.
Config config_from_node(const YAML::Node& root, const std::string& where, const std::string& source) {
  Config c;
  if (root.IsNull()) return c;  // empty document
  LETHE_CHECK(root.IsMap(), where << ": top level must be a mapping of key: value");
  for (const auto& kv : root) {
    std::string key;
    const int64_t line = kv.first.Mark().line + 1;
    try {
      key = kv.first.as<std::string>();
    } catch (const YAML::Exception&) {
      LETHE_CHECK(false, where << ", line " << line << ": a key is not a string");
    }
    LETHE_CHECK(!kv.second.IsMap(),
                where << ", line " << line << ": key '" << key << "': nested mappings are not supported");
    c.set(key, emit(kv.second));
    c.set_origin(key, source.empty() ? std::string() : source + ", line " + std::to_string(line), line);
  }
  return c;
}

// Levenshtein distance (typo suggestions).
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string closest_key(const std::string& key, const std::set<std::string>& known) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& k : known) {
    const size_t d = edit_distance(key, k);
    if (d < best_d) best_d = d, best = k;
  }
  // A likely typo: a few edits, relative to the key's length.
  const size_t limit = std::max<size_t>(2, key.size() / 3);
  return best_d <= limit ? best : std::string();
}

Config Config::from_yaml_file(const std::string& path) {
  std::ifstream in(path);
  LETHE_CHECK(in.good(), "config: cannot open '" << path << "'");
  std::stringstream ss;
  ss << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(ss.str());
  } catch (const YAML::Exception& e) {
    LETHE_CHECK(false, "config '" << path << "': line " << e.mark.line + 1 << ": " << e.msg);
  }
  try {
    return config_from_node(root, "config '" + path + "'", path);
  } catch (const Error& e) {
    // Values that fail to parse name the key; add the file.
    const std::string m = e.what();
    if (m.find(path) != std::string::npos) throw;
    throw Error("config '" + path + "': " + m);
  }
}

Config Config::from_yaml_string(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    LETHE_CHECK(false, (source.empty() ? std::string("config") : "config '" + source + "'")
                           << ": line " << e.mark.line + 1 << ": " << e.msg);
  }
  return config_from_node(root, source.empty() ? std::string("config") : "config '" + source + "'", source);
}

void Config::set_origin(const std::string& key, const std::string& origin, int64_t line) {
  origin_[key] = origin;
  order_[key] = line;
}

void Config::set(const std::string& key, const std::string& value) {
  LETHE_CHECK(!key.empty(), "config: empty key");
  YAML::Node n = parse_value(key, value);
  LETHE_CHECK(!n.IsMap(), "config: key '" << key << "': nested mappings are not supported");
  values_[key] = n.IsNull() ? std::string("~") : emit(n);
  origin_.erase(key);
  order_.erase(key);
}

void Config::set_from_assignment(const std::string& kv) {
  const auto eq = kv.find('=');
  LETHE_CHECK(eq != std::string::npos, "config: expected key=value, got '" << kv << "'");
  std::string key = kv.substr(0, eq);
  while (!key.empty() && key.back() == ' ') key.pop_back();
  while (!key.empty() && key.front() == ' ') key.erase(key.begin());
  LETHE_CHECK(!key.empty(), "config: empty key in '" << kv << "'");
  set(key, kv.substr(eq + 1));
  set_origin(key, "assignment '" + kv + "'", 0);
}

bool Config::has(const std::string& key) const { return values_.count(key) != 0; }

double Config::get_double(const std::string& key, double def) const {
  auto it = values_.find(key);
  return it == values_.end() ? def : as<double>(key, it->second, "a number");
}

int64_t Config::get_int(const std::string& key, int64_t def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  // Accept "1e3"-style integers but not fractions, and nothing outside int64 (the cast would be undefined).
  const double d = as<double>(key, it->second, "an integer");
  LETHE_CHECK(
      std::isfinite(d) && d >= -9.2e18 && d <= 9.2e18,
      "config: key '" << key << "' must be an integer of at most 18 digits, got '" << it->second << "'");
  const auto i = static_cast<int64_t>(d);
  LETHE_CHECK(static_cast<double>(i) == d,
              "config: key '" << key << "' must be an integer, got '" << it->second << "'");
  return i;
}

bool Config::get_bool(const std::string& key, bool def) const {
  auto it = values_.find(key);
  return it == values_.end() ? def : as<bool>(key, it->second, "true or false");
}

std::string Config::get_string(const std::string& key, const std::string& def) const {
  auto it = values_.find(key);
  return it == values_.end() ? def : as<std::string>(key, it->second, "a string");
}

std::vector<double> Config::get_doubles(const std::string& key, const std::vector<double>& def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  YAML::Node n = parse_value(key, it->second);
  std::vector<double> out;
  try {
    if (n.IsSequence()) {
      for (const auto& e : n) out.push_back(e.as<double>());
    } else if (n.IsScalar()) {
      out.push_back(n.as<double>());
    } else {
      LETHE_CHECK(false, "config: key '" << key << "' must be a number or a list of numbers, got '"
                                         << it->second << "'");
    }
  } catch (const YAML::Exception&) {
    LETHE_CHECK(false, "config: key '" << key << "' must be a number or a list of numbers, got '"
                                       << it->second << "'");
  }
  return out;
}

std::string Config::to_yaml() const {
  std::string s;
  for (const auto& [k, v] : values_) s += k + ": " + v + "\n";
  return s;
}

double Config::get_double(const std::string& key) const {
  LETHE_CHECK(has(key), "config: key '" << key << "' is missing (defaults: models/configs/*.yaml)");
  return get_double(key, 0.0);
}

int64_t Config::get_int(const std::string& key) const {
  LETHE_CHECK(has(key), "config: key '" << key << "' is missing (defaults: models/configs/*.yaml)");
  return get_int(key, 0);
}

std::string Config::get_string(const std::string& key) const {
  LETHE_CHECK(has(key), "config: key '" << key << "' is missing (defaults: models/configs/*.yaml)");
  return get_string(key, "");
}

std::string Config::origin(const std::string& key) const {
  auto it = origin_.find(key);
  return it == origin_.end() ? std::string() : it->second;
}

void Config::merge(const Config& over) {
  for (const auto& [k, v] : over.values_) {
    values_[k] = v;
    origin_.erase(k);
    order_.erase(k);
  }
  for (const auto& [k, o] : over.origin_) origin_[k] = o;
  for (const auto& [k, l] : over.order_) order_[k] = l;
}

void Config::check_keys(const std::set<std::string>& known, const std::string& what) const {
  // Report the unknown key that comes first in its file (then by name), so the message points at one line.
  const std::string* first = nullptr;
  for (const auto& [k, v] : values_) {
    if (known.count(k)) continue;
    auto line = [&](const std::string& key) {
      auto it = order_.find(key);
      return it == order_.end() ? int64_t(0) : it->second;
    };
    if (!first || line(k) < line(*first)) first = &k;
  }
  if (!first) return;
  const std::string& k = *first;
  const std::string where = origin(k), near = closest_key(k, known);
  LETHE_CHECK(false, "config: unknown key '"
                         << k << "'" << (where.empty() ? "" : " (" + where + ")") << " for " << what
                         << (near.empty() ? std::string("; see models/configs/*.yaml for the keys")
                                          : "; did you mean '" + near + "'?"));
}

std::vector<std::string> Config::differing_keys(const Config& a, const Config& b) {
  // Numbers compare by value ("0.001" and "1e-3" are the same setting), everything else by text.
  auto same = [&](const std::string& k, const std::string& x, const std::string& y) {
    if (x == y) return true;
    try {
      return a.get_doubles(k, {}) == b.get_doubles(k, {});
    } catch (const Error&) {
      return false;
    }
  };
  std::vector<std::string> out;
  for (const auto& [k, v] : a.values_) {
    auto it = b.values_.find(k);
    if (it == b.values_.end() || !same(k, v, it->second)) out.push_back(k);
  }
  for (const auto& [k, v] : b.values_)
    if (!a.values_.count(k)) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace lethe::models
