// CPU engine kernel benchmarks on Baby-shaped work (Google Benchmark): the projection and scoring GEMMs,
// SpMM over the normalised user-item graph (both orientations), row gather / scatter-add for a batch, and
// a dense Adam step over the ~33.6M fine-tuned parameters; MGCN's contrastive logits (GEMM, row log-sum-exp,
// softmax) and elementwise transcendentals over all nodes. A 256 MiB memcpy runs first as the bandwidth
// yardstick. Each case reports a rate (GFLOP/s or GB/s) and its napkin floor: the compulsory bytes moved
// (MB) and, for memory-bound cases, floor_ms = those bytes at the memcpy bandwidth measured in this run.
// Times are wall-clock (UseRealTime): the kernels run on OpenMP / OpenBLAS threads.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <unordered_set>
#include <vector>

#include "engine/ops.h"
#include "engine/sparse.h"
#include "engine/tensor.h"

namespace {

using lethe::Csr;
using lethe::DType;
using lethe::Tensor;
namespace ops = lethe::ops;

constexpr int64_t kUsers = 19445, kItems = 7050, kNodes = kUsers + kItems, kDim = 64;
constexpr int64_t kInteractions = 118000;  // training interactions (each gives two adjacency entries)

double g_copy_gbps = 0.0;  // memcpy bandwidth, read + write bytes, GB/s (measure_copy_bandwidth)

Tensor randn(const lethe::Shape& shape, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(lethe::shape_numel(shape)));
  for (auto& x : v) x = d(gen);
  return Tensor::from_vector(v, shape);
}

// D^-1/2 A D^-1/2 of the bipartite user-item graph, with power-law-ish user and item degrees.
const Csr& baby_adjacency() {
  static const Csr adj = [] {
    std::mt19937_64 gen(42);
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    std::vector<int32_t> item_perm(kItems), user_perm(kUsers);
    for (int32_t i = 0; i < kItems; ++i) item_perm[i] = i;
    for (int32_t i = 0; i < kUsers; ++i) user_perm[i] = i;
    std::shuffle(item_perm.begin(), item_perm.end(), gen);
    std::shuffle(user_perm.begin(), user_perm.end(), gen);
    std::unordered_set<int64_t> seen;
    std::vector<int32_t> r, c;
    std::vector<float> v;
    while (static_cast<int64_t>(seen.size()) < kInteractions) {
      const int32_t u = user_perm[static_cast<int64_t>(kUsers * std::pow(u01(gen), 1.5))];
      const int32_t i = item_perm[static_cast<int64_t>(kItems * std::pow(u01(gen), 2.5))];
      if (!seen.insert(static_cast<int64_t>(u) * kItems + i).second) continue;
      r.push_back(u), c.push_back(static_cast<int32_t>(kUsers + i)), v.push_back(1.f);
      r.push_back(static_cast<int32_t>(kUsers + i)), c.push_back(u), v.push_back(1.f);
    }
    Csr a = Csr::from_coo(kNodes, kNodes, r, c, v);
    std::vector<float> deg = a.row_sums().to_vector<float>();
    for (auto& d : deg) d = d > 0 ? 1.f / std::sqrt(d) : 0.f;
    Tensor s = Tensor::from_vector(deg, {kNodes});
    a.scale_rows(s);
    a.scale_cols(s);
    return a;
  }();
  return adj;
}

void set_rate(benchmark::State& st, const char* name, double per_iter) {
  st.counters[name] =
      benchmark::Counter(per_iter * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
}

// Compulsory bytes (MB) and, once the memcpy yardstick has run, the time they take at its bandwidth.
void set_floor(benchmark::State& st, double bytes) {
  st.counters["MB_moved"] = bytes / 1e6;
  if (g_copy_gbps > 0) st.counters["floor_ms"] = bytes / (g_copy_gbps * 1e9) * 1e3;
  set_rate(st, "GB/s", bytes / 1e9);
}

// The yardstick: plain memcpy of 256 MiB (GB/s counts read + write bytes).
void BM_Memcpy(benchmark::State& st) {
  const size_t bytes = 256ull << 20;
  std::vector<char> a(bytes, 1), b(bytes, 0);
  for (auto _ : st) {
    std::memcpy(b.data(), a.data(), bytes);
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
  }
  set_rate(st, "GB/s", 2.0 * bytes / 1e9);
}

// Best of five 256 MiB copies, timed before the benchmarks run, for the floor_ms counters.
void measure_copy_bandwidth() {
  const size_t bytes = 256ull << 20;
  std::vector<char> a(bytes, 1), b(bytes, 0);
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    std::memcpy(b.data(), a.data(), bytes);
    benchmark::DoNotOptimize(b.data());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
  }
  g_copy_gbps = 2.0 * bytes / best / 1e9;
}

void BM_GemmProjection(benchmark::State& st) {  // [7050 x 4096] x [4096 x 64]: image feature projection
  const int64_t m = kItems, k = 4096, n = kDim;
  Tensor a = randn({m, k}, 1), w = randn({k, n}, 2), c = Tensor::zeros({m, n});  // touched up front
  for (auto _ : st) ops::gemm(a, false, w, false, c);
  set_rate(st, "GFLOP/s", 2.0 * m * n * k / 1e9);
  st.counters["MB_moved"] = 4.0 * (m * k + k * n + m * n) / 1e6;
}

void BM_GemmWeightGrad(benchmark::State& st) {  // [4096 x 7050] x [7050 x 64]: dW = X^T G
  const int64_t m = 4096, k = kItems, n = kDim;
  Tensor x = randn({k, m}, 1), g = randn({k, n}, 2), c = Tensor::zeros({m, n});  // touched up front
  for (auto _ : st) ops::gemm(x, true, g, false, c);
  set_rate(st, "GFLOP/s", 2.0 * m * n * k / 1e9);
  st.counters["MB_moved"] = 4.0 * (m * k + k * n + m * n) / 1e6;
}

void BM_GemmScores(benchmark::State& st) {  // [4096 x 64] x [64 x 7050]: evaluation scores of a user block
  const int64_t m = 4096, k = kDim, n = kItems;
  Tensor u = randn({m, k}, 1), it = randn({n, k}, 2), c = Tensor::zeros({m, n});  // touched up front
  for (auto _ : st) ops::gemm(u, false, it, true, c);
  set_rate(st, "GFLOP/s", 2.0 * m * n * k / 1e9);
  set_floor(st, 4.0 * (m * k + k * n + m * n));
}

double spmm_bytes(const Csr& a) {  // values + column indices + row pointers + X read once + Y written once
  return 8.0 * a.nnz() + 4.0 * (a.rows + 1) + 2.0 * 4.0 * kNodes * kDim;
}

void BM_SpmmBaby(benchmark::State& st) {
  const Csr& a = baby_adjacency();
  Tensor x = randn({kNodes, kDim}, 3), y = Tensor::zeros({kNodes, kDim});
  for (auto _ : st) ops::spmm(a, false, x, y);
  st.counters["nnz"] = static_cast<double>(a.nnz());
  set_rate(st, "GFLOP/s", 2.0 * a.nnz() * kDim / 1e9);
  set_floor(st, spmm_bytes(a));
}

void BM_SpmmBabyTransposed(benchmark::State& st) {  // includes the per-call counting-sort transpose
  const Csr& a = baby_adjacency();
  Tensor x = randn({kNodes, kDim}, 3), y = Tensor::zeros({kNodes, kDim});
  for (auto _ : st) ops::spmm(a, true, x, y);
  set_rate(st, "GFLOP/s", 2.0 * a.nnz() * kDim / 1e9);
  set_floor(st, spmm_bytes(a));
}

std::vector<int32_t> batch_rows(int64_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<int32_t> idx(static_cast<size_t>(count));
  for (auto& i : idx) i = static_cast<int32_t>(gen() % kNodes);
  return idx;
}

void BM_GatherRows(benchmark::State& st) {  // 2048 rows x 64 out of 26.5k
  const int64_t b = 2048;
  Tensor table = randn({kNodes, kDim}, 4);
  Tensor idx = Tensor::from_vector(batch_rows(b, 5));
  for (auto _ : st) benchmark::DoNotOptimize(ops::gather_rows(table, idx).raw());
  set_floor(st, 2.0 * 4.0 * b * kDim + 4.0 * b);
}

void BM_ScatterAddRows(benchmark::State& st) {  // gradient of the gather: 2048 rows x 64 into 26.5k
  const int64_t b = 2048;
  Tensor grad = Tensor::zeros({kNodes, kDim});
  Tensor src = randn({b, kDim}, 6);
  Tensor idx = Tensor::from_vector(batch_rows(b, 7));
  for (auto _ : st) ops::scatter_add_rows(grad, idx, src);
  set_floor(st, 3.0 * 4.0 * b * kDim + 4.0 * b);  // read src, read + write destination rows
}

void BM_AdamStep(benchmark::State& st) {  // 7050 x (4096 + 384) feature tables + embeddings ~ 33.6M
  const int64_t n = 33'600'000;
  Tensor p = Tensor::full({n}, 0.1), g = Tensor::full({n}, 0.01), m = Tensor::zeros({n}),
         v = Tensor::zeros({n});
  int64_t step = 0;
  for (auto _ : st) ops::adam_step(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.0, ++step);
  set_floor(st, 7.0 * 4.0 * n);  // read p, g, m, v; write p, m, v
}

void BM_GemmContrastive(benchmark::State& st) {  // [2048 x 64] x [64 x 2048]: MGCN's InfoNCE logits
  const int64_t m = 2048, k = kDim, n = 2048;
  Tensor a = randn({m, k}, 1), b = randn({n, k}, 2), c = Tensor::zeros({m, n});
  for (auto _ : st) ops::gemm(a, false, b, true, c);
  set_rate(st, "GFLOP/s", 2.0 * m * n * k / 1e9);
}

void BM_GemmSmall(benchmark::State& st) {  // [N x 64] x [64 x 64]: a gate / query layer over all nodes
  const int64_t m = kNodes, k = kDim, n = kDim;
  Tensor a = randn({m, k}, 1), w = randn({n, k}, 2), c = Tensor::zeros({m, n});
  for (auto _ : st) ops::gemm(a, false, w, true, c);
  set_rate(st, "GFLOP/s", 2.0 * m * n * k / 1e9);
}

// Row-wise log-sum-exp and softmax over the [2048 x 2048] logits of a contrastive loss.
void BM_LogsumexpRows(benchmark::State& st) {
  Tensor x = randn({2048, 2048}, 8);
  for (auto _ : st) benchmark::DoNotOptimize(ops::logsumexp_rows(x).raw());
  set_floor(st, 4.0 * 2048 * 2048);
}

void BM_SoftmaxRows(benchmark::State& st) {
  Tensor x = randn({2048, 2048}, 8);
  for (auto _ : st) benchmark::DoNotOptimize(ops::softmax_rows(x).raw());
  set_floor(st, 2.0 * 4.0 * 2048 * 2048);
}

// Elementwise transcendental over all nodes' embeddings: [N x 64].
void BM_Sigmoid(benchmark::State& st) {
  Tensor x = randn({kNodes, kDim}, 9), y = Tensor::zeros({kNodes, kDim});
  for (auto _ : st) benchmark::DoNotOptimize(ops::unary(ops::Unary::Sigmoid, x).raw());
  set_floor(st, 2.0 * 4.0 * kNodes * kDim);
}

void BM_Tanh(benchmark::State& st) {
  Tensor x = randn({kNodes, kDim}, 9);
  for (auto _ : st) benchmark::DoNotOptimize(ops::unary(ops::Unary::Tanh, x).raw());
  set_floor(st, 2.0 * 4.0 * kNodes * kDim);
}

}  // namespace

BENCHMARK(BM_Memcpy)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemmProjection)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemmWeightGrad)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemmScores)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SpmmBaby)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SpmmBabyTransposed)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GatherRows)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ScatterAddRows)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AdamStep)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemmContrastive)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemmSmall)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LogsumexpRows)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SoftmaxRows)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sigmoid)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Tanh)->UseRealTime()->Unit(benchmark::kMicrosecond);

// A main of our own: the copy bandwidth is measured before the cases that use it as their floor.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  measure_copy_bandwidth();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
