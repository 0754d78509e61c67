// FREEDOM's graph builders (freedom_graphs.h).
#include "models/freedom_graphs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "datasets/graphs.h"
#include "engine/error.h"

namespace lethe::models {

using datasets::Interactions;

Csr freedom_mm_adj(const Tensor& image, const Tensor& text, int64_t k, double image_weight,
                   const std::vector<uint8_t>* active, Device device) {
  LETHE_CHECK(image.rows() == text.rows(),
              "freedom_mm_adj: image has " << image.rows() << " rows, text " << text.rows());
  Csr sv = datasets::knn_graph(image, k, datasets::KnnWeight::Binary, active, 1024, device);
  Csr st = datasets::knn_graph(text, k, datasets::KnnWeight::Binary, active, 1024, device);
  std::vector<int32_t> r, c;
  std::vector<float> v;
  auto append = [&](const Csr& m, double w) {
    auto ip = m.indptr.to_vector<int32_t>(), ix = m.indices.to_vector<int32_t>();
    auto vv = m.values.to_vector<float>();
    for (int64_t i = 0; i < m.rows; ++i)
      for (int32_t p = ip[i]; p < ip[i + 1]; ++p) {
        r.push_back(static_cast<int32_t>(i));
        c.push_back(ix[p]);
        v.push_back(static_cast<float>(w * vv[p]));
      }
  };
  append(sv, image_weight);
  append(st, 1.0 - image_weight);
  return Csr::from_coo(sv.rows, sv.cols, r, c, v);  // overlapping entries are summed
}

Csr freedom_pruned_adj(const datasets::Interactions& train, int32_t n_users, int32_t n_items, double dropout,
                       Rng& rng) {
  for (size_t r = 0; r < train.size(); ++r)
    LETHE_CHECK(
        train.users[r] >= 0 && train.users[r] < n_users && train.items[r] >= 0 && train.items[r] < n_items,
        "freedom_pruned_adj: pair (" << train.users[r] << ", " << train.items[r] << ") outside [0, "
                                     << n_users << ") x [0, " << n_items << ")");
  LETHE_CHECK(dropout >= 0.0 && dropout < 1.0, "freedom_pruned_adj: dropout " << dropout << " not in [0, 1)");
  Interactions e = datasets::unique_pairs(train);
  const size_t E = e.size();
  std::vector<double> du(n_users, 0), di(n_items, 0);
  for (size_t k = 0; k < E; ++k) {
    du[e.users[k]] += 1;
    di[e.items[k]] += 1;
  }
  const auto keep = static_cast<size_t>(std::floor(static_cast<double>(E) * (1.0 - dropout)));
  // Efraimidis-Spirakis: key = ln(u) / w; the `keep` largest keys are a weighted sample w/o replacement.
  std::vector<double> key(E);
  for (size_t k = 0; k < E; ++k) {
    const double w = 1.0 / std::sqrt((du[e.users[k]] + 1e-7) * (di[e.items[k]] + 1e-7));
    const double u = (static_cast<double>(rng.next_u32()) + 0.5) * (1.0 / 4294967296.0);
    key[k] = std::log(u) / w;
  }
  std::vector<size_t> idx(E);
  std::iota(idx.begin(), idx.end(), size_t{0});
  auto cmp = [&](size_t a, size_t b) { return key[a] > key[b] || (key[a] == key[b] && a < b); };
  std::nth_element(idx.begin(), idx.begin() + keep, idx.end(), cmp);
  idx.resize(keep);
  std::sort(idx.begin(), idx.end());
  Interactions kept;
  std::vector<double> ku(n_users, 0), ki(n_items, 0);
  for (size_t k : idx) {
    kept.push(e.users[k], e.items[k]);
    ku[e.users[k]] += 1;
    ki[e.items[k]] += 1;
  }
  std::vector<float> v(kept.size());
  for (size_t k = 0; k < kept.size(); ++k)
    v[k] =
        static_cast<float>(1.0 / std::sqrt(ku[kept.users[k]] + 1e-7) / std::sqrt(ki[kept.items[k]] + 1e-7));
  return datasets::symmetric_from_edges(kept, v, n_users, n_items);
}

}  // namespace lethe::models
