// The claim-based thread pool of engine/cpu/pool.h.
#include "engine/cpu/pool.h"

#include <omp.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace lethe::cpu::detail {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// One region. Lives on the caller's stack; the caller returns only once no worker is attached to it.
struct Job {
  BlockFn fn = nullptr;
  void* ctx = nullptr;
  int64_t blocks = 0;
  int limit = 0;                     // workers with index < limit may join
  std::atomic<int64_t> next{0};      // next block to claim
  std::atomic<int32_t> attached{0};  // workers inside this job's claim loop
};

thread_local bool t_in_region = false;  // a worker thread, or a caller running its region

// Brief wait for a block a worker is finishing, before sleeping on the counter (~20 microseconds).
constexpr int kSpinBeforeSleep = 2000;

class Pool {
 public:
  // Never destroyed: workers sleep on the condition variable until the process exits.
  static Pool& get() {
    static Pool* p = new Pool;
    return *p;
  }

  void run(int64_t blocks, BlockFn fn, void* ctx, int participants) {
    std::unique_lock<std::mutex> region(region_mu_, std::try_to_lock);
    if (!region.owns_lock()) {  // another thread's region is running: this one runs inline
      for (int64_t b = 0; b < blocks; ++b) fn(ctx, b);
      return;
    }
    ensure_workers(participants - 1);
    Job job;
    job.fn = fn;
    job.ctx = ctx;
    job.blocks = blocks;
    job.limit = participants - 1;
    {
      std::lock_guard<std::mutex> lk(mu_);
      job_ = &job;
      ++gen_;
    }
    cv_.notify_all();
    t_in_region = true;
    for (int64_t b; (b = job.next.fetch_add(1, std::memory_order_relaxed)) < blocks;) fn(ctx, b);
    {
      std::lock_guard<std::mutex> lk(mu_);
      job_ = nullptr;  // no worker attaches from now on
    }
    // Wait for the blocks that workers claimed (their writes are visible after the release / acquire).
    int spins = 0;
    for (int32_t a; (a = job.attached.load(std::memory_order_acquire)) != 0;) {
      if (++spins < kSpinBeforeSleep)
        cpu_relax();
      else
        job.attached.wait(a, std::memory_order_acquire);
    }
    t_in_region = false;
  }

 private:
  void ensure_workers(int n) {
    std::lock_guard<std::mutex> lk(mu_);
    while (workers_ < n) {
      std::thread(&Pool::worker_main, this, workers_, gen_).detach();
      ++workers_;
    }
  }

  void worker_main(int index, uint64_t seen) {
    t_in_region = true;  // regions started from inside a block run inline
    for (;;) {
      Job* j = nullptr;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return gen_ != seen; });
        seen = gen_;
        if (job_ != nullptr && index < job_->limit) {
          j = job_;
          j->attached.fetch_add(1, std::memory_order_relaxed);
        }
      }
      if (j == nullptr) continue;
      for (int64_t b; (b = j->next.fetch_add(1, std::memory_order_relaxed)) < j->blocks;) j->fn(j->ctx, b);
      if (j->attached.fetch_sub(1, std::memory_order_release) == 1) j->attached.notify_one();
    }
  }

  std::mutex region_mu_;  // one region at a time
  std::mutex mu_;         // guards gen_, job_, workers_ and the attachment of workers to job_
  std::condition_variable cv_;
  uint64_t gen_ = 0;
  Job* job_ = nullptr;
  int workers_ = 0;
};

}  // namespace

int pool_threads() { return t_in_region || omp_in_parallel() ? 1 : omp_get_max_threads(); }

void run_blocks(int64_t blocks, BlockFn fn, void* ctx) {
  if (blocks <= 0) return;
  const int participants = pool_threads();
  if (blocks == 1 || participants <= 1) {
    for (int64_t b = 0; b < blocks; ++b) fn(ctx, b);
    return;
  }
  Pool::get().run(blocks, fn, ctx, participants);
}

}  // namespace lethe::cpu::detail
