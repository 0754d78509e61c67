// CPU <-> CUDA parity for every kernel of engine/backend_api.inc, driven by the case table of
// tests/engine/kernel_cases.h: each row's seeded inputs go through the public lethe::ops functions on
// Device::cpu() and on Device::cuda(), and the outputs must agree (Close rows: F32 to ~2e-5 relative, F64 to
// ~1e-12; Exact rows bit for bit: copies, masks, top-k values and indices, since both backends break ties by
// the lower column). Without a usable GPU every parity test is reported as skipped, never as passed.
// The same rows also check that the CPU result does not depend on the OpenMP thread count; that runs
// everywhere.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/sparse.h"
#include "engine/tensor.h"
#include "tests/engine/kernel_cases.h"
#ifdef LETHE_WITH_CUDA
#include "engine/backend.h"
#endif

namespace {

using lethe::Device;
using lethe::DType;
using lethe::Tensor;
using lethe::test::kernels::KernelCase;
using lethe::test::kernels::kKernelCases;
using lethe::test::kernels::Match;
using lethe::test::kernels::Outputs;
using lethe::test::kernels::Spec;

const Device kCpu = Device::cpu();
Device gpu() { return Device::cuda(0); }

// Any tensor, on any device, as host doubles.
std::vector<double> host(const Tensor& t) {
  const Tensor c = t.to(kCpu);
  std::vector<double> out;
  auto take = [&](const auto& v) { out.assign(v.begin(), v.end()); };
  switch (c.dtype()) {
    case DType::F32:
      take(c.to_vector<float>());
      break;
    case DType::F64:
      take(c.to_vector<double>());
      break;
    case DType::I32:
      take(c.to_vector<int32_t>());
      break;
    case DType::I64:
      take(c.to_vector<int64_t>());
      break;
  }
  return out;
}

// |b - a| <= rtol * (|a| + scale), scale = mean |a| (guards cancellation near zero); rtol = 0: bit for bit.
// Equal non-finite values (NaN with NaN, the same infinity) agree.
void expect_match(const Tensor& a, const Tensor& b, double rtol, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  ASSERT_EQ(a.dtype(), b.dtype()) << what;
  const std::vector<double> x = host(a), y = host(b);
  double scale = 0;
  for (double v : x) scale += std::isfinite(v) ? std::fabs(v) : 0.0;
  scale = x.empty() ? 0 : scale / static_cast<double>(x.size());
  int bad = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == y[i] || (std::isnan(x[i]) && std::isnan(y[i]))) continue;
    if (rtol > 0 && std::isfinite(x[i]) && std::fabs(x[i] - y[i]) <= rtol * (std::fabs(x[i]) + scale))
      continue;
    if (++bad <= 5) ADD_FAILURE() << what << ": element " << i << ": " << x[i] << " vs " << y[i];
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << x.size() << " elements differ";
}

std::string label(const KernelCase& c, const Spec& s) {
  std::string l = std::string(c.kernel) + " [" + std::string(c.variant) + "]";
  if (c.types != lethe::test::kernels::Types::Fixed) l += " " + std::string(lethe::dtype_name(s.dt));
  if (c.types == lethe::test::kernels::Types::FloatIndex) l += "/" + std::string(lethe::dtype_name(s.it));
  return l;
}

// Runs row c on `dev` from a fresh copy of the host inputs.
Outputs run_on(const KernelCase& c, const Spec& s, Device dev) {
  auto in = c.make(s).to(dev);
  return c.run(in, s);
}

// gtest names: "gemm_nn", "topk_rows_ties_k_10", ...
std::string case_name(const ::testing::TestParamInfo<size_t>& info) {
  const KernelCase& c = kKernelCases[info.param];
  std::string n = std::string(c.kernel) + "_" + std::string(c.variant);
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

class KernelTable : public ::testing::TestWithParam<size_t> {};

TEST_P(KernelTable, CudaMatchesCpu) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  const KernelCase& c = kKernelCases[GetParam()];
  for (const Spec& s : lethe::test::kernels::setups(c, false)) {
    const Outputs a = run_on(c, s, kCpu), b = run_on(c, s, gpu());
    ASSERT_EQ(a.size(), b.size());
    const double rtol = c.match == Match::Exact ? 0.0 : s.dt == DType::F64 ? c.rtol_f64 : c.rtol_f32;
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_TRUE(b[i].device().is_cuda()) << label(c, s) << ": output " << i << " not on the GPU";
      expect_match(a[i], b[i], rtol, label(c, s) + " output " + std::to_string(i));
    }
  }
}

// One thread against the configured count (ctest runs with OMP_NUM_THREADS=2): the same bits. Runs
// everywhere, so every row's inputs and run are exercised without a GPU too; rows above the kernels' parallel
// thresholds (the tall reductions, for example) take the OpenMP paths.
TEST_P(KernelTable, CpuResultDoesNotDependOnThreadCount) {
  const KernelCase& c = kKernelCases[GetParam()];
  const int saved = omp_get_max_threads();
  for (const Spec& s : lethe::test::kernels::setups(c, false)) {
    omp_set_num_threads(1);
    const Outputs one = run_on(c, s, kCpu);
    omp_set_num_threads(std::max(saved, 2));
    const Outputs many = run_on(c, s, kCpu);
    omp_set_num_threads(saved);
    ASSERT_EQ(one.size(), many.size());
    ASSERT_FALSE(one.empty()) << label(c, s) << ": a row must produce outputs";
    for (size_t i = 0; i < one.size(); ++i)
      expect_match(one[i], many[i], 0.0, label(c, s) + " output " + std::to_string(i));
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, KernelTable,
                         ::testing::Range(size_t{0}, sizeof(kKernelCases) / sizeof(kKernelCases[0])),
                         case_name);

// ---- device plumbing -------------------------------------------------------------------------------
TEST(CudaBackend, AvailabilityQueryNeverThrows) {
  // Runs everywhere: without a driver or GPU the query answers false instead of failing.
  bool avail = false;
  EXPECT_NO_THROW(avail = lethe::cuda_available());
  if (!lethe::cuda_compiled()) {
    EXPECT_FALSE(avail);
  }
}

TEST(CudaBackend, RoundTripCopies) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  const Tensor a = lethe::test::kernels::rand({123, 45}, DType::F32, 54);
  const Tensor g = a.to(gpu());
  expect_match(a, g.clone(), 0.0, "device-to-device clone");
  const Tensor back = g.to(kCpu);
  EXPECT_EQ(host(a), host(back));
}

#ifdef LETHE_WITH_CUDA
TEST(CudaBackend, AllocatorReusesFreedBlocks) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  void* first = nullptr;
  {
    Tensor t = Tensor::empty({1 << 20}, DType::F32, gpu());
    first = t.raw();
  }
  const auto before = lethe::cuda::alloc_stats();
  EXPECT_GE(before.cached, size_t{4} << 20);
  Tensor t = Tensor::empty({1 << 20}, DType::F32, gpu());
  EXPECT_EQ(t.raw(), first) << "a freed block of the same size should be reused";
  const auto after = lethe::cuda::alloc_stats();
  EXPECT_LT(after.cached, before.cached) << "the reused block leaves the cache";
  EXPECT_GE(after.peak, after.in_use);
}
#endif

}  // namespace
