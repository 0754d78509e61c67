// Graph builders (see datasets/graphs.h).
#include "datasets/graphs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/error.h"
#include "engine/ops.h"

namespace lethe::datasets {
namespace {

void check_ids(const Interactions& x, int32_t n_users, int32_t n_items, const char* who) {
  for (size_t r = 0; r < x.size(); ++r)
    LETHE_CHECK(x.users[r] >= 0 && x.users[r] < n_users && x.items[r] >= 0 && x.items[r] < n_items,
                who << ": pair (" << x.users[r] << ", " << x.items[r] << ") outside [0, " << n_users
                    << ") x [0, " << n_items << ")");
}

}  // namespace

Csr symmetric_from_edges(const Interactions& e, const std::vector<float>& v, int32_t n_users,
                         int32_t n_items) {
  const int64_t N = static_cast<int64_t>(n_users) + n_items;
  std::vector<int32_t> r, c;
  std::vector<float> val;
  const size_t nnz = 2 * e.size();
  r.reserve(nnz);
  c.reserve(nnz);
  val.reserve(nnz);
  for (size_t k = 0; k < e.size(); ++k) {
    const int32_t u = e.users[k], i = n_users + e.items[k];
    r.push_back(u);
    c.push_back(i);
    val.push_back(v[k]);
    r.push_back(i);
    c.push_back(u);
    val.push_back(v[k]);
  }
  return Csr::from_coo(N, N, r, c, val);
}

Interactions unique_pairs(const Interactions& x) {
  std::vector<uint64_t> keys(x.size());
  for (size_t r = 0; r < x.size(); ++r)
    keys[r] =
        (static_cast<uint64_t>(static_cast<uint32_t>(x.users[r])) << 32) | static_cast<uint32_t>(x.items[r]);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  Interactions out;
  out.users.reserve(keys.size());
  out.items.reserve(keys.size());
  for (uint64_t k : keys) out.push(static_cast<int32_t>(k >> 32), static_cast<int32_t>(k & 0xFFFFFFFFu));
  return out;
}

Csr bipartite_sym_adj(const Interactions& train, int32_t n_users, int32_t n_items, double eps) {
  check_ids(train, n_users, n_items, "bipartite_sym_adj");
  Interactions e = unique_pairs(train);
  std::vector<double> du(n_users, 0), di(n_items, 0);
  for (size_t k = 0; k < e.size(); ++k) {
    du[e.users[k]] += 1;
    di[e.items[k]] += 1;
  }
  auto inv_sqrt = [eps](double d) { return d + eps > 0 ? 1.0 / std::sqrt(d + eps) : 0.0; };
  std::vector<float> v(e.size());
  for (size_t k = 0; k < e.size(); ++k)
    v[k] = static_cast<float>(inv_sqrt(du[e.users[k]]) * inv_sqrt(di[e.items[k]]));
  return symmetric_from_edges(e, v, n_users, n_items);
}

Csr bipartite_rw_adj(const Interactions& train, int32_t n_users, int32_t n_items) {
  check_ids(train, n_users, n_items, "bipartite_rw_adj");
  Interactions e = unique_pairs(train);
  const int64_t N = static_cast<int64_t>(n_users) + n_items;
  std::vector<double> deg(N, 1.0);  // + I
  for (size_t k = 0; k < e.size(); ++k) {
    deg[e.users[k]] += 1;
    deg[n_users + e.items[k]] += 1;
  }
  // D^-1 (A + I): row n scaled by 1/deg_n, so the two directions of an edge differ; build the COO directly.
  std::vector<int32_t> r, c;
  std::vector<float> val;
  for (size_t k = 0; k < e.size(); ++k) {
    const int32_t u = e.users[k], i = n_users + e.items[k];
    r.push_back(u);
    c.push_back(i);
    val.push_back(static_cast<float>(1.0 / deg[u]));
    r.push_back(i);
    c.push_back(u);
    val.push_back(static_cast<float>(1.0 / deg[i]));
  }
  for (int32_t n = 0; n < N; ++n) {
    r.push_back(n);
    c.push_back(n);
    val.push_back(static_cast<float>(1.0 / deg[n]));
  }
  return Csr::from_coo(N, N, r, c, val);
}

Csr user_item_matrix(const Interactions& train, int32_t n_users, int32_t n_items, bool normalized) {
  check_ids(train, n_users, n_items, "user_item_matrix");
  Interactions e = unique_pairs(train);
  std::vector<double> du(n_users, 0), di(n_items, 0);
  for (size_t k = 0; k < e.size(); ++k) {
    du[e.users[k]] += 1;
    di[e.items[k]] += 1;
  }
  std::vector<float> v(e.size(), 1.0f);
  if (normalized)
    for (size_t k = 0; k < e.size(); ++k)
      v[k] = static_cast<float>(1.0 / std::sqrt(du[e.users[k]]) / std::sqrt(di[e.items[k]]));
  return Csr::from_coo(n_users, n_items, e.users, e.items, v);
}

namespace {

// knn_graph with the neighbour search chosen: on the host (partial sort over each row of a block) or through
// the ops of `device` (GEMM, a -inf mask for inactive items, per-row top-k).
Csr knn_graph_impl(const Tensor& features, int64_t k, KnnWeight weight, const std::vector<uint8_t>* active,
                   int64_t block, Device device, bool through_ops) {
  LETHE_CHECK(features.ndim() == 2 && features.is_cpu(),
              "knn_graph: features must be a 2-D host tensor, got " << features.describe());
  LETHE_CHECK(k > 0 && block > 0,
              "knn_graph: k and block must be positive (k " << k << ", block " << block << ")");
  const int64_t I = features.dim(0), F = features.dim(1);
  LETHE_CHECK(!active || static_cast<int64_t>(active->size()) == I, "knn_graph: active mask has "
                                                                        << (active ? active->size() : 0)
                                                                        << " entries for " << I << " items");
  Tensor x = features.dtype() == DType::F32 ? features.clone() : features.astype(DType::F32);
  float* xp = x.data<float>();
  int64_t n_active = 0;
  for (int64_t i = 0; i < I; ++i) {
    const bool on = !active || (*active)[i];
    n_active += on;
    float* row = xp + i * F;
    double ss = 0;
    for (int64_t f = 0; f < F; ++f) ss += static_cast<double>(row[f]) * row[f];
    const double nrm = std::sqrt(ss);
    const float inv = on && nrm > 0 ? static_cast<float>(1.0 / nrm) : 0.0f;
    for (int64_t f = 0; f < F; ++f) row[f] *= inv;
  }
  const int64_t kk = std::min(k, n_active);
  std::vector<int32_t> nb(static_cast<size_t>(I) * kk, -1);
  std::vector<float> sv(static_cast<size_t>(I) * kk, 0.0f);
  // At most 2^26 similarities (256 MiB of F32) per block, whatever the catalogue.
  const int64_t rows = std::max<int64_t>(1, std::min(block, (int64_t(1) << 26) / std::max<int64_t>(I, 1)));
  if (!through_ops) {
    for (int64_t b0 = 0; b0 < I; b0 += rows) {
      const int64_t b1 = std::min(I, b0 + rows);
      Tensor sim = ops::matmul(x.row_range(b0, b1), x, false, true);  // [b1 - b0, I]
      const float* sp = sim.data<float>();
#pragma omp parallel
      {
        std::vector<int32_t> idx(I);
#pragma omp for schedule(dynamic, 16)
        for (int64_t i = b0; i < b1; ++i) {
          if (active && !(*active)[i]) continue;
          const float* s = sp + (i - b0) * I;
          int64_t n = 0;
          for (int64_t j = 0; j < I; ++j)
            if (!active || (*active)[j]) idx[n++] = static_cast<int32_t>(j);
          auto cmp = [s](int32_t a, int32_t c) { return s[a] > s[c] || (s[a] == s[c] && a < c); };
          std::partial_sort(idx.begin(), idx.begin() + kk, idx.begin() + n, cmp);
          for (int64_t t = 0; t < kk; ++t) {
            nb[i * kk + t] = idx[t];
            sv[i * kk + t] = s[idx[t]];
          }
        }
      }
    }
  } else {
    // Through the device's ops: the same blocks, GEMM and per-row top-k (same order: larger value, then
    // lower index); inactive columns are pushed to -inf so that they are never chosen (kk <= active items).
    // Only the k neighbours per row come back to the host.
    const Tensor xd = x.to(device);
    Tensor mask;
    if (active) {
      std::vector<float> m(static_cast<size_t>(I));
      for (int64_t j = 0; j < I; ++j) m[j] = (*active)[j] ? 0.0f : -std::numeric_limits<float>::infinity();
      mask = Tensor::from_vector(m, Shape{I}, device);
    }
    for (int64_t b0 = 0; b0 < I; b0 += rows) {
      const int64_t b1 = std::min(I, b0 + rows);
      Tensor sim = ops::matmul(xd.row_range(b0, b1), xd, false, true);
      if (active) sim = ops::add_rowvec(sim, mask);
      Tensor vals, idx;
      ops::topk_rows(sim, kk, vals, idx);
      const std::vector<float> hv = vals.to_vector<float>();
      const std::vector<int32_t> hi = idx.to_vector<int32_t>();
      for (int64_t i = b0; i < b1; ++i) {
        if (active && !(*active)[i]) continue;
        std::copy_n(hi.begin() + (i - b0) * kk, kk, nb.begin() + i * kk);
        std::copy_n(hv.begin() + (i - b0) * kk, kk, sv.begin() + i * kk);
      }
    }
  }
  // Row statistics of the kept (directed) matrix, then D^-1/2 S D^-1/2.
  std::vector<double> rs(I, 0.0);
  for (int64_t i = 0; i < I; ++i)
    for (int64_t t = 0; t < kk; ++t)
      if (nb[i * kk + t] >= 0) rs[i] += weight == KnnWeight::Cosine ? sv[i * kk + t] : 1.0;
  std::vector<double> dinv(I);
  for (int64_t i = 0; i < I; ++i) {
    if (weight == KnnWeight::Cosine)
      dinv[i] = rs[i] > 0 ? 1.0 / std::sqrt(rs[i]) : 0.0;
    else
      dinv[i] = 1.0 / std::sqrt(rs[i] + 1e-7);
  }
  std::vector<int32_t> r, c;
  std::vector<float> v;
  r.reserve(nb.size());
  c.reserve(nb.size());
  v.reserve(nb.size());
  for (int64_t i = 0; i < I; ++i)
    for (int64_t t = 0; t < kk; ++t) {
      const int32_t j = nb[i * kk + t];
      if (j < 0) continue;
      const double base = weight == KnnWeight::Cosine ? sv[i * kk + t] : 1.0;
      r.push_back(static_cast<int32_t>(i));
      c.push_back(j);
      v.push_back(static_cast<float>(base * dinv[i] * dinv[j]));
    }
  return Csr::from_coo(I, I, r, c, v);
}

}  // namespace

Csr knn_graph(const Tensor& features, int64_t k, KnnWeight weight, const std::vector<uint8_t>* active,
              int64_t block, Device device) {
  return knn_graph_impl(features, k, weight, active, block, device, !device.is_cpu());
}

namespace detail {
Csr knn_graph_through_ops(const Tensor& features, int64_t k, KnnWeight weight,
                          const std::vector<uint8_t>* active, int64_t block, Device device) {
  return knn_graph_impl(features, k, weight, active, block, device, true);
}
}  // namespace detail

}  // namespace lethe::datasets
