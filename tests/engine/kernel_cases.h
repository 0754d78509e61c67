// The kernel case table, in the spirit of ggml's tests/test-backend-ops.cpp: one or more rows per kernel of
// engine/backend_api.inc, each saying how to make seeded host inputs, how to run the kernel through the
// public lethe::ops API, how two devices' outputs are compared and what one run costs. One table drives
//   * tests/engine/cuda_parity_test.cpp: CPU and CUDA run every row on the same inputs and must agree
//     (reported as skipped without a GPU); the CPU result of every row must not depend on the thread count;
//   * bench/backend_ops_bench.cpp: the rows marked `perf` are timed at Baby-like sizes (19,445 users,
//     7,050 items, 64-dim embeddings, batches of 2,048), with GB/s and GFLOP/s from the napkin cost.
// A kernel of engine/backend_api.inc, or a function of engine/unary.h, without a row fails to compile (the
// static_asserts at the end); so does a row naming a kernel that does not exist (docs/architecture.md,
// "Test tables").
//
// Rows keep the edge cases of the hand-written lists they replace: F32 and F64, I32 and I64 indices, all
// four GEMM transposes with alpha and beta, ties in top-k (lower column first), many duplicate indices in
// scatter-add, zero rows in l2norm / softmax, wide rows, 1-D gather sources, an empty sparse matrix.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

#include "engine/ops.h"
#include "engine/sparse.h"
#include "engine/tensor.h"
#include "engine/unary.h"

namespace lethe::test::kernels {

// The dtype combinations a row runs for: F32 and F64; F32 and F64 times I32 and I64 indices; or the row's
// own dtypes (then Spec::dt and Spec::it are not used).
enum class Types : uint8_t { Float, FloatIndex, Fixed };

// How two devices' outputs are compared: within a relative tolerance, or bit for bit (copies, masks, top-k).
enum class Match : uint8_t { Close, Exact };

// One run of a row: the dtypes, the row's parameter and the size (small odd shapes for parity, Baby-like
// shapes for the perf mode).
struct Spec {
  DType dt = DType::F32;
  DType it = DType::I32;
  int64_t arg = 0;
  bool perf = false;
};

// A row's inputs, made on the host: dense tensors and CSR matrices.
struct Inputs {
  std::vector<Tensor> t;
  std::vector<Csr> csr;
  // A copy on `dev` (kernels that work in place modify their inputs).
  Inputs to(Device dev) const {
    Inputs out;
    for (const Tensor& x : t) out.t.push_back(x.to(dev));
    for (const Csr& a : csr) out.csr.push_back(a.to(dev));
    return out;
  }
};

using Outputs = std::vector<Tensor>;

// Napkin cost of one run: compulsory bytes moved and floating-point operations.
struct Cost {
  double bytes = 0, flops = 0;
};

struct KernelCase {
  std::string_view kernel;   // its name in engine/backend_api.inc
  std::string_view variant;  // what the row exercises; (kernel, variant) is unique
  Types types = Types::Float;
  int64_t arg = 0;  // the row's parameter (transposes, k, a Unary, a shape choice), passed in Spec::arg
  Inputs (*make)(const Spec&) = nullptr;
  Outputs (*run)(Inputs&, const Spec&) = nullptr;
  Match match = Match::Close;
  double rtol_f32 = 2e-5, rtol_f64 = 1e-12;  // Close: |cuda - cpu| <= rtol * (|cpu| + mean |cpu|)
  bool perf = false;                         // timed by bench/backend_ops_bench.cpp
  Cost (*cost)(const Inputs&, const Outputs&, const Spec&) = nullptr;  // null: bytes of inputs + outputs
};

// ---- input helpers -------------------------------------------------------------------------------------

// Uniform values in [lo, hi), drawn in double and converted to dt.
inline Tensor rand(const Shape& shape, DType dt, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) x = u(gen);
  return Tensor::from_vector(v, shape).astype(dt);
}

// n indices in [0, bound) as I32 or I64; with n > bound, many duplicates.
inline Tensor rand_index(int64_t n, int64_t bound, DType it, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> u(0, bound - 1);
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t& x : v) x = u(gen);
  return Tensor::from_vector(v).astype(it);
}

// A random CSR matrix: `entries` (row, column) draws with duplicates summed, values in [-1, 1), dtype dt.
inline Csr rand_csr(int64_t rows, int64_t cols, int64_t entries, DType dt, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<int32_t> r, c;
  std::vector<float> v;
  for (int64_t e = 0; e < entries; ++e) {
    r.push_back(static_cast<int32_t>(gen() % static_cast<uint64_t>(rows)));
    c.push_back(static_cast<int32_t>(gen() % static_cast<uint64_t>(cols)));
    v.push_back(static_cast<float>(u(gen)));
  }
  return Csr::from_coo(rows, cols, r, c, v).astype(dt);
}

// The symmetric user-item graph of a Baby-sized data set: 118,000 random interactions over 19,445 users and
// 7,050 items, both directions (about 236k non-zeros over 26,495 nodes).
inline Csr baby_graph(DType dt) {
  const int32_t users = 19445, items = 7050;
  std::mt19937_64 gen(7);
  std::vector<int32_t> r, c;
  std::vector<float> v;
  for (int64_t e = 0; e < 118000; ++e) {
    const int32_t u = static_cast<int32_t>(gen() % users), i = users + static_cast<int32_t>(gen() % items);
    r.insert(r.end(), {u, i});
    c.insert(c.end(), {i, u});
    v.insert(v.end(), {0.1f, 0.1f});
  }
  return Csr::from_coo(users + items, users + items, r, c, v).astype(dt);
}

inline double nbytes(const std::vector<Tensor>& ts) {
  double b = 0;
  for (const Tensor& t : ts) b += static_cast<double>(t.nbytes());
  return b;
}

inline double nbytes(const Csr& a) {
  return static_cast<double>(a.indptr.nbytes() + a.indices.nbytes() + a.values.nbytes());
}

// The default cost: every input read once and every output written once (an in-place output appears in
// both lists: read and written).
inline Cost default_cost(const Inputs& in, const Outputs& out, const Spec&) {
  double b = nbytes(in.t) + nbytes(out);
  for (const Csr& a : in.csr) b += nbytes(a);
  return {b, 0};
}

// Baby-like shapes of the perf mode.
constexpr int64_t kNodes = 26495, kItems = 7050, kDim = 64, kBatch = 2048;

// ---- GEMM: arg bit 1 = trans_a, bit 0 = trans_b ---------------------------------------------------------
// Parity: [37 x 300] x [300 x 29], alpha 0.7, beta 0.3, plus matmul (beta = 0 over a fresh C). Perf: the
// feature projection (nn), the evaluation score block (nt) and the projection's weight gradient (tn).
inline Inputs gemm_make(const Spec& s) {
  const bool ta = s.arg & 2, tb = s.arg & 1;
  int64_t m = 37, k = 300, n = 29;
  if (s.perf && !ta && !tb) m = kItems, k = 4096, n = kDim;
  if (s.perf && !ta && tb) m = 4096, k = kDim, n = kItems;
  if (s.perf && ta) m = 4096, k = kItems, n = kDim;
  return {{rand(ta ? Shape{k, m} : Shape{m, k}, s.dt, 1), rand(tb ? Shape{n, k} : Shape{k, n}, s.dt, 2),
           rand({m, n}, s.dt, 3)},
          {}};
}
inline Outputs gemm_run(Inputs& in, const Spec& s) {
  const bool ta = s.arg & 2, tb = s.arg & 1;
  ops::gemm(in.t[0], ta, in.t[1], tb, in.t[2], 0.7, 0.3);
  if (s.perf) return {in.t[2]};
  return {in.t[2], ops::matmul(in.t[0], in.t[1], ta, tb)};
}
inline Cost gemm_cost(const Inputs& in, const Outputs& out, const Spec& s) {
  const Tensor& a = in.t[0];
  const Tensor& c = in.t[2];
  const double k = static_cast<double>((s.arg & 2) ? a.dim(0) : a.dim(1));
  return {nbytes(in.t) + nbytes(out), 2.0 * static_cast<double>(c.numel()) * k};
}

// ---- elementwise ---------------------------------------------------------------------------------------
inline Shape table_shape(const Spec& s, Shape small) { return s.perf ? Shape{kNodes, kDim} : small; }

inline Inputs pair_make(const Spec& s) {  // a, b of one odd shape
  return {{rand(table_shape(s, {41, 17}), s.dt, 4), rand(table_shape(s, {41, 17}), s.dt, 5)}, {}};
}
inline Inputs vector_pair_make(const Spec& s) {  // x, y of 1001 elements (not a multiple of a block)
  const Shape shape = s.perf ? Shape{kNodes * kDim} : Shape{1001};
  return {{rand(shape, s.dt, 6), rand(shape, s.dt, 7)}, {}};
}
inline Inputs fill_make(const Spec& s) { return {{rand(table_shape(s, {13, 7}), s.dt, 8)}, {}}; }
inline Cost write_only_cost(const Inputs&, const Outputs& out, const Spec&) { return {nbytes(out), 0}; }

// a [53, 19], v [19] (per column), s [53] (per row).
inline Inputs broadcast_make(const Spec& s) {
  const Shape a = table_shape(s, {53, 19});
  return {{rand(a, s.dt, 9), rand({a[1]}, s.dt, 10), rand({a[0]}, s.dt, 11)}, {}};
}

// Unary rows: arg = the Unary. Log, Sqrt and Rsqrt get positive inputs; the others span [-6, 6].
inline bool positive_domain(ops::Unary op) {
  return op == ops::Unary::Log || op == ops::Unary::Sqrt || op == ops::Unary::Rsqrt;
}
inline Tensor unary_input(const Spec& s) {
  const auto op = static_cast<ops::Unary>(s.arg);
  const Shape shape = s.perf ? Shape{kNodes * kDim} : Shape{777};
  return positive_domain(op) ? rand(shape, s.dt, 12, 0.05, 4.0) : rand(shape, s.dt, 12, -6.0, 6.0);
}
inline Inputs unary_make(const Spec& s) { return {{unary_input(s)}, {}}; }
// x, y = f(x) (computed on the host, so that both devices' backward kernels read the same y) and gy.
inline Inputs unary_backward_make(const Spec& s) {
  const Tensor x = unary_input(s);
  return {{x, ops::unary(static_cast<ops::Unary>(s.arg), x), rand(x.shape(), s.dt, 13)}, {}};
}
inline Outputs unary_run(Inputs& in, const Spec& s) {
  return {ops::unary(static_cast<ops::Unary>(s.arg), in.t[0])};
}
inline Outputs unary_backward_run(Inputs& in, const Spec& s) {
  return {ops::unary_backward(static_cast<ops::Unary>(s.arg), in.t[0], in.t[1], in.t[2])};
}
// Functions whose derivative reads y also take an undefined x.
inline Outputs unary_backward_y_only_run(Inputs& in, const Spec& s) {
  return {ops::unary_backward(static_cast<ops::Unary>(s.arg), Tensor(), in.t[1], in.t[2])};
}
constexpr int64_t unary_arg(ops::Unary op) { return static_cast<int64_t>(op); }

// ---- reductions: arg 0 = [2051, 67] (several blocks of partial sums, odd edges), 1 = wide [3, 7050] ------
inline Inputs reduce_make(const Spec& s) {
  const Shape shape = s.perf ? Shape{kNodes, kDim} : s.arg == 1 ? Shape{3, 7050} : Shape{2051, 67};
  return {{rand(shape, s.dt, 18), rand(shape, s.dt, 19)}, {}};
}
inline Inputs rowdot_make(const Spec& s) {  // perf: the scores of a BPR batch
  const Shape shape = s.perf ? Shape{kBatch, kDim} : Shape{2051, 67};
  return {{rand(shape, s.dt, 18), rand(shape, s.dt, 19)}, {}};
}
inline Cost first_input_cost(const Inputs& in, const Outputs& out, const Spec&) {
  return {static_cast<double>(in.t[0].nbytes()) + nbytes(out), 0};
}

// ---- rows: arg 0 = a [50, 16] source, 1 = a 1-D source of 50; 300 indices, many duplicates --------------
// Perf: 6,144 rows (users, positives and negatives of a batch) out of the 26,495-row embedding table.
inline Inputs gather_make(const Spec& s) {
  const int64_t n = s.perf ? kNodes : 50, count = s.perf ? 3 * kBatch : 300;
  const Shape src = s.arg == 1 ? Shape{n} : Shape{n, s.perf ? kDim : 16};
  return {{rand(src, s.dt, 22), rand_index(count, n, s.it, 23)}, {}};
}
inline Cost gather_cost(const Inputs& in, const Outputs& out, const Spec&) {  // the rows read, written, idx
  return {2.0 * nbytes(out) + static_cast<double>(in.t[1].nbytes()), 0};
}
inline Inputs scatter_make(const Spec& s) {
  const int64_t n = s.perf ? kNodes : 50, count = s.perf ? 3 * kBatch : 300, d = s.perf ? kDim : 16;
  return {{rand({n, d}, s.dt, 25), rand_index(count, n, s.it, 23), rand({count, d}, s.dt, 24)}, {}};
}
inline Outputs scatter_run(Inputs& in, const Spec&) {
  ops::scatter_add_rows(in.t[0], in.t[1], in.t[2]);
  return {in.t[0]};
}
inline Cost scatter_cost(const Inputs& in, const Outputs&,
                         const Spec&) {  // src read, dst rows read + written
  return {3.0 * static_cast<double>(in.t[2].nbytes()) + static_cast<double>(in.t[1].nbytes()), 0};
}

// ---- row-wise normalisations: arg 0 = [129, 64] in [-3, 3) with a zero row (the eps clamp, an all-equal
// softmax row), 1 = wide [7, 7050] in [-20, 20), 2 = [1000, 2] (MGCN's two-way modality softmax).
// Perf: 0 = the embedding table, 1 = contrastive logits [2048, 2048], 2 = [26495, 2].
inline Inputs rownorm_make(const Spec& s) {
  if (s.arg == 1) return {{rand(s.perf ? Shape{kBatch, kBatch} : Shape{7, 7050}, s.dt, 28, -20, 20)}, {}};
  if (s.arg == 2) return {{rand(s.perf ? Shape{kNodes, 2} : Shape{1000, 2}, s.dt, 29, -5, 5)}, {}};
  const Shape shape = table_shape(s, {129, 64});
  std::vector<double> x = rand(shape, DType::F64, 27, -3, 3).to_vector<double>();
  std::fill(x.begin() + 5 * shape[1], x.begin() + 6 * shape[1], 0.0);
  return {{Tensor::from_vector(x, shape).astype(s.dt)}, {}};
}
inline Outputs l2norm_run(Inputs& in, const Spec&) {
  Tensor norms;
  Tensor y = ops::l2norm_rows(in.t[0], 1e-12, &norms);
  return {y, norms};
}

// ---- column blocks: concat_cols of [31, 5], [31, 64], [31, 3] and a slice across the seams ----------------
inline Inputs cols_make(const Spec& s) {
  const int64_t n = s.perf ? kItems : 31;
  return {{rand({n, 5}, s.dt, 30), rand({n, 64}, s.dt, 31), rand({n, 3}, s.dt, 32)}, {}};
}
inline Outputs cols_run(Inputs& in, const Spec& s) {
  const Tensor cat = ops::concat_cols({in.t[0], in.t[1], in.t[2]});
  if (s.perf) return {cat};
  return {cat, ops::slice_cols(cat, 4, 40)};
}

// ---- top-k: arg = k. Rows of 300 random values; perf: one evaluation block of 2,048 users x 7,050 items ---
inline Inputs topk_make(const Spec& s) {
  return {{rand(s.perf ? Shape{kBatch, kItems} : Shape{33, 300}, s.dt, 34 + static_cast<uint64_t>(s.arg))},
          {}};
}
// Five distinct values over [64, 700]: most comparisons are ties, which both backends order by the lower
// column.
inline Inputs topk_ties_make(const Spec& s) {
  std::mt19937_64 gen(40);
  std::vector<double> v(64 * 700);
  for (double& x : v) x = static_cast<double>(gen() % 5);
  return {{Tensor::from_vector(v, Shape{64, 700}).astype(s.dt)}, {}};
}
inline Outputs topk_run(Inputs& in, const Spec& s) {
  Tensor values, indices;
  ops::topk_rows(in.t[0], s.arg, values, indices);
  return {values, indices};
}
inline Cost topk_cost(const Inputs& in, const Outputs& out, const Spec&) {  // scores read once
  return {nbytes(in.t) + nbytes(out), 0};
}

// ---- masked fill through a CSR pattern: 30 users over 40 items (about a quarter set), 25 rows of scores
// for random users (repeats allowed). Perf: 19,445 users with 6 items each, a block of 2,048 users.
inline Inputs masked_fill_make(const Spec& s) {
  const int64_t users = s.perf ? 19445 : 30, items = s.perf ? kItems : 40, rows = s.perf ? kBatch : 25;
  std::mt19937_64 gen(41);
  std::vector<int32_t> indptr{0}, cols;
  for (int64_t u = 0; u < users; ++u) {
    if (s.perf) {
      for (int j = 0; j < 6; ++j) cols.push_back(static_cast<int32_t>(gen() % items));
      std::sort(cols.end() - 6, cols.end());
    } else {
      for (int32_t j = 0; j < items; ++j)
        if (gen() % 4 == 0) cols.push_back(j);
    }
    indptr.push_back(static_cast<int32_t>(cols.size()));
  }
  return {{rand({rows, items}, s.dt, 43), Tensor::from_vector(indptr), Tensor::from_vector(cols),
           rand_index(rows, users, s.it, 44)},
          {}};
}
inline Outputs masked_fill_run(Inputs& in, const Spec&) {
  ops::masked_fill_csr_rows(in.t[0], in.t[1], in.t[2], in.t[3], -1e10);
  return {in.t[0]};
}
// The pattern rows read (two indptr entries and the columns of each), the row ids, the values written.
inline Cost masked_fill_cost(const Inputs& in, const Outputs&, const Spec&) {
  const std::vector<int32_t> ip = in.t[1].to_vector<int32_t>();
  const std::vector<double> rows = in.t[3].astype(DType::F64).to_vector<double>();
  double entries = 0;
  for (double r : rows) entries += ip[static_cast<size_t>(r) + 1] - ip[static_cast<size_t>(r)];
  const double vsize = static_cast<double>(dtype_size(in.t[0].dtype()));
  return {entries * (4.0 + vsize) + static_cast<double>(rows.size()) * 8.0 +
              static_cast<double>(in.t[3].nbytes()),
          0};
}

// ---- Adam: arg 1 = with weight decay. Five steps of fresh gradients over 4,099 parameters; perf: one step
// over 8M parameters.
inline Inputs adam_make(const Spec& s) {
  const int64_t n = s.perf ? int64_t{8} << 20 : 4099;
  Inputs in{{rand({n}, s.dt, 45), Tensor::zeros({n}, s.dt), Tensor::zeros({n}, s.dt)}, {}};
  for (int step = 1; step <= (s.perf ? 1 : 5); ++step) in.t.push_back(rand({n}, s.dt, 46 + step));
  return in;
}
inline Outputs adam_run(Inputs& in, const Spec& s) {
  for (size_t g = 3; g < in.t.size(); ++g)
    ops::adam_step(in.t[0], in.t[g], in.t[1], in.t[2], 1e-3, 0.9, 0.999, 1e-8, s.arg ? 1e-3 : 0.0,
                   static_cast<int64_t>(g - 2));
  return {in.t[0], in.t[1], in.t[2]};
}
inline Cost adam_cost(const Inputs& in, const Outputs&, const Spec&) {  // per step: 4 reads + 3 writes
  return {static_cast<double>(in.t.size() - 3) * 7.0 * static_cast<double>(in.t[0].nbytes()), 0};
}

// ---- SpMM: arg 0 = Y = 1.3 A X + 0.4 Y, 1 = the same with A^T, 2 = A X over 64 columns, 3 = A x with one
// column, 4 = an empty A (Y = 0.4 Y). A is [70, 50] with about a tenth of its entries set; perf: the Baby
// user-item graph and a 64-dim embedding table.
inline Inputs spmm_make(const Spec& s) {
  const Csr a = s.perf       ? baby_graph(s.dt)
                : s.arg == 4 ? rand_csr(70, 50, 0, s.dt, 47)
                             : rand_csr(70, 50, 350, s.dt, 47);
  const bool trans = s.arg == 1;
  const int64_t m = s.perf || s.arg == 2 ? kDim : s.arg == 3 ? 1 : 16;
  return {{rand({trans ? a.rows : a.cols, m}, s.dt, 48), rand({trans ? a.cols : a.rows, m}, s.dt, 49)}, {a}};
}
inline Outputs spmm_run(Inputs& in, const Spec& s) {
  if (s.arg == 2 || s.arg == 3) return {ops::spmm(in.csr[0], in.t[0])};
  ops::spmm(in.csr[0], s.arg == 1, in.t[0], in.t[1], 1.3, 0.4);
  return {in.t[1]};
}
inline Cost spmm_cost(const Inputs& in, const Outputs& out, const Spec& s) {
  return {default_cost(in, out, s).bytes, 2.0 * static_cast<double>(in.csr[0].nnz()) * in.t[0].cols()};
}

// ---- dtype conversion: arg = the source dtype (257 values; floats in [-100, 100), indices in [0, 1000)),
// converted to every dtype it may be converted to (floats do not convert to integers).
inline Inputs astype_make(const Spec& s) {
  const auto from = static_cast<DType>(s.arg);
  const int64_t n = s.perf ? kNodes * kDim : 257;
  if (is_float(from)) return {{rand({n}, from, 14, -100, 100)}, {}};
  return {{rand_index(n, 1000, from, 15)}, {}};
}
inline Outputs astype_run(Inputs& in, const Spec& s) {
  const Tensor& x = in.t[0];
  if (s.perf) return {x.astype(DType::F64)};
  Outputs out{x.astype(DType::F32), x.astype(DType::F64)};
  if (!is_float(x.dtype())) out.insert(out.end(), {x.astype(DType::I32), x.astype(DType::I64)});
  return out;
}

// ---- the table -----------------------------------------------------------------------------------------
using U = ops::Unary;

inline constexpr KernelCase kKernelCases[] = {
    {.kernel = "gemm",
     .variant = "nn",
     .arg = 0,
     .make = gemm_make,
     .run = gemm_run,
     .perf = true,
     .cost = gemm_cost},
    {.kernel = "gemm",
     .variant = "nt",
     .arg = 1,
     .make = gemm_make,
     .run = gemm_run,
     .perf = true,
     .cost = gemm_cost},
    {.kernel = "gemm",
     .variant = "tn",
     .arg = 2,
     .make = gemm_make,
     .run = gemm_run,
     .perf = true,
     .cost = gemm_cost},
    {.kernel = "gemm", .variant = "tt", .arg = 3, .make = gemm_make, .run = gemm_run, .cost = gemm_cost},

    {.kernel = "add",
     .variant = "same shapes",
     .make = pair_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::add(in.t[0], in.t[1])}; },
     .perf = true},
    {.kernel = "sub",
     .variant = "same shapes",
     .make = pair_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::sub(in.t[0], in.t[1])}; },
     .perf = true},
    {.kernel = "mul",
     .variant = "same shapes",
     .make = pair_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::mul(in.t[0], in.t[1])}; },
     .perf = true},
    {.kernel = "scale",
     .variant = "vector",
     .make = vector_pair_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::scale(in.t[0], -1.7)}; },
     .perf = true,
     .cost = first_input_cost},
    {.kernel = "add_scalar",
     .variant = "vector",
     .make = vector_pair_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::add_scalar(in.t[0], 0.25)}; },
     .perf = true,
     .cost = first_input_cost},
    {.kernel = "axpy",
     .variant = "vector",
     .make = vector_pair_make,
     .run = [](Inputs& in, const Spec&) -> Outputs {
       ops::axpy(0.37, in.t[0], in.t[1]);
       return {in.t[1]};
     },
     .perf = true},
    {.kernel = "fill",
     .variant = "matrix",
     .make = fill_make,
     .run = [](Inputs& in, const Spec&) -> Outputs {
       ops::fill(in.t[0], 2.5);
       return {in.t[0]};
     },
     .match = Match::Exact,
     .perf = true,
     .cost = write_only_cost},
    {.kernel = "add_rowvec",
     .variant = "per column",
     .make = broadcast_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::add_rowvec(in.t[0], in.t[1])}; },
     .perf = true},
    {.kernel = "mul_rowvec",
     .variant = "per column",
     .make = broadcast_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::mul_rowvec(in.t[0], in.t[1])}; },
     .perf = true},
    {.kernel = "scale_rows",
     .variant = "per row",
     .make = broadcast_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::scale_rows(in.t[0], in.t[2])}; },
     .perf = true},

    {.kernel = "unary",
     .variant = "neg",
     .arg = unary_arg(U::Neg),
     .make = unary_make,
     .run = unary_run,
     .perf = true},
    {.kernel = "unary",
     .variant = "log",
     .arg = unary_arg(U::Log),
     .make = unary_make,
     .run = unary_run,
     .perf = true},
    {.kernel = "unary",
     .variant = "sigmoid",
     .arg = unary_arg(U::Sigmoid),
     .make = unary_make,
     .run = unary_run,
     .perf = true},
    {.kernel = "unary",
     .variant = "tanh",
     .arg = unary_arg(U::Tanh),
     .make = unary_make,
     .run = unary_run,
     .perf = true},
    {.kernel = "unary",
     .variant = "logsigmoid",
     .arg = unary_arg(U::LogSigmoid),
     .make = unary_make,
     .run = unary_run,
     .perf = true},
    {.kernel = "unary",
     .variant = "relu",
     .arg = unary_arg(U::Relu),
     .make = unary_make,
     .run = unary_run,
     .perf = true},
    {.kernel = "unary",
     .variant = "square",
     .arg = unary_arg(U::Square),
     .make = unary_make,
     .run = unary_run,
     .perf = true},
    {.kernel = "unary",
     .variant = "sqrt",
     .arg = unary_arg(U::Sqrt),
     .make = unary_make,
     .run = unary_run,
     .perf = true},
    {.kernel = "unary",
     .variant = "rsqrt",
     .arg = unary_arg(U::Rsqrt),
     .make = unary_make,
     .run = unary_run,
     .perf = true},
    {.kernel = "unary_backward",
     .variant = "neg",
     .arg = unary_arg(U::Neg),
     .make = unary_backward_make,
     .run = unary_backward_run,
     .perf = true},
    {.kernel = "unary_backward",
     .variant = "log",
     .arg = unary_arg(U::Log),
     .make = unary_backward_make,
     .run = unary_backward_run,
     .perf = true},
    {.kernel = "unary_backward",
     .variant = "sigmoid",
     .arg = unary_arg(U::Sigmoid),
     .make = unary_backward_make,
     .run = unary_backward_run,
     .perf = true},
    {.kernel = "unary_backward",
     .variant = "tanh",
     .arg = unary_arg(U::Tanh),
     .make = unary_backward_make,
     .run = unary_backward_run,
     .perf = true},
    {.kernel = "unary_backward",
     .variant = "logsigmoid",
     .arg = unary_arg(U::LogSigmoid),
     .make = unary_backward_make,
     .run = unary_backward_run,
     .perf = true},
    {.kernel = "unary_backward",
     .variant = "relu",
     .arg = unary_arg(U::Relu),
     .make = unary_backward_make,
     .run = unary_backward_run,
     .perf = true},
    {.kernel = "unary_backward",
     .variant = "square",
     .arg = unary_arg(U::Square),
     .make = unary_backward_make,
     .run = unary_backward_run,
     .perf = true},
    {.kernel = "unary_backward",
     .variant = "sqrt",
     .arg = unary_arg(U::Sqrt),
     .make = unary_backward_make,
     .run = unary_backward_run,
     .perf = true},
    {.kernel = "unary_backward",
     .variant = "rsqrt",
     .arg = unary_arg(U::Rsqrt),
     .make = unary_backward_make,
     .run = unary_backward_run,
     .perf = true},
    {.kernel = "unary_backward",
     .variant = "tanh from y only",
     .arg = unary_arg(U::Tanh),
     .make = unary_backward_make,
     .run = unary_backward_y_only_run},
    {.kernel = "unary_backward",
     .variant = "rsqrt from y only",
     .arg = unary_arg(U::Rsqrt),
     .make = unary_backward_make,
     .run = unary_backward_y_only_run},

    {.kernel = "sum",
     .variant = "tall",
     .make = reduce_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::sum(in.t[0])}; },
     .rtol_f32 = 1e-5,
     .rtol_f64 = 1e-10,
     .perf = true,
     .cost = first_input_cost},
    {.kernel = "sumsq",
     .variant = "tall",
     .make = reduce_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::sumsq(in.t[0])}; },
     .perf = true,
     .cost = first_input_cost},
    {.kernel = "sum_cols",
     .variant = "tall",
     .make = reduce_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::sum_cols(in.t[0])}; },
     .perf = true,
     .cost = first_input_cost},
    {.kernel = "sum_cols",
     .variant = "wide",
     .arg = 1,
     .make = reduce_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::sum_cols(in.t[0])}; },
     .cost = first_input_cost},
    {.kernel = "rowdot",
     .variant = "tall",
     .make = rowdot_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::rowdot(in.t[0], in.t[1])}; },
     .perf = true},

    {.kernel = "gather_rows",
     .variant = "2-D source",
     .types = Types::FloatIndex,
     .make = gather_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::gather_rows(in.t[0], in.t[1])}; },
     .match = Match::Exact,
     .perf = true,
     .cost = gather_cost},
    {.kernel = "gather_rows",
     .variant = "1-D source",
     .types = Types::FloatIndex,
     .arg = 1,
     .make = gather_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::gather_rows(in.t[0], in.t[1])}; },
     .match = Match::Exact,
     .cost = gather_cost},
    {.kernel = "scatter_add_rows",
     .variant = "duplicate indices",
     .types = Types::FloatIndex,
     .make = scatter_make,
     .run = scatter_run,
     .rtol_f32 = 1e-5,
     .perf = true,
     .cost = scatter_cost},

    {.kernel = "l2norm_rows",
     .variant = "with a zero row",
     .make = rownorm_make,
     .run = l2norm_run,
     .perf = true},
    {.kernel = "l2norm_rows", .variant = "wide", .arg = 1, .make = rownorm_make, .run = l2norm_run},
    {.kernel = "softmax_rows",
     .variant = "with a zero row",
     .make = rownorm_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::softmax_rows(in.t[0])}; }},
    {.kernel = "softmax_rows",
     .variant = "wide",
     .arg = 1,
     .make = rownorm_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::softmax_rows(in.t[0])}; }},
    {.kernel = "softmax_rows",
     .variant = "two-way",
     .arg = 2,
     .make = rownorm_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::softmax_rows(in.t[0])}; },
     .perf = true},
    {.kernel = "logsumexp_rows",
     .variant = "with a zero row",
     .make = rownorm_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::logsumexp_rows(in.t[0])}; }},
    {.kernel = "logsumexp_rows",
     .variant = "wide",
     .arg = 1,
     .make = rownorm_make,
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::logsumexp_rows(in.t[0])}; },
     .perf = true},

    {.kernel = "copy_cols",
     .variant = "concat_cols and slice_cols",
     .make = cols_make,
     .run = cols_run,
     .match = Match::Exact,
     .perf = true},
    {.kernel = "copy_cols",
     .variant = "slice_cols of i64",
     .types = Types::Fixed,
     .make = [](const Spec&) -> Inputs {
       return {{rand_index(60, 100, DType::I64, 33).reshape({20, 3})}, {}};
     },
     .run = [](Inputs& in, const Spec&) -> Outputs { return {ops::slice_cols(in.t[0], 1, 3)}; },
     .match = Match::Exact},

    {.kernel = "topk_rows",
     .variant = "k=1",
     .arg = 1,
     .make = topk_make,
     .run = topk_run,
     .match = Match::Exact,
     .cost = topk_cost},
    {.kernel = "topk_rows",
     .variant = "k=10",
     .arg = 10,
     .make = topk_make,
     .run = topk_run,
     .match = Match::Exact,
     .perf = true,
     .cost = topk_cost},
    {.kernel = "topk_rows",
     .variant = "k=50",
     .arg = 50,
     .make = topk_make,
     .run = topk_run,
     .match = Match::Exact,
     .perf = true,
     .cost = topk_cost},
    {.kernel = "topk_rows",
     .variant = "k=64",
     .arg = 64,
     .make = topk_make,
     .run = topk_run,
     .match = Match::Exact,
     .cost = topk_cost},
    {.kernel = "topk_rows",
     .variant = "k=100",
     .arg = 100,
     .make = topk_make,
     .run = topk_run,
     .match = Match::Exact,
     .cost = topk_cost},
    {.kernel = "topk_rows",
     .variant = "k=300 (whole rows)",
     .arg = 300,
     .make = topk_make,
     .run = topk_run,
     .match = Match::Exact,
     .cost = topk_cost},
    {.kernel = "topk_rows",
     .variant = "ties k=10",
     .arg = 10,
     .make = topk_ties_make,
     .run = topk_run,
     .match = Match::Exact,
     .cost = topk_cost},
    {.kernel = "topk_rows",
     .variant = "ties k=50",
     .arg = 50,
     .make = topk_ties_make,
     .run = topk_run,
     .match = Match::Exact,
     .cost = topk_cost},
    {.kernel = "topk_rows",
     .variant = "ties k=120",
     .arg = 120,
     .make = topk_ties_make,
     .run = topk_run,
     .match = Match::Exact,
     .cost = topk_cost},

    {.kernel = "masked_fill_csr_rows",
     .variant = "random users",
     .types = Types::FloatIndex,
     .make = masked_fill_make,
     .run = masked_fill_run,
     .match = Match::Exact,
     .perf = true,
     .cost = masked_fill_cost},

    {.kernel = "adam_step",
     .variant = "5 steps",
     .make = adam_make,
     .run = adam_run,
     .perf = true,
     .cost = adam_cost},
    {.kernel = "adam_step",
     .variant = "5 steps, weight decay",
     .arg = 1,
     .make = adam_make,
     .run = adam_run,
     .cost = adam_cost},

    {.kernel = "spmm",
     .variant = "A X, alpha beta",
     .arg = 0,
     .make = spmm_make,
     .run = spmm_run,
     .perf = true,
     .cost = spmm_cost},
    {.kernel = "spmm",
     .variant = "A^T X, alpha beta",
     .arg = 1,
     .make = spmm_make,
     .run = spmm_run,
     .perf = true,
     .cost = spmm_cost},
    {.kernel = "spmm",
     .variant = "A X, 64 columns",
     .arg = 2,
     .make = spmm_make,
     .run = spmm_run,
     .cost = spmm_cost},
    {.kernel = "spmm",
     .variant = "A x, one column",
     .arg = 3,
     .make = spmm_make,
     .run = spmm_run,
     .cost = spmm_cost},
    {.kernel = "spmm", .variant = "empty A", .arg = 4, .make = spmm_make, .run = spmm_run, .cost = spmm_cost},

    {.kernel = "astype",
     .variant = "from f32",
     .types = Types::Fixed,
     .arg = static_cast<int64_t>(DType::F32),
     .make = astype_make,
     .run = astype_run,
     .match = Match::Exact,
     .perf = true},
    {.kernel = "astype",
     .variant = "from f64",
     .types = Types::Fixed,
     .arg = static_cast<int64_t>(DType::F64),
     .make = astype_make,
     .run = astype_run,
     .match = Match::Exact},
    {.kernel = "astype",
     .variant = "from i32",
     .types = Types::Fixed,
     .arg = static_cast<int64_t>(DType::I32),
     .make = astype_make,
     .run = astype_run,
     .match = Match::Exact},
    {.kernel = "astype",
     .variant = "from i64",
     .types = Types::Fixed,
     .arg = static_cast<int64_t>(DType::I64),
     .make = astype_make,
     .run = astype_run,
     .match = Match::Exact},
};

// The dtype combinations of one row (perf: F32 with I32 indices only).
inline std::vector<Spec> setups(const KernelCase& c, bool perf) {
  std::vector<Spec> out;
  const std::vector<DType> floats = c.types == Types::Fixed ? std::vector<DType>{DType::F32}
                                    : perf                  ? std::vector<DType>{DType::F32}
                                                            : std::vector<DType>{DType::F32, DType::F64};
  const std::vector<DType> indices = c.types == Types::FloatIndex && !perf
                                         ? std::vector<DType>{DType::I32, DType::I64}
                                         : std::vector<DType>{DType::I32};
  for (DType dt : floats)
    for (DType it : indices) out.push_back({dt, it, c.arg, perf});
  return out;
}

// ---- completeness, checked at compile time ---------------------------------------------------------------
constexpr bool has_case(std::string_view kernel) {
  for (const KernelCase& c : kKernelCases)
    if (c.kernel == kernel) return true;
  return false;
}
constexpr bool has_unary_case(std::string_view kernel, ops::Unary op) {
  for (const KernelCase& c : kKernelCases)
    if (c.kernel == kernel && c.arg == unary_arg(op)) return true;
  return false;
}

inline constexpr std::string_view kKernelNames[] = {
#define LETHE_KERNEL(ret, name, params) #name,
#include "engine/backend_api.inc"
#undef LETHE_KERNEL
};

constexpr bool every_case_names_a_kernel() {
  for (const KernelCase& c : kKernelCases) {
    bool found = false;
    for (std::string_view k : kKernelNames) found = found || k == c.kernel;
    if (!found) return false;
  }
  return true;
}

constexpr bool variants_are_unique() {
  const size_t n = sizeof(kKernelCases) / sizeof(kKernelCases[0]);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j)
      if (kKernelCases[i].kernel == kKernelCases[j].kernel &&
          kKernelCases[i].variant == kKernelCases[j].variant)
        return false;
  return true;
}

#define LETHE_KERNEL(ret, name, params) \
  static_assert(has_case(#name), "kernel '" #name "' of engine/backend_api.inc has no row in kKernelCases");
#include "engine/backend_api.inc"
#undef LETHE_KERNEL

#define LETHE_UNARY_CASES(e, name)                                                         \
  static_assert(has_unary_case("unary", ops::Unary::e), "Unary::" #e " has no unary row"); \
  static_assert(has_unary_case("unary_backward", ops::Unary::e), "Unary::" #e " has no unary_backward row");
LETHE_UNARY_OPS(LETHE_UNARY_CASES)
#undef LETHE_UNARY_CASES

static_assert(every_case_names_a_kernel(),
              "a row of kKernelCases names a kernel not in engine/backend_api.inc");
static_assert(variants_are_unique(), "two rows of kKernelCases share kernel and variant");

}  // namespace lethe::test::kernels
