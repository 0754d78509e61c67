// Work sharing for the CPU backend: our thread pool (engine/cpu/pool.h) runs every kernel and the GEMM
// panels (single-threaded BLAS calls, engine/cpu/blas.cpp), so no second set of threads competes for the
// cores.
//
// Shared machines: when another process takes a core, a thread that shares it runs at a fraction of its
// speed. A static split gives every thread the same share, so a loop ends when the slowed thread ends (about
// 2x). parallel_blocks instead hands out fixed-size blocks on demand: the thread on the free core takes more
// of them, and a region costs about its work divided by the capacity actually available. Block boundaries
// depend only on the sizes, never on the thread count, so results are the same for any number of threads.
#pragma once

#include <algorithm>
#include <cstdint>

#include "engine/cpu/pool.h"

namespace lethe::cpu::detail {

// Below this many elements of streaming work a parallel region costs more than it saves (a fork and a
// barrier, and on a busy machine the wait for a descheduled team member).
constexpr int64_t kParallelMin = 1 << 16;
// Elements per block of an elementwise loop (64-256 KiB of operands: long enough to amortise the hand-out,
// short enough to balance).
constexpr int64_t kBlock = 1 << 14;

// f(lo, hi) over [0, n) in blocks of `grain` elements; on the pool when `parallel` and there is more than
// one block, blocks claimed on demand; inline otherwise (also inside another region).
template <class F>
void parallel_blocks(int64_t n, int64_t grain, bool parallel, F&& f) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t blocks = (n + grain - 1) / grain;
  if (!parallel || blocks == 1 || pool_threads() == 1) {
    f(int64_t{0}, n);
    return;
  }
  auto body = [&](int64_t b) { f(b * grain, std::min(n, (b + 1) * grain)); };
  pool_for(blocks, body);
}

// f(part, parts) for part in [0, parts), parts = the threads a region may use now: for kernels whose
// threads own output ranges (results must not depend on where the ranges split).
template <class F>
void parallel_parts(bool parallel, F&& f) {
  const int parts = parallel ? pool_threads() : 1;
  if (parts == 1) {
    f(0, 1);
    return;
  }
  auto body = [&](int64_t p) { f(static_cast<int>(p), parts); };
  pool_for(parts, body);
}

// An elementwise loop over n elements: parallel from kParallelMin elements, in kBlock blocks.
template <class F>
void parallel_elements(int64_t n, F&& f) {
  parallel_blocks(n, kBlock, n >= kParallelMin, f);
}

// A loop over rows of `cols` elements each: blocks of about kBlock elements (at least one row), parallel
// once the whole is kParallelMin elements.
template <class F>
void parallel_rows(int64_t rows, int64_t cols, F&& f) {
  const int64_t grain = std::max<int64_t>(1, kBlock / std::max<int64_t>(1, cols));
  parallel_blocks(rows, grain, rows * cols >= kParallelMin, f);
}

}  // namespace lethe::cpu::detail
