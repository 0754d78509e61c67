// The process-wide profiler (engine/profile.h): a mutex-guarded table of (calls, nanoseconds) per name,
// NVTX ranges and optional device synchronisation in CUDA builds, and the sorted report.
#include "engine/profile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <ostream>
#include <sstream>
#include <unordered_map>

#include "engine/device.h"

#ifdef LETHE_WITH_CUDA
#include "engine/backend.h"
#endif
#ifdef LETHE_WITH_NVTX
#include <nvtx3/nvToolsExt.h>
#endif

namespace lethe::prof {

namespace detail {
std::atomic<bool> g_enabled{false};
}

namespace {

struct Stat {
  int64_t calls = 0;
  int64_t ns = 0;
};

struct State {
  std::mutex mu;
  std::unordered_map<std::string, Stat> stats;
  int64_t start_ns = 0;
  int64_t stop_ns = -1;  // -1 while running
  std::atomic<bool> sync{false};  // synchronise the CUDA device at scope boundaries
};

State& state() {
  static State s;
  return s;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void sync_device() {
#ifdef LETHE_WITH_CUDA
  if (state().sync.load(std::memory_order_relaxed)) cuda::synchronize();
#endif
}

}  // namespace

void enable(bool on, bool sync_device_flag) {
  State& s = state();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (on) {
      s.stats.clear();
      s.start_ns = now_ns();
      s.stop_ns = -1;
      s.sync.store(sync_device_flag && cuda_available());
    } else if (s.stop_ns < 0) {
      s.stop_ns = now_ns();
    }
  }
  detail::g_enabled.store(on, std::memory_order_relaxed);
}

void reset() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.stats.clear();
  s.start_ns = now_ns();
  if (s.stop_ns >= 0) s.stop_ns = s.start_ns;
}

void Scope::begin(const char* prefix, const char* name) {
  prefix_ = prefix;
  name_ = name != nullptr ? name : "?";
  active_ = true;
#ifdef LETHE_WITH_NVTX
  if (prefix_ != nullptr) {
    std::string full = std::string(prefix_) + name_;
    nvtxRangePushA(full.c_str());
  } else {
    nvtxRangePushA(name_);
  }
#endif
  sync_device();  // work launched before this scope is not charged to it
  t0_ns_ = now_ns();
}

void Scope::end() {
  sync_device();  // kernels this scope launched have finished
  const int64_t dt = now_ns() - t0_ns_;
#ifdef LETHE_WITH_NVTX
  nvtxRangePop();
#endif
  thread_local std::string key;
  key.assign(prefix_ != nullptr ? prefix_ : "");
  key.append(name_);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  Stat& st = s.stats[key];
  ++st.calls;
  st.ns += dt;
}

std::vector<Entry> entries() {
  State& s = state();
  std::vector<Entry> out;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    out.reserve(s.stats.size());
    for (const auto& [name, st] : s.stats) out.push_back({name, st.calls, static_cast<double>(st.ns) * 1e-9});
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.seconds != b.seconds ? a.seconds > b.seconds : a.name < b.name;
  });
  return out;
}

double wall_seconds() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  const int64_t end = s.stop_ns >= 0 ? s.stop_ns : now_ns();
  return static_cast<double>(end - s.start_ns) * 1e-9;
}

void report(std::ostream& os, size_t top) {
  const std::vector<Entry> es = entries();
  const double wall = wall_seconds();
  char line[256];
  std::snprintf(line, sizeof line, "profile: %.3f s wall%s (scopes nest: phases contain the ops they run)\n", wall,
                state().sync.load() ? ", device synchronised at every scope" : "");
  os << line;
  std::snprintf(line, sizeof line, "%-28s %10s %12s %12s %8s\n", "name", "calls", "total s", "ms/call",
                "% wall");
  os << line;
  size_t n = 0;
  for (const Entry& e : es) {
    if (top > 0 && n++ >= top) break;
    const double per = e.calls > 0 ? 1e3 * e.seconds / static_cast<double>(e.calls) : 0.0;
    std::snprintf(line, sizeof line, "%-28s %10lld %12.4f %12.4f %7.1f%%\n", e.name.c_str(),
                  static_cast<long long>(e.calls), e.seconds, per, wall > 0 ? 100.0 * e.seconds / wall : 0.0);
    os << line;
  }
}

std::string report_string(size_t top) {
  std::ostringstream os;
  report(os, top);
  return os.str();
}

}  // namespace lethe::prof
