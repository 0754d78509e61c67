// The process-wide profiler (engine/profile.h): a mutex-guarded table of (calls, nanoseconds) per name,
// NVTX ranges and optional device synchronisation in CUDA builds, the sorted report, the work counters and
// the Chrome trace (events kept in memory until write_trace).
#include "engine/profile.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <ostream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/formats/atomic_file.h"

#ifdef LETHE_WITH_CUDA
#include <cuda_runtime.h>

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

// One recorded scope (or instant, dur_ns < 0) of the trace.
struct Event {
  const std::string* name = nullptr;  // interned (State::names)
  int64_t t0_ns = 0, dur_ns = 0;      // host wall clock, relative to the trace start
  int64_t thread_cpu_ns = -1, thread_cpu_dur_ns = -1;
  int64_t process_cpu_dur_ns = -1;
  int32_t tid = 0;
  int32_t gpu_begin = -1, gpu_end = -1;  // indices into State::gpu_events
};

constexpr size_t kMaxEvents = size_t{8} << 20;  // ~0.5 GiB of events at most; later scopes are counted only
constexpr size_t kMaxGpuEvents = size_t{1} << 20;

struct State {
  std::mutex mu;
  std::unordered_map<std::string, Stat> stats;
  int64_t start_ns = 0;
  int64_t stop_ns = -1;           // -1 while running
  std::atomic<bool> sync{false};  // synchronise the CUDA device at scope boundaries
  bool profile_on = false;        // enable(true) holds (scopes also run while a trace records)
  // Trace.
  std::atomic<bool> tracing{false};
  int64_t trace_start_ns = 0;
  std::vector<Event> events;
  int64_t dropped = 0;
  std::unordered_set<std::string> names;           // node-based: pointers to elements stay valid
  std::vector<std::pair<int32_t, pid_t>> threads;  // (small id, kernel tid) in order of first event
#ifdef LETHE_WITH_CUDA
  bool gpu = false;                     // CUDA events are recorded for this trace
  std::string gpu_error;                // why recording stopped, if it did
  std::vector<cudaEvent_t> gpu_events;  // [0] = the reference event recorded at start_trace
#endif
};

State& state() {
  static State s;
  return s;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void sync_device() {
#ifdef LETHE_WITH_CUDA
  if (state().sync.load(std::memory_order_relaxed)) cuda::synchronize();
#endif
}

// A small, stable id for the calling thread (1 = the first thread that recorded an event). Caller holds mu.
int32_t thread_id_locked(State& s) {
  thread_local int32_t id = 0;
  thread_local const State* owner = nullptr;
  if (owner == &s && id != 0) return id;
  id = static_cast<int32_t>(s.threads.size()) + 1;
  owner = &s;
  s.threads.emplace_back(id, static_cast<pid_t>(gettid()));
  return id;
}

#ifdef LETHE_WITH_CUDA
void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw Error(std::string("trace: ") + what + ": " + cudaGetErrorName(e) + " " + cudaGetErrorString(e));
}

// Records a CUDA event on the default stream; returns its index, or -1 past the cap. Never throws (scopes
// end in destructors): a failed call stops the device timing of this trace, and write_trace reports it.
// Caller holds mu.
int32_t record_gpu_event_locked(State& s) {
  if (!s.gpu || s.gpu_events.size() >= kMaxGpuEvents) return -1;
  cudaEvent_t ev = nullptr;
  cudaError_t e = cudaEventCreate(&ev);
  if (e == cudaSuccess) {
    e = cudaEventRecord(ev, 0);
    if (e != cudaSuccess) cudaEventDestroy(ev);
  }
  if (e != cudaSuccess) {
    s.gpu = false;
    s.gpu_error = std::string(cudaGetErrorName(e)) + " " + cudaGetErrorString(e);
    return -1;
  }
  s.gpu_events.push_back(ev);
  return static_cast<int32_t>(s.gpu_events.size()) - 1;
}

void release_gpu_events_locked(State& s) {
  for (cudaEvent_t ev : s.gpu_events) cudaEventDestroy(ev);  // teardown: nothing to do on failure
  s.gpu_events.clear();
  s.gpu = false;
  s.gpu_error.clear();
}
#endif

// JSON string body (the names are op and phase names; escape anyway).
void json_escape(std::string& out, const std::string& in) {
  for (char c : in) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
}

const char* category(const std::string& name) {
  if (name.rfind("phase:", 0) == 0) return "phase";
  if (name.rfind("fwd:", 0) == 0 || name.rfind("bwd:", 0) == 0) return "op";
  if (name.rfind("kernel:", 0) == 0) return "kernel";
  return "scope";
}

}  // namespace

void enable(bool on, bool sync_device_flag) {
  State& s = state();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.profile_on = on;
    if (on) {
      s.stats.clear();
      s.start_ns = now_ns();
      s.stop_ns = -1;
      s.sync.store(sync_device_flag && !s.tracing.load() && cuda_available());
    } else if (s.stop_ns < 0) {
      s.stop_ns = now_ns();
    }
  }
  // A trace keeps the scopes on until it is written.
  detail::g_enabled.store(on || s.tracing.load(), std::memory_order_relaxed);
}

void reset() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.stats.clear();
  s.start_ns = now_ns();
  if (s.stop_ns >= 0) s.stop_ns = s.start_ns;
}

namespace {
std::atomic<int64_t> g_flops{0}, g_bytes{0};
}

void count_gemm_flops(double flops) {
  g_flops.fetch_add(static_cast<int64_t>(flops), std::memory_order_relaxed);
}
void count_bytes(double bytes) { g_bytes.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed); }
Work work() {
  return {static_cast<double>(g_flops.load(std::memory_order_relaxed)),
          static_cast<double>(g_bytes.load(std::memory_order_relaxed))};
}

// ---- trace ----------------------------------------------------------------------------------------

void start_trace() {
  State& s = state();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.events.clear();
    s.names.clear();
    s.threads.clear();
    s.dropped = 0;
#ifdef LETHE_WITH_CUDA
    release_gpu_events_locked(s);
    if (cuda_available()) {
      cuda::synchronize();  // an empty queue: the reference event runs when it is recorded
      s.gpu = true;
      record_gpu_event_locked(s);
    }
#endif
    s.trace_start_ns = now_ns();
    s.tracing.store(true);
    s.sync.store(false);
  }
  detail::g_enabled.store(true, std::memory_order_relaxed);
}

bool tracing() { return state().tracing.load(std::memory_order_relaxed); }

void trace_instant(const std::string& name) {
  State& s = state();
  if (!s.tracing.load(std::memory_order_relaxed)) return;
  const int64_t t = now_ns();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.events.size() >= kMaxEvents) {
    ++s.dropped;
    return;
  }
  Event e;
  e.name = &*s.names.insert(name).first;
  e.t0_ns = t - s.trace_start_ns;
  e.dur_ns = -1;
  e.tid = thread_id_locked(s);
  s.events.push_back(e);
}

void write_trace(const std::string& path) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  LETHE_CHECK(s.tracing.load(), "trace: write_trace(" << path << ") without start_trace()");
  s.tracing.store(false);
  // Device times: microseconds from the reference event, placed on the host clock at the trace start.
  std::vector<double> gpu_us;
#ifdef LETHE_WITH_CUDA
  LETHE_CHECK(s.gpu_error.empty(), "trace: recording CUDA events failed: " << s.gpu_error);
  if (!s.gpu_events.empty()) {
    cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    gpu_us.assign(s.gpu_events.size(), 0.0);
    for (size_t i = 1; i < s.gpu_events.size(); ++i) {
      float ms = 0.0f;
      cuda_check(cudaEventElapsedTime(&ms, s.gpu_events[0], s.gpu_events[i]), "cudaEventElapsedTime");
      gpu_us[i] = 1e3 * static_cast<double>(ms);
    }
  }
#endif
  std::string out;
  out.reserve(s.events.size() * 200 + 1024);
  char buf[512];
  const int pid = static_cast<int>(getpid());
  out += "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":\"lethe\",\"dropped_events\":";
  out += std::to_string(s.dropped);
  out += "},\"traceEvents\":[\n";
  std::snprintf(buf, sizeof buf,
                "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"args\":{\"name\":\"lethe (host)\"}}",
                pid);
  out += buf;
  for (const auto& [id, ktid] : s.threads) {
    std::snprintf(buf, sizeof buf,
                  ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":\"%s "
                  "(tid %d)\"}}",
                  pid, id, id == 1 ? "main" : "thread", static_cast<int>(ktid));
    out += buf;
  }
  if (!gpu_us.empty()) {
    std::snprintf(buf, sizeof buf,
                  ",\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"args\":{\"name\":\"GPU (CUDA "
                  "events, default "
                  "stream)\"}}",
                  pid + 1);
    out += buf;
  }
  std::string name;
  for (const Event& e : s.events) {
    name.clear();
    json_escape(name, *e.name);
    const double ts = static_cast<double>(e.t0_ns) * 1e-3;
    if (e.dur_ns < 0) {  // instant
      std::snprintf(
          buf, sizeof buf,
          ",\n{\"name\":\"%s\",\"cat\":\"mark\",\"ph\":\"i\",\"s\":\"p\",\"ts\":%.3f,\"pid\":%d,\"tid\":%d}",
          name.c_str(), ts, pid, e.tid);
      out += buf;
      continue;
    }
    const double dur = static_cast<double>(e.dur_ns) * 1e-3;
    std::snprintf(
        buf, sizeof buf,
        ",\n{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,\"pid\":%d,\"tid\":%d",
        name.c_str(), category(*e.name), ts, dur, pid, e.tid);
    out += buf;
    if (e.thread_cpu_ns >= 0) {
      std::snprintf(buf, sizeof buf, ",\"tts\":%.3f,\"tdur\":%.3f",
                    static_cast<double>(e.thread_cpu_ns) * 1e-3,
                    static_cast<double>(e.thread_cpu_dur_ns) * 1e-3);
      out += buf;
    }
    if (e.process_cpu_dur_ns >= 0) {
      std::snprintf(
          buf, sizeof buf, ",\"args\":{\"process_cpu_ms\":%.4f,\"cores_busy\":%.2f}",
          static_cast<double>(e.process_cpu_dur_ns) * 1e-6,
          e.dur_ns > 0 ? static_cast<double>(e.process_cpu_dur_ns) / static_cast<double>(e.dur_ns) : 0.0);
      out += buf;
    }
    out += "}";
    if (e.gpu_begin > 0 && e.gpu_end > 0 && !gpu_us.empty()) {
      const double g0 = gpu_us[static_cast<size_t>(e.gpu_begin)], g1 = gpu_us[static_cast<size_t>(e.gpu_end)];
      std::snprintf(
          buf, sizeof buf,
          ",\n{\"name\":\"%s\",\"cat\":\"gpu\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,\"pid\":%d,\"tid\":1}",
          name.c_str(), g0, std::max(0.0, g1 - g0), pid + 1);
      out += buf;
    }
  }
  out += "\n]}\n";
  s.events.clear();
  s.events.shrink_to_fit();
  s.names.clear();
  s.threads.clear();
#ifdef LETHE_WITH_CUDA
  release_gpu_events_locked(s);
#endif
  // The scopes stay on only while enable(true) holds.
  detail::g_enabled.store(s.profile_on, std::memory_order_relaxed);
  formats::write_file_atomic(path, out);
}

// ---- scopes ---------------------------------------------------------------------------------------

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
  State& s = state();
  if (s.tracing.load(std::memory_order_relaxed)) {
    thread_cpu0_ns_ = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    process_cpu0_ns_ = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
#ifdef LETHE_WITH_CUDA
    std::lock_guard<std::mutex> lock(s.mu);
    gpu_begin_ = record_gpu_event_locked(s);
#endif
  }
  t0_ns_ = now_ns();
}

void Scope::end() {
  sync_device();  // kernels this scope launched have finished
  const int64_t t1 = now_ns();
  const int64_t dt = t1 - t0_ns_;
#ifdef LETHE_WITH_NVTX
  nvtxRangePop();
#endif
  int64_t thread_cpu1 = -1, process_cpu1 = -1;
  State& s = state();
  const bool trace = s.tracing.load(std::memory_order_relaxed) && thread_cpu0_ns_ >= 0;
  if (trace) {
    thread_cpu1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    process_cpu1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  }
  thread_local std::string key;
  key.assign(prefix_ != nullptr ? prefix_ : "");
  key.append(name_);
  std::lock_guard<std::mutex> lock(s.mu);
  Stat& st = s.stats[key];
  ++st.calls;
  st.ns += dt;
  if (!trace) return;
  if (s.events.size() >= kMaxEvents) {
    ++s.dropped;
    return;
  }
  Event e;
  e.name = &*s.names.insert(key).first;
  e.t0_ns = t0_ns_ - s.trace_start_ns;
  e.dur_ns = dt;
  e.thread_cpu_ns = thread_cpu0_ns_;
  e.thread_cpu_dur_ns = thread_cpu1 - thread_cpu0_ns_;
  e.process_cpu_dur_ns = process_cpu1 - process_cpu0_ns_;
  e.tid = thread_id_locked(s);
#ifdef LETHE_WITH_CUDA
  e.gpu_begin = gpu_begin_;
  if (gpu_begin_ >= 0) e.gpu_end = record_gpu_event_locked(s);
#endif
  s.events.push_back(e);
}

// ---- report ---------------------------------------------------------------------------------------

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
  std::snprintf(line, sizeof line, "profile: %.3f s wall%s (scopes nest: phases contain the ops they run)\n",
                wall, state().sync.load() ? ", device synchronised at every scope" : "");
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
