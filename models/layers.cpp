// Implementations of models/layers.h.
#include "models/layers.h"

#include <cmath>
#include <cstring>
#include <map>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/ops.h"

namespace lethe::models {

namespace {
Tensor from_host(const std::vector<double>& v, const Shape& shape, DType dtype, Device dev) {
  Tensor t = Tensor::from_vector(v, shape);
  if (dtype != DType::F64) t = t.astype(dtype);
  return dev.is_cpu() ? t : t.to(dev);
}
}  // namespace

Tensor uniform_tensor(const Shape& shape, double bound, Rng& rng, DType dtype, Device dev) {
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = (2.0 * rng.uniform() - 1.0) * bound;
  return from_host(v, shape, dtype, dev);
}

Tensor xavier_uniform_rows(int64_t n, int64_t fan_rows, int64_t cols, Rng& rng, DType dtype, Device dev) {
  return uniform_tensor({n, cols}, std::sqrt(6.0 / static_cast<double>(fan_rows + cols)), rng, dtype, dev);
}

Tensor xavier_normal_rows(int64_t n, int64_t fan_rows, int64_t cols, Rng& rng, DType dtype, Device dev) {
  const double std = std::sqrt(2.0 / static_cast<double>(fan_rows + cols));
  std::vector<double> v(static_cast<size_t>(n * cols));
  for (auto& x : v) x = rng.normal() * std;
  return from_host(v, {n, cols}, dtype, dev);
}

Tensor xavier_uniform(int64_t rows, int64_t cols, Rng& rng, DType dtype, Device dev) {
  return xavier_uniform_rows(rows, rows, cols, rng, dtype, dev);
}

Tensor xavier_normal(int64_t rows, int64_t cols, Rng& rng, DType dtype, Device dev) {
  return xavier_normal_rows(rows, rows, cols, rng, dtype, dev);
}

Tensor fresh_id_rows(Model& model, const std::string& table, int64_t n, Rng& rng) {
  const Tensor& t = parameter(model, table).value();
  return model.id_init() == Model::IdInit::XavierNormal
             ? xavier_normal_rows(n, t.rows(), t.cols(), rng, t.dtype(), t.device())
             : xavier_uniform_rows(n, t.rows(), t.cols(), rng, t.dtype(), t.device());
}

void set_rows(Tensor& dst, const std::vector<int32_t>& rows, const Tensor& src) {
  const Tensor idx = Tensor::from_vector(rows, Shape{static_cast<int64_t>(rows.size())}, dst.device());
  ops::scatter_add_rows(dst, idx, ops::scale(ops::gather_rows(dst, idx), -1.0));
  ops::scatter_add_rows(dst, idx, src.astype(dst.dtype()).to(dst.device()));
}

Linear linear_default(int64_t in, int64_t out, bool bias, Rng& rng, DType dtype, Device dev) {
  LETHE_CHECK(in > 0 && out > 0, "linear: in and out must be > 0, got " << in << ", " << out);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  Linear l;
  l.w = autograd::param(uniform_tensor({out, in}, bound, rng, dtype, dev));
  if (bias) l.b = autograd::param(uniform_tensor({out}, bound, rng, dtype, dev));
  return l;
}

autograd::Var ParamList::add(const std::string& name, Tensor value) {
  autograd::Var v = autograd::param(std::move(value), name);
  items_.emplace_back(name, v);
  return v;
}

void ParamList::add_linear(const std::string& name, const Linear& l) {
  l.w.node()->name = name + ".weight";
  items_.emplace_back(name + ".weight", l.w);
  if (l.b.defined()) {
    l.b.node()->name = name + ".bias";
    items_.emplace_back(name + ".bias", l.b);
  }
}

int64_t ParamList::count() const {
  int64_t n = 0;
  for (const auto& [name, v] : items_) n += v.value().numel();
  return n;
}

autograd::Var lightgcn_propagate(const Csr& adj, const autograd::Var& ego, int64_t n_layers) {
  LETHE_CHECK(n_layers >= 0, "lightgcn: n_layers must be >= 0, got " << n_layers);
  LETHE_CHECK(
      adj.rows == ego.rows() && adj.cols == ego.rows(),
      "lightgcn: adjacency " << adj.rows << "x" << adj.cols << " does not match " << ego.rows() << " nodes");
  if (n_layers == 0) return ego;
  std::vector<autograd::Var> layers{ego};
  for (int64_t l = 0; l < n_layers; ++l) layers.push_back(autograd::spmm(adj, layers.back()));
  return autograd::mean_of(layers);
}

DType model_dtype(const Config& c) {
  const std::string s = c.get_string("dtype");
  if (s == "f32") return DType::F32;
  if (s == "f64") return DType::F64;
  LETHE_CHECK(false, "config: key 'dtype' must be f32 or f64, got '" << s << "'");
  return DType::F32;
}

// The two-modality models (VBPR, FREEDOM, MGCN) have an "image" slot and a "text" slot. A data set without a
// "text" table but with exactly one other non-image modality (TikTok: image + audio) fills the text slot
// with it, as MMRec's models use whatever second modality a data set carries; the parameter keeps the name
// text_embedding.
static std::map<std::string, Tensor>::const_iterator find_modality(const TrainData& data,
                                                                   const std::string& modality) {
  auto it = data.features.find(modality);
  if (it != data.features.end() || modality != "text") return it;
  auto other = data.features.end();
  int n_other = 0;
  for (auto i = data.features.begin(); i != data.features.end(); ++i)
    if (i->first != "image") other = i, ++n_other;
  return n_other == 1 ? other : data.features.end();
}

std::string slot_modality(const TrainData& data, const std::string& slot) {
  const auto it = find_modality(data, slot);
  return it == data.features.end() ? std::string() : it->first;
}

const Tensor& raw_feature(const TrainData& data, const std::string& modality) {
  auto it = find_modality(data, modality);
  LETHE_CHECK(it != data.features.end(), "model data: feature table '" << modality << "' is missing");
  const Tensor& t = it->second;
  LETHE_CHECK(t.ndim() == 2 && t.rows() == data.n_items,
              "model data: feature table '" << modality << "' must be [n_items=" << data.n_items
                                            << ", width], got " << shape_str(t.shape()));
  return t;
}

Tensor feature_table(const TrainData& data, const std::string& modality, DType dtype, Device dev) {
  const Tensor& t = raw_feature(data, modality);
  // Always a fresh copy: trainable tables are updated in place and must not alias the caller's features.
  return t.dtype() == dtype ? t.to(dev) : t.astype(dtype).to(dev);
}

Tensor index_tensor(const std::vector<int32_t>& v, Device dev) {
  Tensor t = Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())});
  return dev.is_cpu() ? t : t.to(dev);
}

void check_train_data(const TrainData& data, const std::string& model) {
  LETHE_CHECK(data.n_users > 0 && data.n_items > 0,
              model << ": n_users and n_items must be > 0, got " << data.n_users << ", " << data.n_items);
  LETHE_CHECK(data.train.users.size() == data.train.items.size(),
              model << ": train users/items lengths differ");
  LETHE_CHECK(data.item_dropped.empty() || static_cast<int32_t>(data.item_dropped.size()) == data.n_items,
              model << ": item_dropped has " << data.item_dropped.size() << " flags for " << data.n_items
                    << " items");
  for (size_t k = 0; k < data.train.size(); ++k) {
    const int32_t u = data.train.users[k], i = data.train.items[k];
    LETHE_CHECK(u >= 0 && u < data.n_users,
                model << ": train user id " << u << " out of range [0, " << data.n_users << ")");
    LETHE_CHECK(i >= 0 && i < data.n_items,
                model << ": train item id " << i << " out of range [0, " << data.n_items << ")");
  }
}

std::vector<uint8_t> active_items(const TrainData& data) {
  std::vector<uint8_t> a(static_cast<size_t>(data.n_items), 1);
  for (size_t i = 0; i < data.item_dropped.size(); ++i) a[i] = data.item_dropped[i] ? 0 : 1;
  return a;
}

uint64_t item_graph_key(const std::vector<const Tensor*>& features, const std::vector<uint8_t>& active,
                        uint64_t salt) {
  // FNV-1a over 64-bit words (and the tail bytes), then the shapes and flags.
  uint64_t h = 1469598103934665603ull ^ salt;
  auto mix = [&h](uint64_t w) { h = (h ^ w) * 1099511628211ull; };
  for (const Tensor* f : features) {
    const Tensor t = f->is_cpu() ? *f : f->to(Device::cpu());
    for (int64_t d : t.shape()) mix(static_cast<uint64_t>(d));
    mix(static_cast<uint64_t>(t.dtype()));
    const auto* bytes = static_cast<const unsigned char*>(t.raw());
    const size_t n = t.nbytes(), words = n / 8;
    for (size_t w = 0; w < words; ++w) {
      uint64_t x;
      std::memcpy(&x, bytes + 8 * w, 8);
      mix(x);
    }
    for (size_t b = 8 * words; b < n; ++b) mix(bytes[b]);
  }
  for (uint8_t a : active) mix(a);
  mix(active.size());
  return h;
}

int64_t config_positive_int(const Config& c, const std::string& key) {
  const int64_t v = c.get_int(key);
  LETHE_CHECK(v > 0, "config: key '" << key << "' must be > 0, got " << v);
  return v;
}

int64_t config_nonneg_int(const Config& c, const std::string& key) {
  const int64_t v = c.get_int(key);
  LETHE_CHECK(v >= 0, "config: key '" << key << "' must be >= 0, got " << v);
  return v;
}

double config_in_range(const Config& c, const std::string& key, double lo, double hi) {
  const double v = c.get_double(key);
  LETHE_CHECK(v >= lo && v <= hi,
              "config: key '" << key << "' must be in [" << lo << ", " << hi << "], got " << v);
  return v;
}

}  // namespace lethe::models
