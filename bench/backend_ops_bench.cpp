// The perf mode of the kernel case table (tests/engine/kernel_cases.h), in the spirit of ggml's
// test-backend-ops perf mode: every row marked `perf` is timed at its Baby-like size, in F32 with I32
// indices, on the CPU and, when a GPU is usable, on CUDA. Each benchmark's counters give the napkin rates of
// one run: GB/s = the row's compulsory bytes / time and, where the row counts them, GFLOP/s. The time
// includes allocating the outputs, as the library does (caching allocators on both devices); CUDA
// iterations end with a device synchronise.
//
//   build/cpu/bench/backend_ops_bench --benchmark_filter=cpu/ --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "engine/device.h"
#include "tests/engine/kernel_cases.h"
#ifdef LETHE_WITH_CUDA
#include "engine/backend.h"
#endif

namespace {

using lethe::Device;
namespace kc = lethe::test::kernels;

void sync(Device dev) {
#ifdef LETHE_WITH_CUDA
  if (dev.is_cuda()) lethe::cuda::synchronize();
#else
  (void)dev;
#endif
}

void run_case(benchmark::State& st, const kc::KernelCase& c, Device dev) {
  const kc::Spec s = kc::setups(c, /*perf=*/true).front();
  kc::Inputs in = c.make(s).to(dev);
  const kc::Outputs warm = c.run(in, s);  // first call: handles, workspaces, allocator caches
  sync(dev);
  const kc::Cost cost = (c.cost ? c.cost : kc::default_cost)(in, warm, s);
  std::string shapes;  // the inputs, e.g. "f32[26495, 64] f32[64]"
  for (const lethe::Tensor& t : in.t)
    shapes.append(lethe::dtype_name(t.dtype())).append(lethe::shape_str(t.shape())).append(" ");
  for (const lethe::Csr& a : in.csr) shapes.append(a.describe()).append(" ");
  st.SetLabel(shapes);
  for (auto _ : st) {
    const kc::Outputs out = c.run(in, s);
    sync(dev);
    benchmark::DoNotOptimize(out.data());
  }
  const auto iters = static_cast<double>(st.iterations());
  st.counters["GB/s"] = benchmark::Counter(cost.bytes * iters / 1e9, benchmark::Counter::kIsRate);
  st.counters["MB"] = cost.bytes / 1e6;
  if (cost.flops > 0)
    st.counters["GFLOP/s"] = benchmark::Counter(cost.flops * iters / 1e9, benchmark::Counter::kIsRate);
}

void register_all() {
  std::vector<Device> devices{Device::cpu()};
  if (lethe::cuda_available()) devices.push_back(Device::cuda(0));
  for (const Device dev : devices)
    for (const kc::KernelCase& c : kc::kKernelCases) {
      if (!c.perf) continue;
      const std::string name =
          (dev.is_cpu() ? "cpu/" : "cuda/") + std::string(c.kernel) + "/" + std::string(c.variant);
      benchmark::RegisterBenchmark(name.c_str(), [&c, dev](benchmark::State& st) { run_case(st, c, dev); })
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
