// CPU <-> CUDA parity for every kernel of engine/backend_api.inc: the same random inputs go through the
// public lethe::ops functions on Device::cpu() and on Device::cuda(), and the results must agree (F32 to
// ~1e-5 relative, F64 to ~1e-12, dropout masks and integer results exactly, top-k indices exactly since
// both backends break ties by the lower column). Uses only the public API, so it compiles with and without
// the CUDA backend; without a usable GPU every test is reported as skipped, never as passed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/sparse.h"
#include "engine/tensor.h"
#ifdef LETHE_WITH_CUDA
#include "engine/backend.h"
#endif

namespace {

using lethe::Csr;
using lethe::Device;
using lethe::DType;
using lethe::Shape;
using lethe::Tensor;
namespace ops = lethe::ops;

const Device kCpu = Device::cpu();
Device gpu() { return Device::cuda(0); }

// Uniform random tensor on the CPU.
Tensor rand_tensor(const Shape& shape, DType dt, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  const int64_t n = lethe::shape_numel(shape);
  if (dt == DType::F64) {
    std::vector<double> v(static_cast<size_t>(n));
    for (auto& x : v) x = u(gen);
    return Tensor::from_vector(v, shape);
  }
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(u(gen));
  return Tensor::from_vector(v, shape);
}

// Random indices in [0, bound) as I32 or I64.
Tensor rand_index(int64_t n, int64_t bound, DType dt, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> u(0, bound - 1);
  if (dt == DType::I64) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (auto& x : v) x = u(gen);
    return Tensor::from_vector(v, Shape{n});
  }
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<int32_t>(u(gen));
  return Tensor::from_vector(v, Shape{n});
}

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

double default_rtol(DType dt) { return dt == DType::F64 ? 1e-12 : 2e-5; }

// |gpu - cpu| <= rtol * (|cpu| + scale), scale = mean |cpu| (guards cancellation near zero).
void expect_close(const Tensor& cpu, const Tensor& cuda, const std::string& what, double rtol = -1) {
  ASSERT_TRUE(cuda.device().is_cuda()) << what << ": result not on the GPU";
  ASSERT_EQ(cpu.shape(), cuda.shape()) << what;
  ASSERT_EQ(cpu.dtype(), cuda.dtype()) << what;
  if (rtol < 0) rtol = default_rtol(cpu.dtype());
  const std::vector<double> a = host(cpu), b = host(cuda);
  double scale = 0;
  for (double x : a) scale += std::isfinite(x) ? std::fabs(x) : 0.0;
  scale = a.empty() ? 0 : scale / static_cast<double>(a.size());
  int bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool same_nonfinite =
        !std::isfinite(a[i]) && (a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])));
    if (same_nonfinite) continue;
    if (!(std::fabs(a[i] - b[i]) <= rtol * (std::fabs(a[i]) + scale))) {
      if (++bad <= 5) ADD_FAILURE() << what << ": element " << i << " cpu " << a[i] << " cuda " << b[i];
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << a.size() << " elements differ";
}

void expect_equal(const Tensor& cpu, const Tensor& cuda, const std::string& what) {
  ASSERT_TRUE(cuda.device().is_cuda()) << what << ": result not on the GPU";
  ASSERT_EQ(cpu.shape(), cuda.shape()) << what;
  ASSERT_EQ(cpu.dtype(), cuda.dtype()) << what;
  const std::vector<double> a = host(cpu), b = host(cuda);
  int bad = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))))
      if (++bad <= 5) ADD_FAILURE() << what << ": element " << i << " cpu " << a[i] << " cuda " << b[i];
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << a.size() << " elements differ";
}

const DType kFloats[] = {DType::F32, DType::F64};
std::string dn(DType t) { return lethe::dtype_name(t); }

// A random CSR matrix with about `density` of its entries set (duplicates summed by from_coo).
Csr rand_csr(int64_t rows, int64_t cols, double density, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<int32_t> r, c;
  std::vector<float> v;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      if (u(gen) < density) {
        r.push_back(static_cast<int32_t>(i));
        c.push_back(static_cast<int32_t>(j));
        v.push_back(static_cast<float>(u(gen) * 2 - 1));
      }
  return Csr::from_coo(rows, cols, r, c, v);
}

// ---- GEMM ------------------------------------------------------------------------------------------
TEST(CudaParity, Gemm) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t m = 37, k = 300, n = 29;
  for (DType dt : kFloats)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        const Tensor a = rand_tensor(ta ? Shape{k, m} : Shape{m, k}, dt, 1);
        const Tensor b = rand_tensor(tb ? Shape{n, k} : Shape{k, n}, dt, 2);
        Tensor c_cpu = rand_tensor({m, n}, dt, 3);
        Tensor c_gpu = c_cpu.to(gpu());
        ops::gemm(a, ta, b, tb, c_cpu, 0.7, 0.3);
        ops::gemm(a.to(gpu()), ta, b.to(gpu()), tb, c_gpu, 0.7, 0.3);
        expect_close(c_cpu, c_gpu,
                     "gemm " + dn(dt) + " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
        expect_close(ops::matmul(a, b, ta, tb), ops::matmul(a.to(gpu()), b.to(gpu()), ta, tb),
                     "matmul " + dn(dt));
      }
}

// ---- elementwise -----------------------------------------------------------------------------------
TEST(CudaParity, Binary) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dt : kFloats) {
    const Tensor a = rand_tensor({41, 17}, dt, 4), b = rand_tensor({41, 17}, dt, 5);
    const Tensor ga = a.to(gpu()), gb = b.to(gpu());
    expect_close(ops::add(a, b), ops::add(ga, gb), "add " + dn(dt));
    expect_close(ops::sub(a, b), ops::sub(ga, gb), "sub " + dn(dt));
    expect_close(ops::mul(a, b), ops::mul(ga, gb), "mul " + dn(dt));
  }
}

TEST(CudaParity, ScalarsAxpyFill) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dt : kFloats) {
    const Tensor a = rand_tensor({1001}, dt, 6), x = rand_tensor({1001}, dt, 7);
    const Tensor ga = a.to(gpu()), gx = x.to(gpu());
    expect_close(ops::scale(a, -1.7), ops::scale(ga, -1.7), "scale " + dn(dt));
    expect_close(ops::add_scalar(a, 0.25), ops::add_scalar(ga, 0.25), "add_scalar " + dn(dt));
    Tensor y = a.clone(), gy = ga.clone();
    ops::axpy(0.37, x, y);
    ops::axpy(0.37, gx, gy);
    expect_close(y, gy, "axpy " + dn(dt));
    Tensor f = rand_tensor({13, 7}, dt, 8), gf = f.to(gpu());
    ops::fill(f, 2.5);
    ops::fill(gf, 2.5);
    expect_equal(f, gf, "fill " + dn(dt));
  }
}

TEST(CudaParity, RowBroadcasts) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dt : kFloats) {
    const Tensor a = rand_tensor({53, 19}, dt, 9), v = rand_tensor({19}, dt, 10),
                 s = rand_tensor({53}, dt, 11);
    const Tensor ga = a.to(gpu()), gv = v.to(gpu()), gs = s.to(gpu());
    expect_close(ops::add_rowvec(a, v), ops::add_rowvec(ga, gv), "add_rowvec " + dn(dt));
    expect_close(ops::mul_rowvec(a, v), ops::mul_rowvec(ga, gv), "mul_rowvec " + dn(dt));
    expect_close(ops::scale_rows(a, s), ops::scale_rows(ga, gs), "scale_rows " + dn(dt));
  }
}

TEST(CudaParity, UnaryAndBackward) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  using U = ops::Unary;
  const U all[] = {U::Neg, U::Log, U::Sigmoid, U::Tanh, U::LogSigmoid, U::Relu, U::Square, U::Sqrt, U::Rsqrt};
  for (DType dt : kFloats)
    for (U op : all) {
      const bool positive = op == U::Log || op == U::Sqrt || op == U::Rsqrt;
      const Tensor x =
          positive ? rand_tensor({777}, dt, 12, 0.05, 4.0) : rand_tensor({777}, dt, 12, -6.0, 6.0);
      const Tensor gy = rand_tensor({777}, dt, 13);
      const Tensor gx_ = x.to(gpu()), ggy = gy.to(gpu());
      const std::string name = std::string(ops::unary_name(op)) + " " + dn(dt);
      const Tensor y = ops::unary(op, x), yg = ops::unary(op, gx_);
      expect_close(y, yg, "unary " + name);
      expect_close(ops::unary_backward(op, x, y, gy), ops::unary_backward(op, gx_, yg, ggy),
                   "unary_backward " + name);
    }
}

TEST(CudaParity, Astype) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  const Tensor f = rand_tensor({257}, DType::F32, 14, -100, 100);
  const Tensor i32 = rand_index(257, 1000, DType::I32, 15), i64 = rand_index(257, 1000, DType::I64, 16);
  for (const Tensor* src : {&f, &i32, &i64}) {
    const DType targets[] = {DType::F32, DType::F64, DType::I32, DType::I64};
    for (DType to : targets) {
      if (!lethe::is_float(to) && lethe::is_float(src->dtype())) continue;  // float -> int is not offered
      expect_equal(src->astype(to), src->to(gpu()).astype(to), "astype " + dn(src->dtype()) + "->" + dn(to));
    }
  }
  const Tensor d = rand_tensor({257}, DType::F64, 17);
  expect_equal(d.astype(DType::F32), d.to(gpu()).astype(DType::F32), "astype f64->f32");
}

// ---- reductions ------------------------------------------------------------------------------------
TEST(CudaParity, Reductions) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dt : kFloats) {
    // Large enough for several blocks of partial sums; odd shapes exercise the edges.
    const Tensor a = rand_tensor({2051, 67}, dt, 18), b = rand_tensor({2051, 67}, dt, 19);
    const Tensor ga = a.to(gpu()), gb = b.to(gpu());
    expect_close(ops::sum(a), ops::sum(ga), "sum " + dn(dt), dt == DType::F64 ? 1e-10 : 1e-5);
    expect_close(ops::sumsq(a), ops::sumsq(ga), "sumsq " + dn(dt));
    expect_close(ops::sum_cols(a), ops::sum_cols(ga), "sum_cols " + dn(dt));
    expect_close(ops::rowdot(a, b), ops::rowdot(ga, gb), "rowdot " + dn(dt));
    // A wide, short matrix (one chunk per column tile) and a single row.
    const Tensor w = rand_tensor({3, 7050}, dt, 20);
    expect_close(ops::sum_cols(w), ops::sum_cols(w.to(gpu())), "sum_cols wide " + dn(dt));
  }
}

// ---- rows ------------------------------------------------------------------------------------------
TEST(CudaParity, GatherScatter) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dt : kFloats)
    for (DType it : {DType::I32, DType::I64}) {
      const Tensor src = rand_tensor({50, 16}, dt, 22);
      const Tensor idx = rand_index(300, 50, it, 23);  // many duplicates: exercises the atomics
      const std::string name = dn(dt) + "/" + dn(it);
      expect_close(ops::gather_rows(src, idx), ops::gather_rows(src.to(gpu()), idx.to(gpu())),
                   "gather " + name);
      const Tensor upd = rand_tensor({300, 16}, dt, 24);
      Tensor dst = rand_tensor({50, 16}, dt, 25), gdst = dst.to(gpu());
      ops::scatter_add_rows(dst, idx, upd);
      ops::scatter_add_rows(gdst, idx.to(gpu()), upd.to(gpu()));
      expect_close(dst, gdst, "scatter_add " + name, dt == DType::F64 ? 1e-12 : 1e-5);
      // A 1-D source: rows of one element.
      const Tensor v = rand_tensor({50}, dt, 26);
      expect_close(ops::gather_rows(v, idx), ops::gather_rows(v.to(gpu()), idx.to(gpu())),
                   "gather 1-D " + name);
    }
}

TEST(CudaParity, RowNormalisations) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dt : kFloats) {
    Tensor x = rand_tensor({129, 64}, dt, 27, -3, 3);
    // A zero row checks the eps clamp; a wide tensor checks long rows.
    std::vector<double> xv = host(x);
    std::fill(xv.begin() + 5 * 64, xv.begin() + 6 * 64, 0.0);
    x = Tensor::from_vector(xv, Shape{129, 64}).astype(dt);
    const Tensor gx = x.to(gpu());
    Tensor n_cpu, n_gpu;
    expect_close(ops::l2norm_rows(x, 1e-12, &n_cpu), ops::l2norm_rows(gx, 1e-12, &n_gpu), "l2norm " + dn(dt));
    expect_close(n_cpu, n_gpu, "l2norm norms " + dn(dt));
    expect_close(ops::softmax_rows(x), ops::softmax_rows(gx), "softmax " + dn(dt));
    expect_close(ops::logsumexp_rows(x), ops::logsumexp_rows(gx), "logsumexp " + dn(dt));
    const Tensor w = rand_tensor({7, 7050}, dt, 28, -20, 20);
    expect_close(ops::softmax_rows(w), ops::softmax_rows(w.to(gpu())), "softmax wide " + dn(dt));
    expect_close(ops::logsumexp_rows(w), ops::logsumexp_rows(w.to(gpu())), "logsumexp wide " + dn(dt));
    const Tensor two = rand_tensor({1000, 2}, dt, 29, -5, 5);  // the 2-way modality softmax
    expect_close(ops::softmax_rows(two), ops::softmax_rows(two.to(gpu())), "softmax 2-way " + dn(dt));
  }
}

TEST(CudaParity, CopyCols) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dt : kFloats) {
    const Tensor a = rand_tensor({31, 5}, dt, 30), b = rand_tensor({31, 64}, dt, 31),
                 c = rand_tensor({31, 3}, dt, 32);
    const Tensor cat = ops::concat_cols({a, b, c});
    const Tensor gcat = ops::concat_cols({a.to(gpu()), b.to(gpu()), c.to(gpu())});
    expect_equal(cat, gcat, "concat_cols " + dn(dt));
    expect_equal(ops::slice_cols(cat, 4, 40), ops::slice_cols(gcat, 4, 40), "slice_cols " + dn(dt));
  }
  const Tensor i = rand_index(60, 100, DType::I64, 33).reshape({20, 3});
  expect_equal(ops::slice_cols(i, 1, 3), ops::slice_cols(i.to(gpu()), 1, 3), "slice_cols i64");
}

// ---- masks and selection ---------------------------------------------------------------------------
TEST(CudaParity, TopkRows) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dt : kFloats)
    for (int64_t k : {1, 10, 50, 64, 100, 300}) {
      const Tensor a = rand_tensor({33, 300}, dt, 34 + static_cast<uint64_t>(k));
      Tensor v_cpu, i_cpu, v_gpu, i_gpu;
      ops::topk_rows(a, k, v_cpu, i_cpu);
      ops::topk_rows(a.to(gpu()), k, v_gpu, i_gpu);
      const std::string name = dn(dt) + " k=" + std::to_string(k);
      expect_equal(v_cpu, v_gpu, "topk values " + name);
      expect_equal(i_cpu, i_gpu, "topk indices " + name);
    }
}

TEST(CudaParity, TopkRowsTiesAndMaskedScores) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  // Few distinct values: both backends order equal values by the lower column.
  std::mt19937_64 gen(40);
  std::vector<float> v(64 * 700);
  for (auto& x : v) x = static_cast<float>(gen() % 5);
  const Tensor a = Tensor::from_vector(v, Shape{64, 700});
  for (int64_t k : {10, 50, 120}) {
    Tensor v_cpu, i_cpu, v_gpu, i_gpu;
    ops::topk_rows(a, k, v_cpu, i_cpu);
    ops::topk_rows(a.to(gpu()), k, v_gpu, i_gpu);
    expect_equal(v_cpu, v_gpu, "topk tie values k=" + std::to_string(k));
    expect_equal(i_cpu, i_gpu, "topk tie indices k=" + std::to_string(k));
  }
}

TEST(CudaParity, MaskedFillCsr) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  // Pattern: 30 users, random items out of 40.
  std::mt19937_64 gen(41);
  std::vector<int32_t> indptr{0}, cols;
  for (int u = 0; u < 30; ++u) {
    for (int j = 0; j < 40; ++j)
      if (gen() % 4 == 0) cols.push_back(j);
    indptr.push_back(static_cast<int32_t>(cols.size()));
  }
  const Tensor ip = Tensor::from_vector(indptr), cc = Tensor::from_vector(cols);
  const Tensor gip = ip.to(gpu()), gcc = cc.to(gpu());
  for (DType dt : kFloats) {
    for (DType it : {DType::I32, DType::I64}) {
      Tensor b = rand_tensor({25, 40}, dt, 43), gb = b.to(gpu());
      const Tensor rows = rand_index(25, 30, it, 44);
      ops::masked_fill_csr_rows(b, ip, cc, rows, -1e10);
      ops::masked_fill_csr_rows(gb, gip, gcc, rows.to(gpu()), -1e10);
      expect_equal(b, gb, "masked_fill_csr_rows " + dn(dt) + "/" + dn(it));
    }
  }
}

// ---- optimizer -------------------------------------------------------------------------------------
TEST(CudaParity, AdamStep) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dt : kFloats)
    for (double wd : {0.0, 1e-3}) {
      Tensor p = rand_tensor({4099}, dt, 45), m = Tensor::zeros({4099}, dt), v = Tensor::zeros({4099}, dt);
      Tensor gp = p.to(gpu()), gm = m.to(gpu()), gv = v.to(gpu());
      for (int64_t step = 1; step <= 5; ++step) {
        const Tensor g = rand_tensor({4099}, dt, 46 + static_cast<uint64_t>(step));
        ops::adam_step(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, wd, step);
        ops::adam_step(gp, g.to(gpu()), gm, gv, 1e-3, 0.9, 0.999, 1e-8, wd, step);
      }
      const std::string name = dn(dt) + " wd=" + std::to_string(wd);
      expect_close(p, gp, "adam param " + name);
      expect_close(m, gm, "adam m " + name);
      expect_close(v, gv, "adam v " + name);
    }
}

// ---- sparse ----------------------------------------------------------------------------------------
TEST(CudaParity, Spmm) {
  if (!lethe::cuda_available()) GTEST_SKIP() << "no CUDA device";
  const Csr a32 = rand_csr(70, 50, 0.1, 47);
  for (DType dt : kFloats) {
    const Csr a = dt == DType::F32 ? a32 : a32.astype(DType::F64);
    const Csr ga = a.to(gpu());
    for (int trans = 0; trans < 2; ++trans) {
      const Tensor x = rand_tensor({trans ? a.rows : a.cols, 16}, dt, 48);
      Tensor y = rand_tensor({trans ? a.cols : a.rows, 16}, dt, 49), gy = y.to(gpu());
      ops::spmm(a, trans, x, y, 1.3, 0.4);
      ops::spmm(ga, trans, x.to(gpu()), gy, 1.3, 0.4);
      expect_close(y, gy, "spmm " + dn(dt) + " trans=" + std::to_string(trans));
    }
    const Tensor x = rand_tensor({a.cols, 64}, dt, 50);
    expect_close(ops::spmm(a, x), ops::spmm(ga, x.to(gpu())), "spmm A X " + dn(dt));
    const Tensor col = rand_tensor({a.cols, 1}, dt, 51);
    expect_close(ops::spmm(a, col), ops::spmm(ga, col.to(gpu())), "spmm A x (one column) " + dn(dt));
  }
  // An empty matrix: Y = beta Y.
  const Csr empty = Csr::from_coo(10, 12, {}, {}, {});
  const Tensor x = rand_tensor({12, 4}, DType::F32, 52);
  Tensor y = rand_tensor({10, 4}, DType::F32, 53), gy = y.to(gpu());
  ops::spmm(empty, false, x, y, 1.0, 0.5);
  ops::spmm(empty.to(gpu()), false, x.to(gpu()), gy, 1.0, 0.5);
  expect_close(y, gy, "spmm empty");
}

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
  const Tensor a = rand_tensor({123, 45}, DType::F32, 54);
  const Tensor g = a.to(gpu());
  expect_equal(a, g.clone(), "device-to-device clone");
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
