// CUDA kernel benchmarks on Baby-shaped work (Google Benchmark), run by bench/gpu_check.sh on a lent GPU.
// Each case times batches of launches with a device synchronise at the end of each batch (manual time, per
// launch; 20 batches x 5 repetitions, medians reported) and prints its rate next to a napkin-math floor. The
// device-to-device copy runs first; its bandwidth is the yardstick for the memory-bound kernels
// (performance.md: SpMM >= 40% of copy bandwidth on an H100).
//
// Without a usable GPU (or without the CUDA backend) it prints "no CUDA device" and exits 0.
//
// Expected output on an H100 SXM (figures are napkin-math estimates, not measurements; H200 copies ~1.4x
// faster):
//   <Google Benchmark table: one line per case, manual time per launch, GB/s or TFLOP/s counters>
//   == lethe CUDA kernels (F32) ==
//   case                               time_us      rate        floor_us  note
//   copy d2d 256 MiB                     ~190   ~2800 GB/s        -      yardstick (read + write bytes)
//   gemm 7050x4096x64                  60-100  40-60 TFLOP/s      -      FP32, no TF32
//   gemm^T 4096x7050x64 (dW)           60-150  25-60 TFLOP/s      -      A^T G
//   spmm baby 26495^2 x 64              10-25   600-1500 GB/s    ~6      nnz ~236k; NN% of copy bandwidth
//   spmm^T (csr2csc + spmm)             20-50         ...         ~6
//   gather 6144 rows x 64                3-6          ...        ~1      launch-bound
//   scatter_add 6144 rows x 64           3-8          ...        ~2      atomicAdd
//   adam 33.6M params                  350-450  ~2500 GB/s     ~340     4 reads + 3 writes / param
//   topk k=10 / k=50 over 2048x7050     50-400        ...        ~20
//   knn k=10 7050x4096 cuda / host      ms / s     TFLOP/s          -      the whole kNN graph build
//                                                                           (datasets::knn_graph), both in
//                                                                           this run: the ratio is the
//                                                                           speed-up
//   allocator: peak ... MiB, cached ... MiB
// "floor_us" = compulsory bytes / measured copy bandwidth; the "% of copy bandwidth" note is the ratio of
// the kernel's effective bandwidth (compulsory bytes / time) to the copy's.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "datasets/graphs.h"
#include "engine/ops.h"
#include "engine/sparse.h"
#include "engine/tensor.h"
#ifdef LETHE_WITH_CUDA
#include "engine/backend.h"
#endif

#ifdef LETHE_WITH_CUDA
namespace {

using lethe::Csr;
using lethe::Device;
using lethe::DType;
using lethe::Tensor;
namespace ops = lethe::ops;

const Device kGpu = Device::cuda(0);

// Summary rows per case, one per repetition; the table shows the median repetition.
struct Row {
  double us = 0, rate = 0, floor_us = 0;
  std::string unit, note;
};
std::vector<std::string> g_order;
std::map<std::string, std::vector<Row>> g_rows;
constexpr int kRepetitions = 5;  // medians of 5, as performance.md asks
constexpr int kIterations = 20;  // timed batches per repetition (each batch = `reps` launches + 1 sync)
double g_copy_gbps = 0;          // measured by the first case

// Uniform values in [-1, 1), drawn on the host and copied to the GPU.
Tensor rand_gpu(const lethe::Shape& shape, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(lethe::shape_numel(shape)));
  for (auto& x : v) x = u(gen);
  return Tensor::from_vector(v, shape).to(kGpu);
}

// Times `reps` launches of `fn` per benchmark iteration (synchronised), reports the per-launch time.
template <class F>
double run_timed(benchmark::State& state, int reps, F&& fn) {
  fn();  // warm-up (handles, workspaces, allocator cache)
  lethe::cuda::synchronize();
  double total = 0;
  int64_t launches = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) fn();
    lethe::cuda::synchronize();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(s / reps);
    total += s;
    launches += reps;
  }
  return launches ? total / static_cast<double>(launches) * 1e6 : 0.0;  // microseconds per launch
}

// Records a memory-bound case: compulsory `bytes` per launch.
void record_bw(benchmark::State& state, const std::string& name, double us, double bytes,
               const std::string& note) {
  const double gbps = bytes / (us * 1e-6) / 1e9;
  state.counters["GB/s"] = gbps;
  Row row{us, gbps, g_copy_gbps > 0 ? bytes / (g_copy_gbps * 1e9) * 1e6 : 0, "GB/s", note};
  if (g_copy_gbps > 0) {
    state.counters["floor_us"] = row.floor_us;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f%% of copy bandwidth", 100.0 * gbps / g_copy_gbps);
    row.note = note.empty() ? buf : note + "; " + buf;
  }
  if (!g_rows.count(name)) g_order.push_back(name);
  g_rows[name].push_back(row);
}

void record_flops(benchmark::State& state, const std::string& name, double us, double flops,
                  const std::string& note) {
  const double tflops = flops / (us * 1e-6) / 1e12;
  state.counters["TFLOP/s"] = tflops;
  if (!g_rows.count(name)) g_order.push_back(name);
  g_rows[name].push_back(Row{us, tflops, 0, "TFLOP/s", note});
}

// ---- yardstick: device-to-device copy of 256 MiB ---------------------------------------------------
void BM_CudaCopyD2D(benchmark::State& state) {
  const size_t bytes = size_t{256} << 20;
  const Tensor src = Tensor::full({static_cast<int64_t>(bytes / 4)}, 1.0, DType::F32, kGpu);
  Tensor dst = Tensor::empty({static_cast<int64_t>(bytes / 4)}, DType::F32, kGpu);
  const double us = run_timed(state, 10, [&] { lethe::cuda::memcpy_d2d(dst.raw(), src.raw(), bytes); });
  // The yardstick is the median over the repetitions so far (read + write bytes).
  static std::vector<double> seen;
  seen.push_back(2.0 * static_cast<double>(bytes) / (us * 1e-6) / 1e9);
  std::vector<double> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  g_copy_gbps = sorted[sorted.size() / 2];
  record_bw(state, "copy d2d 256 MiB", us, 2.0 * static_cast<double>(bytes),
            "yardstick (read + write bytes)");
}

// ---- GEMM: the feature projection [7050 x 4096] x [4096 x 64] and its weight gradient --------------
void BM_CudaGemmProjection(benchmark::State& state) {
  const int64_t m = 7050, k = 4096, n = 64;
  const Tensor a = rand_gpu({m, k}, 1);
  const Tensor w = rand_gpu({k, n}, 2);
  Tensor c = Tensor::empty({m, n}, DType::F32, kGpu);
  const double us = run_timed(state, 20, [&] { ops::gemm(a, false, w, false, c, 1.0, 0.0); });
  record_flops(state, "gemm 7050x4096x64", us, 2.0 * m * k * n, "FP32, no TF32");
}

void BM_CudaGemmWeightGrad(benchmark::State& state) {
  const int64_t m = 7050, k = 4096, n = 64;
  const Tensor a = rand_gpu({m, k}, 1);
  const Tensor g = rand_gpu({m, n}, 3);
  Tensor dw = Tensor::empty({k, n}, DType::F32, kGpu);
  const double us = run_timed(state, 20, [&] { ops::gemm(a, true, g, false, dw, 1.0, 0.0); });
  record_flops(state, "gemm^T 4096x7050x64 (dW)", us, 2.0 * m * k * n, "A^T G");
}

// ---- SpMM over a Baby-shaped normalised user-item adjacency -----------------------------------------
// 19,445 users + 7,050 items = 26,495 nodes; ~118k interactions -> ~236k symmetric non-zeros.
Csr baby_adjacency() {
  const int32_t users = 19445, items = 7050, n = users + items;
  const int64_t interactions = 118000;
  std::mt19937_64 gen(7);
  std::vector<int32_t> r, c;
  std::vector<float> v;
  std::vector<int32_t> deg(n, 0);
  std::vector<std::pair<int32_t, int32_t>> edges;
  edges.reserve(interactions);
  for (int64_t e = 0; e < interactions; ++e) {
    const int32_t u = static_cast<int32_t>(gen() % users), i = users + static_cast<int32_t>(gen() % items);
    edges.emplace_back(u, i);
    ++deg[u];
    ++deg[i];
  }
  for (auto [u, i] : edges) {  // D^-1/2 A D^-1/2, both directions (duplicates are summed by from_coo)
    const float w = 1.0f / std::sqrt(static_cast<float>(deg[u]) * static_cast<float>(deg[i]));
    r.push_back(u), c.push_back(i), v.push_back(w);
    r.push_back(i), c.push_back(u), v.push_back(w);
  }
  return Csr::from_coo(n, n, r, c, v).to(kGpu);
}

// Compulsory bytes of one SpMM: CSR arrays + X read once + Y written once.
double spmm_bytes(const Csr& a, int64_t cols) {
  return static_cast<double>(a.nnz()) * 8.0 + static_cast<double>(a.rows + 1) * 4.0 +
         2.0 * static_cast<double>(a.rows) * static_cast<double>(cols) * 4.0;
}

void BM_CudaSpmmBaby(benchmark::State& state) {
  const bool trans = state.range(0) != 0;
  const Csr a = baby_adjacency();
  const Tensor x = rand_gpu({a.cols, 64}, 4);
  Tensor y = Tensor::empty({a.rows, 64}, DType::F32, kGpu);
  const double us = run_timed(state, 50, [&] { ops::spmm(a, trans, x, y, 1.0, 0.0); });
  const std::string name = trans ? "spmm^T (csr2csc + spmm)" : "spmm baby 26495^2 x 64";
  record_bw(state, name, us, spmm_bytes(a, 64), "nnz " + std::to_string(a.nnz()));
}

// ---- gather / scatter-add of a BPR batch (2048 users + 2048 positives + 2048 negatives) -------------
void BM_CudaGather(benchmark::State& state) {
  const int64_t n = 26495, b = 6144;
  const Tensor table = rand_gpu({n, 64}, 5);
  std::mt19937_64 gen(8);
  std::vector<int32_t> idx(b);
  for (auto& i : idx) i = static_cast<int32_t>(gen() % n);
  const Tensor gidx = Tensor::from_vector(idx).to(kGpu);
  Tensor out;
  const double us = run_timed(state, 100, [&] { out = ops::gather_rows(table, gidx); });
  record_bw(state, "gather 6144 rows x 64", us, 2.0 * b * 64 * 4 + b * 4.0, "");
}

void BM_CudaScatterAdd(benchmark::State& state) {
  const int64_t n = 26495, b = 6144;
  Tensor table = Tensor::zeros({n, 64}, DType::F32, kGpu);
  const Tensor src = rand_gpu({b, 64}, 6);
  std::mt19937_64 gen(9);
  std::vector<int32_t> idx(b);
  for (auto& i : idx) i = static_cast<int32_t>(gen() % n);
  const Tensor gidx = Tensor::from_vector(idx).to(kGpu);
  const double us = run_timed(state, 100, [&] { ops::scatter_add_rows(table, gidx, src); });
  record_bw(state, "scatter_add 6144 rows x 64", us, 3.0 * b * 64 * 4 + b * 4.0, "atomicAdd");
}

// ---- Adam over the trainable feature tables (~33.6M parameters) -------------------------------------
void BM_CudaAdam(benchmark::State& state) {
  const int64_t n = 33600000;
  Tensor p = Tensor::full({n}, 0.1, DType::F32, kGpu);
  const Tensor g = rand_gpu({n}, 10);
  Tensor m = Tensor::zeros({n}, DType::F32, kGpu), v = Tensor::zeros({n}, DType::F32, kGpu);
  int64_t step = 0;
  const double us =
      run_timed(state, 5, [&] { ops::adam_step(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.0, ++step); });
  record_bw(state, "adam 33.6M params", us, static_cast<double>(n) * 4.0 * 7.0, "4 reads + 3 writes / param");
}

// ---- evaluation top-50 over a block of user scores ---------------------------------------------------
void BM_CudaTopk(benchmark::State& state) {
  const int64_t users = 2048, items = 7050, k = state.range(0);
  // Distinct random scores, as a model's are (ties would make the selection artificially cheap).
  std::mt19937_64 gen(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> host(static_cast<size_t>(users * items));
  for (auto& x : host) x = u(gen);
  const Tensor scores = Tensor::from_vector(host, {users, items}).to(kGpu);
  Tensor vals, idx;
  const double us = run_timed(state, 10, [&] { ops::topk_rows(scores, k, vals, idx); });
  record_bw(state, "topk k=" + std::to_string(k) + " over 2048x7050", us,
            static_cast<double>(users) * items * 4.0, "bytes = scores read once");
}

// ---- the item-item kNN graph of an item drop on Baby (image features), on the GPU and on the host --------
// datasets::knn_graph end to end: normalisation, blocked similarity GEMM, per-row top-10, CSR assembly.
// Arg 1 = CUDA, 0 = host (OpenMP / OpenBLAS threads of this machine); 5% of the items dropped.
void BM_KnnGraph(benchmark::State& state) {
  const bool gpu = state.range(0) == 1;
  const int64_t items = 7050, feats = 4096;
  std::mt19937 gen(13);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);  // non-negative, as CNN image features are
  std::vector<float> host(static_cast<size_t>(items * feats));
  for (auto& x : host) x = u(gen);
  const Tensor x = Tensor::from_vector(host, {items, feats});
  std::vector<uint8_t> active(items, 1);
  for (int64_t i = 0; i < items; i += 20) active[i] = 0;
  const double us = run_timed(state, 1, [&] {
    (void)lethe::datasets::knn_graph(x, 10, lethe::datasets::KnnWeight::Binary, &active, 1024,
                                     gpu ? kGpu : Device::cpu());
  });
  record_flops(state, std::string("knn k=10 7050x4096 ") + (gpu ? "cuda" : "host"), us,
               2.0 * items * items * feats, gpu ? "datasets::knn_graph on the GPU" : "the same on the host");
}

void print_summary() {
  std::printf("\n== lethe CUDA kernels (F32) ==\n");
  std::printf("%-34s %10s %14s %10s  %s\n", "case", "time_us", "rate", "floor_us", "note");
  for (const auto& name : g_order) {
    std::vector<Row>& reps = g_rows[name];
    std::sort(reps.begin(), reps.end(), [](const Row& a, const Row& b) { return a.us < b.us; });
    const Row& r = reps[reps.size() / 2];
    char rate[32], floor_us[32];
    std::snprintf(rate, sizeof rate, "%.1f %s", r.rate, r.unit.c_str());
    if (r.floor_us > 0)
      std::snprintf(floor_us, sizeof floor_us, "%.1f", r.floor_us);
    else
      std::snprintf(floor_us, sizeof floor_us, "-");
    std::printf("%-34s %10.1f %14s %10s  %s\n", name.c_str(), r.us, rate, floor_us, r.note.c_str());
  }
  const auto st = lethe::cuda::alloc_stats();
  std::printf("allocator: peak %.1f MiB, cached %.1f MiB\n", st.peak / 1048576.0, st.cached / 1048576.0);
}

void register_all() {
  // Registration order is run order: the copy yardstick first. Fixed iteration counts keep the whole run
  // to a few seconds (manual time is per launch, so a min-time rule would multiply the wall time).
  auto add = [](const char* name, void (*fn)(benchmark::State&)) {
    return benchmark::RegisterBenchmark(name, fn)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(kIterations)
        ->Repetitions(kRepetitions)
        ->ReportAggregatesOnly(true);
  };
  add("BM_CudaCopyD2D", BM_CudaCopyD2D);
  add("BM_CudaGemmProjection", BM_CudaGemmProjection);
  add("BM_CudaGemmWeightGrad", BM_CudaGemmWeightGrad);
  add("BM_CudaSpmmBaby", BM_CudaSpmmBaby)->Arg(0)->Arg(1);
  add("BM_CudaGather", BM_CudaGather);
  add("BM_CudaScatterAdd", BM_CudaScatterAdd);
  add("BM_CudaAdam", BM_CudaAdam);
  add("BM_CudaTopk", BM_CudaTopk)->Arg(10)->Arg(50);
  // Whole graph builds take milliseconds (GPU) to seconds (host): 2 batches x 3 repetitions.
  benchmark::RegisterBenchmark("BM_KnnGraph", BM_KnnGraph)
      ->Arg(1)
      ->Arg(0)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(2)
      ->Repetitions(3)
      ->ReportAggregatesOnly(true);
}

}  // namespace
#endif  // LETHE_WITH_CUDA

// Own main (replaces benchmark_main): benchmarks exist only when a GPU does.
int main(int argc, char** argv) {
  if (!lethe::cuda_available()) {
    std::printf("no CUDA device\n");
    return 0;
  }
#ifdef LETHE_WITH_CUDA
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_summary();
#endif
  return 0;
}
