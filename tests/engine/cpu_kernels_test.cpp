// The CPU backend's work sharing and vectorised math (engine/cpu/pool.h, parallel.h, blas.cpp, vmath.h): the
// pool runs every block once (nested and concurrent regions too); blocks cover every element once; GEMMs cut
// into panels match a double reference in every transpose case and give bit-identical results for any thread
// count; the f32 exp / sigmoid / tanh stay within a few ulp of libm; the row softmax / log-sum-exp keep their
// edge cases (-inf rows, +inf, NaN).
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "engine/cpu/info.h"
#include "engine/cpu/parallel.h"
#include "engine/cpu/pool.h"
#include "engine/cpu/vmath.h"
#include "helpers.h"

namespace lethe {
namespace {

// Restores the OpenMP team size when a test changes it.
struct Threads {
  explicit Threads(int n) : saved(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~Threads() { omp_set_num_threads(saved); }
  int saved;
};

TEST(CpuParallel, BlocksCoverEveryElementOnce) {
  for (const int64_t n : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{16384}, int64_t{100003}}) {
    for (const int64_t grain : {int64_t{1}, int64_t{5}, int64_t{4096}, int64_t{1} << 20}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      cpu::detail::parallel_blocks(n, grain, true, [&](int64_t lo, int64_t hi) {
        EXPECT_LE(hi - lo, grain);
        for (int64_t i = lo; i < hi; ++i) hits[static_cast<size_t>(i)]++;
      });
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n " << n << " grain " << grain;
    }
  }
}

// The pool: every block runs once; a region inside a block, and regions started by two threads at once,
// still run every block (inline when the pool is busy); a thread count from omp_set_num_threads is used.
TEST(CpuPool, RunsEveryBlockOnceNestedAndConcurrent) {
  Threads t(4);
  EXPECT_EQ(cpu::detail::pool_threads(), 4);
  for (int rep = 0; rep < 200; ++rep) {
    std::vector<std::atomic<int>> hits(37);
    auto body = [&](int64_t b) {
      hits[static_cast<size_t>(b)]++;
      if (b == 5) {  // nested: runs inline on this thread
        std::atomic<int> inner{0};
        auto in = [&](int64_t) { inner++; };
        cpu::detail::pool_for(9, in);
        EXPECT_EQ(inner.load(), 9);
      }
    };
    cpu::detail::pool_for(37, body);
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
  std::vector<std::atomic<int64_t>> sums(2);
  auto region = [&](int who) {
    for (int rep = 0; rep < 100; ++rep) {
      auto body = [&](int64_t b) { sums[static_cast<size_t>(who)] += b; };
      cpu::detail::pool_for(64, body);
    }
  };
  std::thread a(region, 0), b(region, 1);
  a.join();
  b.join();
  EXPECT_EQ(sums[0].load(), 100 * 64 * 63 / 2);
  EXPECT_EQ(sums[1].load(), 100 * 64 * 63 / 2);
}

// Naive double reference of op(A) op(B).
std::vector<double> gemm_ref(const Tensor& a, bool ta, const Tensor& b, bool tb) {
  const std::vector<double> av = test::host(a), bv = test::host(b);
  const int64_t m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1), n = tb ? b.dim(0) : b.dim(1);
  std::vector<double> c(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int64_t p = 0; p < k; ++p)
        s += av[static_cast<size_t>(ta ? p * m + i : i * k + p)] *
             bv[static_cast<size_t>(tb ? j * k + p : p * n + j)];
      c[static_cast<size_t>(i * n + j)] = s;
    }
  return c;
}

// Shapes large enough to be cut into row panels (m >= n) and column panels (n > m).
TEST(CpuGemm, PanelsMatchReferenceInEveryTransposeCase) {
  struct Case {
    int64_t m, n, k;
  };
  for (const Case cs : {Case{700, 24, 300}, Case{20, 900, 260}}) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      const Tensor a = test::rand_tensor<float>(ta ? Shape{cs.k, cs.m} : Shape{cs.m, cs.k}, 3 + t);
      const Tensor b = test::rand_tensor<float>(tb ? Shape{cs.n, cs.k} : Shape{cs.k, cs.n}, 9 + t);
      const Tensor c0 = test::rand_tensor<float>({cs.m, cs.n}, 17);
      Tensor c = c0.clone();
      ops::gemm(a, ta, b, tb, c, 0.5, -2.0);
      const std::vector<double> ab = gemm_ref(a, ta, b, tb), prev = test::host(c0);
      std::vector<double> want(ab.size());
      for (size_t i = 0; i < ab.size(); ++i) want[i] = 0.5 * ab[i] - 2.0 * prev[i];
      EXPECT_LT(test::max_rel_err(test::host(c), want), 2e-5)
          << cs.m << "x" << cs.n << "x" << cs.k << " case " << t;
    }
  }
}

TEST(CpuGemm, ResultsDoNotDependOnThreadCount) {
  const Tensor a = test::rand_tensor<float>({2100, 512}, 5), b = test::rand_tensor<float>({64, 512}, 6);
  const Tensor wide = test::rand_tensor<float>({48, 3000}, 7);
  auto run = [&] {
    std::vector<double> out = test::host(ops::matmul(a, b, false, true));          // row panels
    for (double v : test::host(ops::matmul(b, a, false, true))) out.push_back(v);  // column panels
    for (double v : test::host(ops::matmul(wide, wide, true, false))) out.push_back(v);
    return out;
  };
  std::vector<double> one, three;
  {
    Threads t(1);
    one = run();
  }
  {
    Threads t(3);
    three = run();
  }
  EXPECT_EQ(one, three);
}

// The OpenMP build of OpenBLAS is held to one thread around each call; the caller's thread count comes back.
TEST(CpuGemm, CallerThreadCountIsKept) {
  Threads t(3);
  const Tensor a = test::rand_tensor<float>({700, 300}, 1), b = test::rand_tensor<float>({300, 40}, 2);
  (void)ops::matmul(a, b);
  EXPECT_EQ(omp_get_max_threads(), 3);
}

// The kernel set to restart with is one OpenBLAS knows, and none where the user named one
// (docs/architecture.md, "BLAS kernels"); the restart itself is tested through the binary
// (CliTrain.VersionNames...).
TEST(CpuGemm, BlasCoreToRestartWithIsAKnownSetAndNoneWhereTheUserChoseOne) {
  const char* set = std::getenv("OPENBLAS_CORETYPE");
  const std::string saved = set ? set : "";
  unsetenv("OPENBLAS_CORETYPE");
  const std::string core = cpu::blas_core_to_restart_with();
  EXPECT_TRUE(core.empty() || core == "SkylakeX" || core == "Haswell") << core;
  setenv("OPENBLAS_CORETYPE", "Prescott", 1);
  EXPECT_EQ(cpu::blas_core_to_restart_with(), "");
  if (set)
    setenv("OPENBLAS_CORETYPE", saved.c_str(), 1);
  else
    unsetenv("OPENBLAS_CORETYPE");
}

TEST(CpuGemm, ThreadingSummaryNamesTheBlasBuild) {
  const std::string s = cpu::threading_summary();
  EXPECT_NE(s.find("OpenBLAS"), std::string::npos) << s;
  EXPECT_NE(s.find("threads"), std::string::npos) << s;
}

// Max error in units of float spacing at the reference value.
double ulps(double got, double want) {
  const double spacing = std::nextafter(static_cast<float>(want), std::numeric_limits<float>::infinity()) -
                         static_cast<double>(static_cast<float>(want));
  return std::abs(got - want) / spacing;
}

TEST(CpuVmath, ExpWithinFewUlpOverTheFloatRange) {
  double worst = 0.0;
  for (float x = -87.0f; x < 88.7f; x += 0.0137f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, ulps(cpu::detail::vexp(x), want));
  }
  EXPECT_LT(worst, 3.0);
  EXPECT_EQ(cpu::detail::vexp(0.0f), 1.0f);
  EXPECT_EQ(cpu::detail::vexp(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(cpu::detail::vexp(-200.0f), 0.0f);
  EXPECT_EQ(cpu::detail::vexp(100.0f), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(cpu::detail::vexp(std::numeric_limits<float>::quiet_NaN())));
  // Subnormal results stay close to libm's (absolute error below the smallest normal).
  EXPECT_NEAR(cpu::detail::vexp(-100.0f), std::exp(-100.0f), 1e-44);
}

TEST(CpuVmath, SigmoidAndTanhWithinFewUlp) {
  double worst_sig = 0.0, worst_tanh = 0.0;
  for (float x = -30.0f; x < 30.0f; x += 0.00731f) {
    const double xd = x;
    const double sig = xd >= 0 ? 1.0 / (1.0 + std::exp(-xd)) : std::exp(xd) / (1.0 + std::exp(xd));
    worst_sig = std::max(worst_sig, ulps(cpu::detail::vsigmoid(x), sig));
    if (std::abs(x) > 1e-30f) worst_tanh = std::max(worst_tanh, ulps(cpu::detail::vtanh(x), std::tanh(xd)));
  }
  EXPECT_LT(worst_sig, 4.0);
  EXPECT_LT(worst_tanh, 4.0);
  EXPECT_EQ(cpu::detail::vtanh(0.0f), 0.0f);
  EXPECT_EQ(cpu::detail::vtanh(100.0f), 1.0f);
  EXPECT_EQ(cpu::detail::vtanh(-100.0f), -1.0f);
  EXPECT_EQ(cpu::detail::vsigmoid(-200.0f), 0.0f);
  EXPECT_EQ(cpu::detail::vsigmoid(200.0f), 1.0f);
}

// The f32 loops run the instruction-set clone this machine picks (FMA may change the last bit).
TEST(CpuVmath, LoopClonesWithinFewUlp) {
  std::vector<float> x;
  for (float v = -87.0f; v < 88.0f; v += 0.0173f) x.push_back(v);
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<float> e(x.size()), es(x.size()), sg(x.size()), th(x.size());
  cpu::detail::exp_f32(x.data(), e.data(), n);
  cpu::detail::exp_shift_f32(x.data(), 1.5f, es.data(), n);
  cpu::detail::sigmoid_f32(x.data(), sg.data(), n);
  cpu::detail::tanh_f32(x.data(), th.data(), n);
  double we = 0, ws = 0, wg = 0, wt = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    we = std::max(we, ulps(e[i], std::exp(v)));
    if (v - 1.5 > -87.0) ws = std::max(ws, ulps(es[i], std::exp(static_cast<double>(x[i] - 1.5f))));
    const double sig = v >= 0 ? 1.0 / (1.0 + std::exp(-v)) : std::exp(v) / (1.0 + std::exp(v));
    wg = std::max(wg, ulps(sg[i], sig));
    if (std::abs(v) > 1e-30) wt = std::max(wt, ulps(th[i], std::tanh(v)));
  }
  EXPECT_LT(we, 3.0);
  EXPECT_LT(ws, 3.0);
  EXPECT_LT(wg, 4.0);
  EXPECT_LT(wt, 4.0);
  // In place (y aliases x), as the unary kernels may be called.
  std::vector<float> inplace = x;
  cpu::detail::exp_f32(inplace.data(), inplace.data(), n);
  EXPECT_EQ(inplace, e);
}

TEST(CpuRows, SoftmaxAndLogsumexpEdgeCases) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // Rows: all -inf; one +inf; a NaN; ordinary values over 19 columns (not a multiple of the lanes).
  std::vector<float> v(4 * 19, -inf);
  v[19 + 3] = inf;
  for (int c = 0; c < 19; ++c) v[2 * 19 + c] = 0.1f * static_cast<float>(c);
  v[2 * 19 + 7] = nan;
  for (int c = 0; c < 19; ++c) v[3 * 19 + c] = 0.3f * static_cast<float>(c) - 2.0f;
  const Tensor x = Tensor::from_vector(v, {4, 19});
  const std::vector<double> lse = test::host(ops::logsumexp_rows(x));
  EXPECT_EQ(lse[0], -inf);
  EXPECT_EQ(lse[1], inf);
  EXPECT_TRUE(std::isnan(lse[2]));
  double s = 0.0, mx = -1e30;
  for (int c = 0; c < 19; ++c) mx = std::max(mx, 0.3 * c - 2.0);
  for (int c = 0; c < 19; ++c) s += std::exp(0.3 * c - 2.0 - mx);
  EXPECT_NEAR(lse[3], mx + std::log(s), 1e-5);
  const std::vector<double> sm = test::host(ops::softmax_rows(x));
  for (int c = 0; c < 19; ++c) {
    EXPECT_TRUE(std::isnan(sm[static_cast<size_t>(2 * 19 + c)]));
    EXPECT_NEAR(sm[static_cast<size_t>(3 * 19 + c)], std::exp(0.3 * c - 2.0 - mx) / s, 1e-6);
  }
}

// Top-k with the block skipping equals a full sort by (NaN first, larger value, lower index), on rows with
// ties, NaN, -inf and masked values, widths around the scan block.
TEST(CpuSelect, TopkMatchesFullSortWithTiesAndNaN) {
  std::mt19937 gen(5);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (const int64_t cols :
       {int64_t{1}, int64_t{31}, int64_t{32}, int64_t{33}, int64_t{700}, int64_t{7050}}) {
    const int64_t rows = 40;
    std::vector<float> v(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        float x = static_cast<float>(static_cast<int>(gen() % 200)) * 0.25f;  // many ties
        const unsigned kind = gen() % 100;
        if (r % 5 == 1 && kind < 3) x = nan;
        if (kind == 7) x = -inf;
        if (kind == 8) x = -1e30f;                               // a masked score
        if (r % 7 == 3 && c > cols / 2 && kind < 10) x = 60.0f;  // better items late in the row
        v[static_cast<size_t>(r * cols + c)] = x;
      }
    const Tensor a = Tensor::from_vector(v, {rows, cols});
    for (const int64_t k : {int64_t{1}, int64_t{5}, int64_t{50}, cols}) {
      if (k > cols) continue;
      Tensor vals = Tensor::empty({rows, k}), idx = Tensor::empty({rows, k}, DType::I32);
      ops::topk_rows(a, k, vals, idx);
      const std::vector<int32_t> got = idx.to_vector<int32_t>();
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<int32_t> order(static_cast<size_t>(cols));
        for (int64_t c = 0; c < cols; ++c) order[static_cast<size_t>(c)] = static_cast<int32_t>(c);
        const float* row = v.data() + r * cols;
        std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) {
          const bool xn = std::isnan(row[x]), yn = std::isnan(row[y]);
          if (xn != yn) return xn;
          if (!xn && row[x] != row[y]) return row[x] > row[y];
          return x < y;
        });
        for (int64_t j = 0; j < k; ++j)
          ASSERT_EQ(got[static_cast<size_t>(r * k + j)], order[static_cast<size_t>(j)])
              << "cols " << cols << " k " << k << " row " << r << " rank " << j;
      }
    }
  }
}

}  // namespace
}  // namespace lethe
