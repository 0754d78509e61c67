// Reductions on CUDA: sum, sum of squares, per-column sums and row-wise dot products. Accumulation is in
// double for both F32 and F64, and every reduction runs in a fixed order (block partials, then one block; no
// atomics), so results are deterministic run to run.
#include <cmath>

#include "engine/cuda/common.cuh"

namespace lethe::cuda {
namespace {

constexpr int kRowWarps = 8;        // rows per block in the warp-per-row kernels
constexpr int kMaxPartials = 1024;  // blocks in the first pass of a full reduction

// Sum of v over the block; the result is valid in thread 0.
__device__ double block_sum(double v) {
  __shared__ double part[kThreads / kWarp];
  v = warp_sum(v);
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  if (lane == 0) part[warp] = v;
  __syncthreads();
  v = 0;
  if (warp == 0) {
    v = lane < static_cast<int>(blockDim.x / kWarp) ? part[lane] : 0.0;
    v = warp_sum(v);
  }
  __syncthreads();  // part[] may be reused by the caller
  return v;
}

// Pass 1: each block writes the sum of its grid-stride share (of x or x^2) to partial[blockIdx.x].
template <class T, bool square>
__global__ void partial_sum_kernel(const T* a, int64_t n, double* partial) {
  double acc = 0;
  LETHE_KERNEL_LOOP(i, n) {
    const double x = static_cast<double>(a[i]);
    acc += square ? x * x : x;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// Pass 2: one block adds the partials and writes the result in the tensor's dtype.
template <class T>
__global__ void finish_sum_kernel(const double* partial, int count, T* out) {
  double acc = 0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[0] = static_cast<T>(acc);
}

template <bool square>
void full_sum(const char* name, const Tensor& a, Tensor& out) {
  const int64_t n = a.numel();
  dispatch_float(a.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    unsigned blocks = grid_for(n);
    if (blocks > kMaxPartials) blocks = kMaxPartials;
    Scratch partial(sizeof(double) * blocks);
    if (n == 0) {  // keep the two-pass shape: a zero partial, then the finish
      LETHE_CUDA_CHECK(cudaMemsetAsync(partial.get(), 0, sizeof(double) * blocks, 0));
    } else {
      partial_sum_kernel<T, square><<<blocks, kThreads>>>(ptr<T>(a), n, partial.get<double>());
      LETHE_CUDA_LAUNCH_CHECK();
    }
    finish_sum_kernel<T><<<1, kThreads>>>(partial.get<double>(), static_cast<int>(blocks), ptr<T>(out));
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

// One warp per row: out[r] = sum_c a[r, c] b[r, c].
template <class T>
__global__ void rowdot_kernel(const T* a, const T* b, T* out, int64_t rows, int64_t cols) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / kWarp;
  if (r >= rows) return;
  const int lane = threadIdx.x % kWarp;
  const T* ar = a + r * cols;
  const T* br = b + r * cols;
  double acc = 0;
  for (int64_t c = lane; c < cols; c += kWarp) acc += static_cast<double>(ar[c]) * static_cast<double>(br[c]);
  acc = warp_sum(acc);
  if (lane == 0) out[r] = static_cast<T>(acc);
}

// Column sums, pass 1: block (x: 32 columns, y: 8 row lanes) over chunk blockIdx.y of the rows writes
// partial[blockIdx.y, c].
constexpr int kColTile = 32, kColLanes = 8;
template <class T>
__global__ void col_partial_kernel(const T* a, int64_t rows, int64_t cols, int64_t rows_per_chunk,
                                   double* partial) {
  __shared__ double tile[kColLanes][kColTile];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColTile + threadIdx.x;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * rows_per_chunk;
  int64_t r1 = r0 + rows_per_chunk;
  if (r1 > rows) r1 = rows;
  double acc = 0;
  if (c < cols)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kColLanes) acc += static_cast<double>(a[r * cols + c]);
  tile[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    double s = 0;
    for (int j = 0; j < kColLanes; ++j) s += tile[j][threadIdx.x];
    partial[static_cast<int64_t>(blockIdx.y) * cols + c] = s;
  }
}
// Pass 2: out[c] = sum over chunks of partial[chunk, c].
template <class T>
__global__ void col_finish_kernel(const double* partial, int chunks, int64_t cols, T* out) {
  LETHE_KERNEL_LOOP(c, cols) {
    double s = 0;
    for (int k = 0; k < chunks; ++k) s += partial[static_cast<int64_t>(k) * cols + c];
    out[c] = static_cast<T>(s);
  }
}

}  // namespace

void sum(const Tensor& a, Tensor& out) {
  NvtxRange range("cuda::sum");
  full_sum<false>("sum", a, out);
}
void sumsq(const Tensor& a, Tensor& out) {
  NvtxRange range("cuda::sumsq");
  full_sum<true>("sumsq", a, out);
}
void rowdot(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t rows = a.rows(), cols = a.cols();
  if (rows == 0) return;
  dispatch_float(a.dtype(), "rowdot", [&](auto tag) {
    using T = decltype(tag);
    rowdot_kernel<T>
        <<<grid_rows(rows, kRowWarps), kRowWarps * kWarp>>>(ptr<T>(a), ptr<T>(b), ptr<T>(out), rows, cols);
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

void sum_cols(const Tensor& a, Tensor& out) {
  const int64_t rows = a.rows(), cols = a.cols();
  if (cols == 0) return;
  dispatch_float(a.dtype(), "sum_cols", [&](auto tag) {
    using T = decltype(tag);
    const int64_t col_blocks = (cols + kColTile - 1) / kColTile;
    // Enough row chunks to give every SM a few blocks, each chunk at least 64 rows.
    int64_t chunks = (4 * sm_count() + col_blocks - 1) / col_blocks;
    const int64_t max_chunks = (rows + 63) / 64;
    if (chunks > max_chunks) chunks = max_chunks;
    if (chunks < 1) chunks = 1;
    if (chunks > 65535) chunks = 65535;
    const int64_t per_chunk = (rows + chunks - 1) / chunks;
    Scratch partial(sizeof(double) * chunks * cols);
    col_partial_kernel<T><<<dim3(static_cast<unsigned>(col_blocks), static_cast<unsigned>(chunks)),
                            dim3(kColTile, kColLanes)>>>(ptr<T>(a), rows, cols, per_chunk > 0 ? per_chunk : 1,
                                                         partial.get<double>());
    LETHE_CUDA_LAUNCH_CHECK();
    col_finish_kernel<T>
        <<<grid_for(cols), kThreads>>>(partial.get<double>(), static_cast<int>(chunks), cols, ptr<T>(out));
    LETHE_CUDA_LAUNCH_CHECK();
  });
}

}  // namespace lethe::cuda
