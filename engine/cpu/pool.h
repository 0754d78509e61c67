// The CPU backend's thread pool: the one set of threads that runs our kernels and the GEMM panels
// (engine/cpu/parallel.h describes the work sharing on top of it).
//
// Why not OpenMP's fork-join: a parallel region ends at a barrier that every team thread must reach, also
// one that got no work; on a machine where another process holds a core, a team thread waiting for its
// time slice holds up every region (milliseconds for a 50-microsecond kernel). Here a region is a set of
// blocks claimed one at a time from a shared counter; the calling thread claims too, and it waits only for
// blocks that a worker has actually claimed. A worker that wakes late finds nothing left and goes back to
// sleep; a region then costs what the threads that did run needed. Idle workers sleep on a condition
// variable (no spinning), and are woken once per region.
//
// Participants: omp_get_max_threads() (OMP_NUM_THREADS, omp_set_num_threads), read at every region; workers
// are started on first use (and added when the count grows). A block body must not throw; the kernels check
// their arguments before a region. A region started from inside a block (or while another thread's region
// runs) runs its blocks inline on the calling thread.
#pragma once

#include <cstdint>

namespace lethe::cpu::detail {

using BlockFn = void (*)(void* ctx, int64_t block);

// Runs fn(ctx, b) for every b in [0, blocks), on the calling thread and the pool's workers; returns when all
// have run.
void run_blocks(int64_t blocks, BlockFn fn, void* ctx);

// Threads a region may use now (the caller included).
int pool_threads();

// Runs f(b) for b in [0, blocks) through run_blocks.
template <class F>
void pool_for(int64_t blocks, F& f) {
  run_blocks(
      blocks, [](void* ctx, int64_t b) { (*static_cast<F*>(ctx))(b); }, &f);
}

}  // namespace lethe::cpu::detail
