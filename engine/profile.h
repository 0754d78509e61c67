// A process-wide, opt-in profiler: wall time and call counts per name ("fwd:matmul", "bwd:spmm",
// "phase:forward", and the engine's heavy kernels "kernel:gemm", "kernel:topk_rows", ... wherever they are
// called from: autograd ops, the optimizer, the evaluator), accumulated by RAII scopes and printed as a
// sorted table; optionally every scope as an event of a Chrome trace file (start_trace / write_trace: `lethe
// train|unlearn|bench --trace FILE`).
//
//   LETHE_PROFILE_SCOPE("phase:sample");           // a literal name
//   LETHE_PROFILE_SCOPE("bwd:", node.op);          // prefix + name (both must outlive the process: literals)
//
// Off by default: a disabled scope costs one relaxed atomic load. `lethe train|unlearn --profile` turns it
// on. Scopes nest (a phase contains the ops it runs), so the per-name totals overlap; the table's percentages
// are of the wall time since enable(). In CUDA builds with NVTX (LETHE_WITH_NVTX) each enabled scope is also
// an NVTX range (visible in Nsight Systems), and with sync_device the device is synchronised at both ends of
// each scope so that asynchronous kernels are charged to the scope that launched them (this slows the run:
// use it to find where time goes, not to measure the epoch time).
//
// The trace (Chrome trace-event JSON, opens in Perfetto or chrome://tracing): one complete event per scope
// on the thread that ran it, with the wall span (ts, dur), the thread's CPU time over the span (tts, tdur:
// a thread descheduled by a busy machine shows tdur well below dur) and, in args, the process CPU time over
// the span (all threads: process_cpu_ms / dur = cores kept busy). Where the CUDA backend runs, each scope
// also records CUDA events on the default stream and appears a second time on a "GPU" track with the
// device's begin and end times (without synchronising: host gaps and device gaps are both visible).
#pragma once

#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace lethe::prof {

namespace detail {
extern std::atomic<bool> g_enabled;
}

inline bool enabled() { return detail::g_enabled.load(std::memory_order_relaxed); }

// Turns profiling on (clearing earlier counts and starting the wall clock) or off (counts are kept).
// sync_device: synchronise the CUDA device at scope boundaries (ignored without a usable GPU).
void enable(bool on = true, bool sync_device = true);
// Clears all counts and restarts the wall clock.
void reset();

// ---- trace ----------------------------------------------------------------------------------------
// Starts recording every scope as a trace event (and turns the profiler on, without device
// synchronisation, so that device times are the undisturbed ones). Clears events of an earlier trace.
void start_trace();
bool tracing();
// A point event on the calling thread ("epoch 3 done"): shown as a marker on the timeline.
void trace_instant(const std::string& name);
// Writes the events recorded since start_trace() as Chrome trace-event JSON to `path` (temporary name +
// rename), stops recording and releases the events. Throws (naming the path) when the file cannot be written.
void write_trace(const std::string& path);

struct Entry {
  std::string name;
  int64_t calls = 0;
  double seconds = 0.0;
};
// Every name seen since enable()/reset(), by total time, largest first.
std::vector<Entry> entries();
// Wall seconds since enable()/reset() (up to now, or to the moment profiling was switched off).
double wall_seconds();

// The table: name, calls, total s, ms per call, % of the profiled wall time; `top` rows at most (0: all).
void report(std::ostream& os, size_t top = 0);
std::string report_string(size_t top = 0);

// ---- work counters ----------------------------------------------------------------------------------
// The compulsory work of the ops that set a model's floor (`lethe bench`: floor = GEMM FLOPs at the
// machine's GEMM rate + compulsory bytes at its copy bandwidth). Always on (one relaxed atomic add per
// GEMM / SpMM / optimizer step / top-k), counted where the ops dispatch (engine/ops.cpp, engine/sparse.cpp)
// so both backends count. Compulsory bytes: a SpMM's operands (A's values, indices and row pointers, X
// read once, Y written once and read when accumulated), an Adam step's state (parameter, gradient and
// both moments read, three written), the score rows a top-k reads.
struct Work {
  double gemm_flops = 0.0;  // 2 m n k per GEMM
  double bytes = 0.0;       // compulsory bytes
  Work operator-(const Work& o) const { return {gemm_flops - o.gemm_flops, bytes - o.bytes}; }
};
void count_gemm_flops(double flops);
void count_bytes(double bytes);
// Totals since the process started (take differences around the work of interest).
Work work();

class Scope {
 public:
  explicit Scope(const char* name) {
    if (enabled()) begin(nullptr, name);
  }
  Scope(const char* prefix, const char* name) {
    if (enabled()) begin(prefix, name);
  }
  ~Scope() {
    if (active_) end();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  void begin(const char* prefix, const char* name);
  void end();
  const char* prefix_ = nullptr;
  const char* name_ = nullptr;
  int64_t t0_ns_ = 0;
  int64_t thread_cpu0_ns_ = -1;  // tracing: the thread's and the process's CPU clocks at begin
  int64_t process_cpu0_ns_ = -1;
  int32_t gpu_begin_ = -1;  // tracing with CUDA: index of the begin event
  bool active_ = false;
};

}  // namespace lethe::prof

#define LETHE_PROFILE_CONCAT_INNER_(a, b) a##b
#define LETHE_PROFILE_CONCAT_(a, b) LETHE_PROFILE_CONCAT_INNER_(a, b)
// Times the rest of the enclosing block under the given name (one literal, or a prefix literal and a name).
#define LETHE_PROFILE_SCOPE(...) \
  ::lethe::prof::Scope LETHE_PROFILE_CONCAT_(lethe_profile_scope_, __LINE__)(__VA_ARGS__)
