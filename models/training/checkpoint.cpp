// safetensors reading / writing and model checkpoints (see checkpoint.h).
#include "models/training/checkpoint.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/device.h"

namespace lethe::models {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

constexpr const char* kFormat = "lethe-checkpoint";
constexpr const char* kVersion = "1";

const char* st_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
  }
  return "?";
}

bool parse_st_dtype(const std::string& s, DType& t) {
  if (s == "F32") t = DType::F32;
  else if (s == "F64") t = DType::F64;
  else if (s == "I32") t = DType::I32;
  else if (s == "I64") t = DType::I64;
  else return false;
  return true;
}

std::string read_header_text(std::ifstream& in, const std::string& path, uint64_t file_size) {
  LETHE_CHECK(file_size >= 8, path << ": not a safetensors file (only " << file_size << " bytes)");
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  LETHE_CHECK(in.good(), path << ": cannot read the safetensors header length");
  LETHE_CHECK(n <= file_size - 8 && n <= (uint64_t(100) << 20),
              path << ": safetensors header length " << n << " does not fit the file of " << file_size
                   << " bytes (corrupt or not a safetensors file)");
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  LETHE_CHECK(in.good(), path << ": truncated safetensors header");
  return text;
}

nlohmann::json parse_header(const std::string& text, const std::string& path) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    LETHE_CHECK(j.is_object(), path << ": safetensors header is not a JSON object");
    return j;
  } catch (const nlohmann::json::exception& e) {
    LETHE_CHECK(false, path << ": safetensors header is not valid JSON: " << e.what());
  }
  return {};
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& j, const std::string& path) {
  std::map<std::string, std::string> md;
  auto it = j.find("__metadata__");
  if (it == j.end()) return md;
  LETHE_CHECK(it->is_object(), path << ": __metadata__ must be an object of strings");
  for (auto& [k, v] : it->items()) {
    LETHE_CHECK(v.is_string(), path << ": __metadata__." << k << " is not a string");
    md[k] = v.get<std::string>();
  }
  return md;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    LETHE_CHECK(out.good(), path << ": cannot open " << tmp << " for writing");
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    LETHE_CHECK(out.good(), path << ": write failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  LETHE_CHECK(!ec, path << ": cannot rename " << tmp << " into place: " << ec.message());
}

const Tensor* SafeTensors::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    LETHE_CHECK(!name.empty() && name != "__metadata__", path << ": invalid tensor name '" << name << "'");
    LETHE_CHECK(names.insert(name).second, path << ": duplicate tensor name '" << name << "'");
    LETHE_CHECK(t.defined(), path << ": tensor '" << name << "' is undefined");
    nlohmann::json e;
    e["dtype"] = st_dtype(t.dtype());
    e["shape"] = t.shape();
    e["data_offsets"] = {offset, offset + t.nbytes()};
    header[name] = e;
    offset += t.nbytes();
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string htext = header.dump();
  while (htext.size() % 8 != 0) htext.push_back(' ');  // the format allows trailing spaces for alignment
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    LETHE_CHECK(out.good(), path << ": cannot open " << tmp << " for writing");
    const uint64_t n = htext.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(htext.data(), static_cast<std::streamsize>(htext.size()));
    for (const auto& [name, t] : tensors) {
      const Tensor host = t.is_cpu() ? t : t.to(Device::cpu());
      out.write(static_cast<const char*>(host.raw()), static_cast<std::streamsize>(host.nbytes()));
    }
    out.flush();
    LETHE_CHECK(out.good(), path << ": write failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  LETHE_CHECK(!ec, path << ": cannot rename " << tmp << " into place: " << ec.message());
}

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LETHE_CHECK(in.good(), path << ": cannot open checkpoint");
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  LETHE_CHECK(!ec, path << ": cannot stat: " << ec.message());
  return parse_metadata(parse_header(read_header_text(in, path, size), path), path);
}

SafeTensors read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LETHE_CHECK(in.good(), path << ": cannot open checkpoint");
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  LETHE_CHECK(!ec, path << ": cannot stat: " << ec.message());
  const std::string htext = read_header_text(in, path, size);
  const nlohmann::json j = parse_header(htext, path);
  const uint64_t data_begin = 8 + htext.size(), data_size = size - data_begin;
  SafeTensors st;
  st.metadata = parse_metadata(j, path);
  struct Entry { std::string name; DType dtype; Shape shape; uint64_t b, e; };
  std::vector<Entry> entries;
  for (auto& [name, e] : j.items()) {
    if (name == "__metadata__") continue;
    try {
      Entry x{name, DType::F32, {}, 0, 0};
      const std::string dt = e.at("dtype").get<std::string>();
      LETHE_CHECK(parse_st_dtype(dt, x.dtype),
                  path << ": tensor '" << name << "' has dtype " << dt << " (supported: F32, F64, I32, I64)");
      x.shape = e.at("shape").get<Shape>();
      for (int64_t d : x.shape) LETHE_CHECK(d >= 0, path << ": tensor '" << name << "' has a negative dimension");
      const auto off = e.at("data_offsets").get<std::vector<uint64_t>>();
      LETHE_CHECK(off.size() == 2 && off[0] <= off[1] && off[1] <= data_size,
                  path << ": tensor '" << name << "' data_offsets outside the " << data_size << "-byte data");
      x.b = off[0];
      x.e = off[1];
      LETHE_CHECK(x.e - x.b == static_cast<uint64_t>(shape_numel(x.shape)) * dtype_size(x.dtype),
                  path << ": tensor '" << name << "' has " << (x.e - x.b) << " bytes for shape "
                       << shape_str(x.shape) << " " << dt);
      entries.push_back(std::move(x));
    } catch (const nlohmann::json::exception& ex) {
      LETHE_CHECK(false, path << ": malformed header entry for tensor '" << name << "': " << ex.what());
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.b < b.b; });
  for (auto& x : entries) {
    Tensor t = Tensor::empty(x.shape, x.dtype, Device::cpu());
    in.seekg(static_cast<std::streamoff>(data_begin + x.b));
    if (x.e > x.b) in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(x.e - x.b));
    LETHE_CHECK(in.good(), path << ": truncated data for tensor '" << x.name << "'");
    st.tensors.emplace_back(x.name, std::move(t));
  }
  return st;
}

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

void save_checkpoint(const std::string& path, Model& model, const CheckpointInfo& info, const ag::Adam* opt,
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
    auto& o = const_cast<ag::Adam&>(*opt);  // m()/v() have no const overloads; nothing is modified
    LETHE_CHECK(o.m().size() == params.size() || o.m().empty(),
                path << ": optimizer holds " << o.m().size() << " moments for " << params.size() << " parameters");
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
  write_safetensors(path, tensors, md);
}

CheckpointInfo load_checkpoint(const std::string& path, Model& model, ag::Adam* opt, const LoadOptions& lo,
                               SafeTensors* raw) {
  SafeTensors st = read_safetensors(path);
  auto get = [&](const char* k) {
    auto it = st.metadata.find(k);
    return it == st.metadata.end() ? std::string() : it->second;
  };
  LETHE_CHECK(get("format") == kFormat,
              path << ": not a Lethe checkpoint (metadata format = '" << get("format") << "', expected '" << kFormat
                   << "')");
  CheckpointInfo info;
  info.model = get("model");
  info.config_yaml = get("config");
  info.fingerprint = get("fingerprint");
  info.epoch = get("epoch").empty() ? -1 : std::stoll(get("epoch"));
  for (const auto& [k, v] : st.metadata)
    if (k != "format" && k != "format_version" && k != "model" && k != "config" && k != "fingerprint" &&
        k != "epoch")
      info.extra[k] = v;
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
      if (m[i].defined() && m[i].shape() == tm->shape()) m[i].copy_from(*tm); else m[i] = tm->to(dev);
      if (vv[i].defined() && vv[i].shape() == tv->shape()) vv[i].copy_from(*tv); else vv[i] = tv->to(dev);
    }
    opt->set_steps(std::stoll(st.metadata.at("adam_steps")));
    if (st.metadata.count("adam_lr")) opt->set_lr(std::stod(st.metadata.at("adam_lr")));
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

}  // namespace lethe::models
