// A process-wide, opt-in profiler: wall time and call counts per name ("fwd:matmul", "bwd:spmm",
// "phase:forward", ...), accumulated by RAII scopes and printed as a sorted table.
//
//   LETHE_PROFILE_SCOPE("phase:sample");           // a literal name
//   LETHE_PROFILE_SCOPE("bwd:", node.op);          // prefix + name (both must outlive the process: literals)
//
// Off by default: a disabled scope costs one relaxed atomic load. `lethe train|unlearn --profile` turns it on.
// Scopes nest (a phase contains the ops it runs), so the per-name totals overlap; the table's percentages
// are of the wall time since enable(). In CUDA builds with NVTX (LETHE_WITH_NVTX) each enabled scope is also
// an NVTX range (visible in Nsight Systems), and with sync_device the device is synchronised at both ends of
// each scope so that asynchronous kernels are charged to the scope that launched them (this slows the run:
// use it to find where time goes, not to measure the epoch time).
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
  bool active_ = false;
};

}  // namespace lethe::prof

#define LETHE_PROFILE_CONCAT_INNER_(a, b) a##b
#define LETHE_PROFILE_CONCAT_(a, b) LETHE_PROFILE_CONCAT_INNER_(a, b)
// Times the rest of the enclosing block under the given name (one literal, or a prefix literal and a name).
#define LETHE_PROFILE_SCOPE(...) \
  ::lethe::prof::Scope LETHE_PROFILE_CONCAT_(lethe_profile_scope_, __LINE__)(__VA_ARGS__)
