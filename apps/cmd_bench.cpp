// `lethe bench`: the end-to-end benchmark. For each model: train N epochs with the
// MMRec trainer (valid evaluation after every epoch, as MMRec times it), report the median train seconds
// per epoch, the median valid-evaluation seconds, the peak resident memory of that model's run and its
// parameter bytes; with --unlearn, also the wall time of MMRecUn on a random user request against gold
// retraining from scratch on the retain set (speed-up = gold s / MMRecUn s). A table on stdout, JSON with
// --json.
//
//   lethe bench --data DIR [--models lightgcn,freedom,mgcn] [--epochs 3] [--set [model:]key=value]...
//               [--unlearn [--unlearn-epochs 1] [--gold-epochs N]] [--busy] [--profile] [--trace FILE]
//               [--json FILE]
//
// Each figure beside its floor: the run first measures this machine's GEMM rate (the best of a
// projection-shaped and a square GEMM through the engine) and copy bandwidth (the best of a one-thread and
// a team copy of 256 MiB, read + write bytes). The engine counts every GEMM's FLOPs and the compulsory bytes
// of SpMMs, optimizer steps and top-k (engine/profile.h, "work counters"); a model's floor is its counted
// GEMM FLOPs at the GEMM rate plus its compulsory bytes at the copy bandwidth, per training epoch and per
// valid evaluation, and the table prints time / floor.
//
// The same in CPU time, for shared machines: a process that gets half a core of two runs every figure,
// the yardsticks included, at some fraction of the machine, and the wall-clock ratios then mean little. The
// yardsticks are also timed in process CPU seconds (GFLOP and GB per CPU second), each epoch's training and
// each evaluation too, and "CPU ratio" = CPU seconds / (counted work at the per-CPU-second rates): the
// wall ratio a model would show with every core to itself, as long as it keeps them all busy. "cores" is
// CPU seconds / wall seconds of the training, what the process actually received.
//
// A model entry may carry its own overrides after '/': `--models freedom,mgcn/n_layers=2`.
//
// --busy: epoch 0 warms up; then odd epochs run beside one CPU-bound process (a forked child spinning on
// one core) and even epochs without it, so the busy/quiet ratio of train and evaluation times comes from
// one run, interleaved (the machine's other load affects both sides alike). Train s/epoch is then the
// median of the quiet epochs after the warm-up.
//
// Peak memory: before each model the kernel's resident high-water mark is reset (writing 5 to
// /proc/self/clear_refs), so each model's VmHWM is its own (it includes the loaded data set). Where the
// reset is refused, the process-wide ru_maxrss is reported and marked as such. The CPU allocator's cache of
// freed blocks is handed back to the system before each model, so one model's blocks do not count for the
// next. "State" = parameters + Adam's two moments + the loaded feature tables (the models' graphs, a few MiB,
// are left out), the reference of the peak-memory target.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "apps/command.h"
#include "datasets/mmrec_io.h"
#include "engine/cpu/info.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/formats/atomic_file.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "engine/tensor.h"
#include "models/model.h"
#include "models/registry.h"
#include "models/training/run_dir.h"
#include "models/training/trainer.h"
#include "models/unlearning/requests.h"
#include "models/unlearning/unlearning.h"

namespace {

struct BenchArgs {
  std::string data, models = "lightgcn,freedom,mgcn", json, device = "cpu", trace;
  std::vector<std::string> sets;
  int64_t epochs = 3, seed = 999;
  bool unlearn = false, profile = false, verbose = false, busy = false;
  int64_t unlearn_epochs = 1, gold_epochs = 0;
  double unlearn_fraction = 0.05;
};

std::vector<std::string> split_list(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Resets the resident high-water mark; false when the kernel refuses.
bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f.good()) return false;
  f << "5";
  f.flush();
  return f.good();
}

// VmHWM from /proc/self/status in MiB (falls back to ru_maxrss).
double peak_rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU seconds of every thread of this process (the --busy child is another process and is not counted).
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// ---- the machine's yardsticks ---------------------------------------------------------------------

struct Machine {
  double gemm_gflops = 0, gemm_projection_gflops = 0, gemm_square_gflops = 0;
  double copy_gbs = 0, copy_one_thread_gbs = 0, copy_team_gbs = 0;
  double gemm_gflop_per_cpu_s = 0, copy_gb_per_cpu_s = 0;  // the same work per process CPU second
};

// Best wall rate and best rate per CPU second of `reps` runs of f (units of work / s).
struct Rates {
  double wall = 0, cpu = 0;
};
template <class F>
Rates best_rates(double work, int reps, F&& f) {
  Rates r;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    const double c0 = process_cpu_seconds();
    f();
    const double w = since(t0), c = process_cpu_seconds() - c0;
    if (w > 0) r.wall = std::max(r.wall, work / w);
    if (c > 0) r.cpu = std::max(r.cpu, work / c);
  }
  return r;
}

// Waits for the device's queue (a one-element read-back).
void settle(const lethe::Tensor& t) { (void)t.reshape({t.numel()}).row_range(0, 1).to_vector<float>(); }

// Best GFLOP/s (and GFLOP per CPU second) of C = A B through ops::gemm over `reps` runs (after one warm-up).
Rates gemm_rate(int64_t m, int64_t n, int64_t k, lethe::Device dev, int reps) {
  using lethe::Tensor;
  Tensor a = Tensor::full({m, k}, 0.5, lethe::DType::F32, dev),
         b = Tensor::full({k, n}, 0.25, lethe::DType::F32, dev);
  Tensor c = Tensor::zeros({m, n}, lethe::DType::F32, dev);
  lethe::ops::gemm(a, false, b, false, c);
  settle(c);
  const double gflop = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) / 1e9;
  return best_rates(gflop, reps, [&] {
    lethe::ops::gemm(a, false, b, false, c);
    settle(c);
  });
}

Machine measure_machine_once(lethe::Device dev);

// The yardsticks, their buffers handed back to the system afterwards (they must not count as a model's
// memory).
Machine measure_machine(lethe::Device dev) {
  const Machine mc = measure_machine_once(dev);
  lethe::release_host_cache();
  return mc;
}

Machine measure_machine_once(lethe::Device dev) {
  using lethe::Tensor;
  Machine mc;
  const Rates proj = gemm_rate(4096, 64, 4096, dev, 5);  // a feature projection's shape
  const Rates square = gemm_rate(1024, 1024, 1024, dev, 5);
  mc.gemm_projection_gflops = proj.wall;
  mc.gemm_square_gflops = square.wall;
  mc.gemm_gflops = std::max(mc.gemm_projection_gflops, mc.gemm_square_gflops);
  mc.gemm_gflop_per_cpu_s = std::max(proj.cpu, square.cpu);
  const int64_t n = int64_t{64} << 20;  // 256 MiB of f32
  Tensor src = Tensor::full({n}, 1.0, lethe::DType::F32, dev),
         dst = Tensor::zeros({n}, lethe::DType::F32, dev);
  const double gb = 2.0 * 4.0 * static_cast<double>(n) / 1e9;  // read + write
  const Rates one = best_rates(gb, 5, [&] {
    dst.copy_from(src);  // one memcpy on the CPU, a device-to-device copy on CUDA
    settle(dst);
  });
  mc.copy_one_thread_gbs = one.wall;
  mc.copy_gb_per_cpu_s = one.cpu;
  if (dev.is_cpu()) {  // the same copy shared by the OpenMP team, in 1 MiB blocks
    const char* ps = static_cast<const char*>(src.raw());
    char* pd = static_cast<char*>(dst.raw());
    const int64_t total = n * 4, block = int64_t{1} << 20;
    const Rates team = best_rates(gb, 5, [&] {
#pragma omp parallel for schedule(static)
      for (int64_t off = 0; off < total; off += block)
        std::memcpy(pd + off, ps + off, static_cast<size_t>(std::min(block, total - off)));
    });
    mc.copy_team_gbs = team.wall;
    mc.copy_gb_per_cpu_s = std::max(mc.copy_gb_per_cpu_s, team.cpu);
  }
  mc.copy_gbs = std::max(mc.copy_one_thread_gbs, mc.copy_team_gbs);
  return mc;
}

// The best of two measurements (a shared machine's rates only ever drop under other load).
Machine best_of(const Machine& a, const Machine& b) {
  Machine m;
  m.gemm_gflops = std::max(a.gemm_gflops, b.gemm_gflops);
  m.gemm_projection_gflops = std::max(a.gemm_projection_gflops, b.gemm_projection_gflops);
  m.gemm_square_gflops = std::max(a.gemm_square_gflops, b.gemm_square_gflops);
  m.copy_gbs = std::max(a.copy_gbs, b.copy_gbs);
  m.copy_one_thread_gbs = std::max(a.copy_one_thread_gbs, b.copy_one_thread_gbs);
  m.copy_team_gbs = std::max(a.copy_team_gbs, b.copy_team_gbs);
  m.gemm_gflop_per_cpu_s = std::max(a.gemm_gflop_per_cpu_s, b.gemm_gflop_per_cpu_s);
  m.copy_gb_per_cpu_s = std::max(a.copy_gb_per_cpu_s, b.copy_gb_per_cpu_s);
  return m;
}

nlohmann::json machine_json(const Machine& mc) {
  return {{"gemm_gflops", mc.gemm_gflops},
          {"gemm_projection_gflops", mc.gemm_projection_gflops},
          {"gemm_square_gflops", mc.gemm_square_gflops},
          {"copy_gbs", mc.copy_gbs},
          {"copy_one_thread_gbs", mc.copy_one_thread_gbs},
          {"copy_team_gbs", mc.copy_team_gbs},
          {"gemm_gflop_per_cpu_s", mc.gemm_gflop_per_cpu_s},
          {"copy_gb_per_cpu_s", mc.copy_gb_per_cpu_s}};
}

// Seconds the counted work takes at the machine's rates.
double floor_seconds(double gflop, double gb, const Machine& mc) {
  return gflop / mc.gemm_gflops + gb / mc.copy_gbs;
}

// A model's floors and time / floor ratios from its counted work (fields *_gemm_gflop*, *_compulsory_gb*).
void set_floors(nlohmann::json& m, const Machine& mc) {
  const double tf = floor_seconds(m["train_gemm_gflop_per_epoch"].get<double>(),
                                  m["train_compulsory_gb_per_epoch"].get<double>(), mc);
  const double ef =
      floor_seconds(m["eval_gemm_gflop"].get<double>(), m["eval_compulsory_gb"].get<double>(), mc);
  m["train_floor_seconds"] = tf;
  m["train_vs_floor"] = tf > 0 ? m["train_seconds_median"].get<double>() / tf : 0.0;
  m["eval_floor_seconds"] = ef;
  m["eval_vs_floor"] = ef > 0 ? m["eval_seconds_median"].get<double>() / ef : 0.0;
  // In CPU seconds: the same work at the rates per CPU second.
  auto cpu_floor = [&](double gflop, double gb) {
    return (mc.gemm_gflop_per_cpu_s > 0 ? gflop / mc.gemm_gflop_per_cpu_s : 0.0) +
           (mc.copy_gb_per_cpu_s > 0 ? gb / mc.copy_gb_per_cpu_s : 0.0);
  };
  const double tcf = cpu_floor(m["train_gemm_gflop_per_epoch"].get<double>(),
                               m["train_compulsory_gb_per_epoch"].get<double>());
  const double ecf = cpu_floor(m["eval_gemm_gflop"].get<double>(), m["eval_compulsory_gb"].get<double>());
  m["train_cpu_floor_seconds"] = tcf;
  m["train_cpu_vs_floor"] = tcf > 0 ? m["train_cpu_seconds_median"].get<double>() / tcf : 0.0;
  m["eval_cpu_floor_seconds"] = ecf;
  m["eval_cpu_vs_floor"] = ecf > 0 ? m["eval_cpu_seconds"].get<double>() / ecf : 0.0;
}

// ---- one other CPU-bound process ------------------------------------------------------------------

class Hog {
 public:
  ~Hog() { stop(); }
  void start() {
    if (pid_ > 0) return;
    std::fflush(stdout);
    const pid_t p = fork();
    LETHE_CHECK(p >= 0, "bench --busy: fork failed: " << std::strerror(errno));
    if (p == 0) {  // the child only spins (async-signal-safe: no allocation, no locks) until killed
      volatile uint64_t x = 1;
      for (;;) x = x * 6364136223846793005ull + 1442695040888963407ull;
    }
    pid_ = p;
  }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool running() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

bool busy_epoch(int64_t e) { return e % 2 == 1; }

// ---- the pieces of one run ----------------------------------------------------------------------

// Resolves each --models entry's config: the --set overrides that reach it, then the entry's own overrides.
std::vector<lethe::models::Config> resolve_configs(const BenchArgs& a,
                                                   const std::vector<std::string>& entries,
                                                   const std::vector<std::string>& names) {
  using namespace lethe::models;
  // An entry is a model name with its own overrides: "freedom/feature_projection=dense".
  // --set: "model:key=value" for one model; a plain "key=value" for every model that has the key (and an
  // error, with the closest key, when none of them has it). The entry's own overrides come last. Checked for
  // every entry before any training.
  std::vector<Config> configs;
  for (const std::string& entry : entries) {
    const std::vector<std::string> parts = split_list(entry, '/');
    const std::string& name = parts[0];
    std::vector<std::string> mine;
    for (const std::string& kv : a.sets) {
      const auto colon = kv.find(':');
      const auto eq = kv.find('=');
      if (colon != std::string::npos && colon < eq) {
        if (kv.substr(0, colon) == name) mine.push_back(kv.substr(colon + 1));
      } else {
        const std::string key = kv.substr(0, eq);
        bool anyone = false;
        for (const std::string& n : names) anyone = anyone || known_config_keys(n).count(key) > 0;
        if (!anyone || known_config_keys(name).count(key)) mine.push_back(kv);  // unknown to all: reported
      }
    }
    mine.insert(mine.end(), parts.begin() + 1, parts.end());
    configs.push_back(resolve_config(name, "", mine));
  }
  return configs;
}

// Starts the JSON report with the run's facts and prints the header lines (data set, threading, machine).
nlohmann::json bench_header(const BenchArgs& a, const lethe::Device& dev, const lethe::datasets::Dataset& ds,
                            double load_s, const Machine& mc) {
  using namespace lethe;
  nlohmann::json out;
  out["data"] = a.data;
  out["users"] = ds.n_users;
  out["items"] = ds.n_items;
  out["train_rows"] = ds.train.size();
  out["epochs"] = a.epochs;
  out["device"] = dev.str();
  out["load_seconds"] = load_s;
  out["busy"] = a.busy;
  out["threading"] = cpu::threading_summary();
  out["machine"] = machine_json(mc);
  out["machine_first"] = machine_json(mc);
  out["models"] = nlohmann::json::array();
  std::cout << "lethe bench: " << a.data << " (" << ds.n_users << " users, " << ds.n_items << " items, "
            << ds.train.size() << " train rows; loaded in " << load_s << " s), " << a.epochs
            << " epochs per model, device " << dev.str() << "\n"
            << "threads: " << cpu::threading_summary() << "\n";
  std::printf(
      "machine: GEMM %.1f GFLOP/s (4096x4096 . 4096x64: %.1f, 1024^3: %.1f); copy %.1f GB/s read+write "
      "(one thread %.1f, team %.1f)\n",
      mc.gemm_gflops, mc.gemm_projection_gflops, mc.gemm_square_gflops, mc.copy_gbs, mc.copy_one_thread_gbs,
      mc.copy_team_gbs);
  std::fflush(stdout);
  return out;
}

// What every model's benchmark shares: the device, the data, the yardsticks so far and the --busy process.
struct BenchContext {
  const lethe::Device& dev;
  lethe::datasets::Dataset& ds;
  const lethe::models::TrainData& td;
  std::ostringstream& null_log;  // swallows the per-epoch lines of the gold retrain
  double feature_bytes;          // the loaded feature tables
  Machine& mc;                   // the best yardsticks seen so far (updated after each model)
  Hog& hog;
};

// One training run as the hooks saw it: each epoch's counted work and CPU seconds, and one more evaluation's.
struct EpochCounts {
  lethe::training::TrainResult res;
  std::vector<lethe::prof::Work> epoch_work;
  std::vector<double> epoch_cpu;  // process CPU seconds of each epoch (training and its evaluation)
  double eval_cpu = 0;
  lethe::prof::Work eval_work;
};

// Trains with the busy/quiet schedule, counting each epoch's work, then one more valid evaluation's work.
EpochCounts train_counted(const BenchArgs& a, lethe::training::Trainer& trainer, const std::string& entry,
                          Hog& hog) {
  using namespace lethe;
  using namespace lethe::training;
  // Work per epoch (train + its evaluation) from the engine's counters; the busy schedule.
  EpochCounts c;
  prof::Work mark = prof::work();
  double cpu_mark = process_cpu_seconds();
  TrainHooks hooks;
  hooks.on_epoch = [&](const EpochRecord& r) {
    const prof::Work now = prof::work();
    c.epoch_work.push_back(now - mark);
    c.epoch_cpu.push_back(process_cpu_seconds() - cpu_mark);
    if (prof::tracing())
      prof::trace_instant(entry + " epoch " + std::to_string(r.epoch) +
                          (hog.running() ? " (busy)" : " (quiet)"));
    if (a.busy) {
      if (busy_epoch(r.epoch + 1))
        hog.start();
      else
        hog.stop();
    }
    mark = prof::work();  // the fork and the marker are not the model's work
    cpu_mark = process_cpu_seconds();
    return true;
  };
  c.res = trainer.train(hooks);
  hog.stop();
  // One more valid evaluation, for the evaluation's own counted work (the same work at every epoch).
  const prof::Work e0 = prof::work();
  const double ec0 = process_cpu_seconds();
  (void)trainer.evaluate("valid");
  c.eval_cpu = process_cpu_seconds() - ec0;
  c.eval_work = prof::work() - e0;
  return c;
}

// A model's figures: quiet and busy train / eval seconds, CPU seconds, the last recall and work per epoch.
struct TrainFigures {
  std::vector<double> tr, ev, tr_busy, ev_busy, tr_cpu;
  double recall = -1.0;
  double eval_cpu = 0;
  lethe::prof::Work train_work, eval_work;
};

// Sorts the epochs into warm-up, busy and quiet, and averages the training's counted work per epoch.
TrainFigures summarize_epochs(const BenchArgs& a, const EpochCounts& c) {
  using namespace lethe;
  using namespace lethe::training;
  TrainFigures f;
  f.eval_cpu = c.eval_cpu;
  f.eval_work = c.eval_work;
  int64_t counted = 0;
  for (size_t i = 0; i < c.res.epochs.size(); ++i) {
    const EpochRecord& r = c.res.epochs[i];
    const bool is_busy = a.busy && busy_epoch(r.epoch);
    const bool warmup = a.busy && r.epoch == 0;
    if (!warmup) {
      (is_busy ? f.tr_busy : f.tr).push_back(r.train_seconds);
      if (!is_busy && i < c.epoch_cpu.size())  // the epoch's CPU less that of one evaluation
        f.tr_cpu.push_back(std::max(0.0, c.epoch_cpu[i] - (r.evaluated ? c.eval_cpu : 0.0)));
      if (r.evaluated) (is_busy ? f.ev_busy : f.ev).push_back(r.eval_seconds);
    }
    if (r.evaluated) f.recall = eval::metric(r.valid, "Recall@20");
    if (i < c.epoch_work.size()) {
      prof::Work w = c.epoch_work[i];
      if (r.evaluated) w = w - c.eval_work;
      f.train_work.gemm_flops += w.gemm_flops;
      f.train_work.bytes += w.bytes;
      ++counted;
    }
  }
  if (counted > 0) {
    f.train_work.gemm_flops /= static_cast<double>(counted);
    f.train_work.bytes /= static_cast<double>(counted);
  }
  return f;
}

// A model's JSON record of times, CPU seconds, counted work, floors, busy ratios and recall.
nlohmann::json timing_json(const BenchArgs& a, const std::string& entry, const lethe::models::Config& cfg,
                           double build_s, const TrainFigures& f, const Machine& mc) {
  nlohmann::json m;
  m["model"] = entry;
  m["config"] = cfg.raw();
  m["build_seconds"] = build_s;
  m["train_seconds"] = f.tr;
  m["eval_seconds"] = f.ev;
  m["train_seconds_median"] = median(f.tr);
  m["eval_seconds_median"] = median(f.ev);
  m["train_cpu_seconds"] = f.tr_cpu;
  m["train_cpu_seconds_median"] = median(f.tr_cpu);
  m["train_cores"] = median(f.tr) > 0 ? median(f.tr_cpu) / median(f.tr) : 0.0;
  m["eval_cpu_seconds"] = f.eval_cpu;
  m["train_gemm_gflop_per_epoch"] = f.train_work.gemm_flops / 1e9;
  m["train_compulsory_gb_per_epoch"] = f.train_work.bytes / 1e9;
  m["eval_gemm_gflop"] = f.eval_work.gemm_flops / 1e9;
  m["eval_compulsory_gb"] = f.eval_work.bytes / 1e9;
  set_floors(m, mc);
  if (a.busy) {
    m["busy_train_seconds"] = f.tr_busy;
    m["busy_eval_seconds"] = f.ev_busy;
    m["busy_train_ratio"] = median(f.tr) > 0 ? median(f.tr_busy) / median(f.tr) : 0.0;
    m["busy_eval_ratio"] = median(f.ev) > 0 ? median(f.ev_busy) / median(f.ev) : 0.0;
  }
  m["valid_recall20_last"] = f.recall;
  return m;
}

// Times MMRecUn against gold retraining on a random user request; returns the "unlearning" record.
nlohmann::json bench_unlearning(const BenchArgs& a, const BenchContext& c,
                                std::unique_ptr<lethe::models::Model>& model, const std::string& name,
                                const lethe::models::Config& cfg) {
  using namespace lethe;
  unlearning::RequestSpec spec;
  spec.kind = unlearning::RequestKind::User;
  spec.fraction = a.unlearn_fraction;
  spec.seed = static_cast<uint64_t>(a.seed);
  const unlearning::Request req = unlearning::generate_request(c.ds, spec);
  const unlearning::RequestView view = unlearning::apply_requests(c.ds, {req});
  unlearning::UnlearnOptions uo;
  uo.method = unlearning::Method::MMRecUn;
  uo.epochs = a.unlearn_epochs;
  uo.seed = static_cast<uint64_t>(a.seed);
  uo.quiet = true;
  uo.log = &c.null_log;
  const unlearning::UnlearnResult mu = unlearning::run_method(model, name, cfg, view, uo);
  unlearning::UnlearnOptions go = uo;
  go.method = unlearning::Method::Gold;
  go.epochs = a.gold_epochs > 0 ? a.gold_epochs : a.epochs;
  const unlearning::UnlearnResult gu = unlearning::run_method(model, name, cfg, view, go);
  nlohmann::json u;
  char what[64];
  std::snprintf(what, sizeof what, "user, random, %g of users", a.unlearn_fraction);
  u["request"] = what;
  u["forget_rows"] = view.forget.size();
  u["mmrecun_epochs"] = mu.epochs_run;
  u["mmrecun_seconds"] = mu.seconds;
  u["gold_epochs"] = gu.epochs_run;
  u["gold_seconds"] = gu.seconds;
  u["speedup"] = mu.seconds > 0 ? gu.seconds / mu.seconds : 0.0;
  return u;
}

// Benchmarks one --models entry: builds and trains it, counts its work, measures its memory (and, with
// --unlearn, its unlearning); returns its JSON record.
nlohmann::json bench_model(const BenchArgs& a, const BenchContext& c, const std::string& entry,
                           const std::string& name, lethe::models::Config cfg) {
  using namespace lethe;
  using namespace lethe::models;
  using namespace lethe::training;
  cfg.set("seed", std::to_string(a.seed));
  cfg.set("epochs", std::to_string(a.epochs));
  release_host_cache();  // the previous model's cached blocks must not count towards this model's peak
  const bool hwm_reset = reset_peak_rss();
  if (a.profile) prof::enable(true);

  TrainOptions opt = TrainOptions::from_config(cfg);
  opt.quiet = !a.verbose;
  opt.progress = false;
  opt.eval_test = false;  // MMRec times only the valid evaluation; the test pass is not part of the figure
  opt.restore_best = false;
  const auto tb = Clock::now();
  auto model = create_model(name, cfg, c.td, opt.seed, c.dev);
  const double build_s = since(tb);
  const double peak_build = peak_rss_mib();  // the high-water mark of loading + building (graphs, tables)
  int64_t n_params = 0;
  for (auto& [pn, v] : model->parameters()) n_params += v.value().numel();
  Trainer trainer(*model, c.td, c.ds.valid, c.ds.test, opt);
  const TrainFigures f = summarize_epochs(a, train_counted(a, trainer, entry, c.hog));
  if (a.profile) {
    prof::enable(false);
    std::cout << "--- profile of " << entry << " (" << a.epochs << " epochs) ---\n";
    prof::report(std::cout, 40);
  }
  const double peak_train = peak_rss_mib();
  c.mc = best_of(c.mc, measure_machine(c.dev));
  const double state_mib = (3.0 * 4.0 * static_cast<double>(n_params) + c.feature_bytes) / (1024.0 * 1024.0);

  nlohmann::json m = timing_json(a, entry, cfg, build_s, f, c.mc);
  m["parameters"] = n_params;
  m["parameter_mib"] = static_cast<double>(n_params) * 4.0 / (1024.0 * 1024.0);
  m["state_mib"] = state_mib;
  m["peak_rss_mib"] = peak_train;
  m["peak_rss_mib_after_build"] = peak_build;
  m["peak_vs_state"] = peak_train / state_mib;
  m["peak_rss_scope"] = hwm_reset ? "this model (VmHWM reset before it)" : "process (ru_maxrss)";
  if (a.unlearn) {
    m["unlearning"] = bench_unlearning(a, c, model, name, cfg);
    m["peak_rss_mib_with_unlearning"] = peak_rss_mib();
  }
  return m;
}

// Prints the line a model's benchmark ends with: its times beside their floors, its peak memory.
void print_model_line(const BenchArgs& a, const nlohmann::json& m) {
  const double peak_train = m["peak_rss_mib"].get<double>();
  std::printf(
      "bench: %s done: train %.3f s/epoch (median; floor %.3f s, %.2fx; CPU %.3f s on %.2f cores, CPU floor "
      "%.3f s, %.2fx), valid eval %.3f s (floor %.3f s, %.2fx; CPU %.2fx), peak RSS %.0f MiB (%.2fx state)",
      m["model"].get<std::string>().c_str(), m["train_seconds_median"].get<double>(),
      m["train_floor_seconds"].get<double>(), m["train_vs_floor"].get<double>(),
      m["train_cpu_seconds_median"].get<double>(), m["train_cores"].get<double>(),
      m["train_cpu_floor_seconds"].get<double>(), m["train_cpu_vs_floor"].get<double>(),
      m["eval_seconds_median"].get<double>(), m["eval_floor_seconds"].get<double>(),
      m["eval_vs_floor"].get<double>(), m["eval_cpu_vs_floor"].get<double>(), peak_train,
      m["peak_vs_state"].get<double>());
  if (a.busy)
    std::printf(", busy/quiet train %.2fx eval %.2fx", m["busy_train_ratio"].get<double>(),
                m["busy_eval_ratio"].get<double>());
  if (m.contains("unlearning"))
    std::printf(", MMRecUn %.2f s vs gold %.2f s", m["unlearning"]["mmrecun_seconds"].get<double>(),
                m["unlearning"]["gold_seconds"].get<double>());
  std::printf("\n");
  std::fflush(stdout);
}

// Prints the table of every model's times, floors, ratios, memory (and busy ratios, unlearning speed-ups).
void print_model_table(const BenchArgs& a, const nlohmann::json& out) {
  std::printf("\n%-22s %7s %13s %9s %7s %9s %9s %7s %8s %8s %7s", "model", "epochs", "train s/epoch",
              "floor s", "ratio", "eval s", "floor s", "ratio", "peak MiB", "/state", "R@20");
  std::printf(" %9s %9s %6s", "CPU ratio", "eval CPU", "cores");
  if (a.busy) std::printf(" %10s %9s", "busy train", "busy eval");
  if (a.unlearn) std::printf(" %10s %8s %8s", "MMRecUn s", "gold s", "speed-up");
  std::printf("\n");
  for (const auto& m : out["models"]) {
    std::printf("%-22s %7lld %13.3f %9.3f %6.2fx %9.3f %9.3f %6.2fx %8.0f %7.2fx %7.4f",
                m["model"].get<std::string>().c_str(), static_cast<long long>(a.epochs),
                m["train_seconds_median"].get<double>(), m["train_floor_seconds"].get<double>(),
                m["train_vs_floor"].get<double>(), m["eval_seconds_median"].get<double>(),
                m["eval_floor_seconds"].get<double>(), m["eval_vs_floor"].get<double>(),
                m["peak_rss_mib"].get<double>(), m["peak_vs_state"].get<double>(),
                m["valid_recall20_last"].get<double>());
    std::printf(" %8.2fx %8.2fx %6.2f", m["train_cpu_vs_floor"].get<double>(),
                m["eval_cpu_vs_floor"].get<double>(), m["train_cores"].get<double>());
    if (a.busy)
      std::printf(" %9.2fx %8.2fx", m["busy_train_ratio"].get<double>(), m["busy_eval_ratio"].get<double>());
    if (m.contains("unlearning")) {
      const auto& u = m["unlearning"];
      std::printf(" %10.2f %8.2f %7.1fx", u["mmrecun_seconds"].get<double>(), u["gold_seconds"].get<double>(),
                  u["speedup"].get<double>());
    }
    std::printf("\n");
  }
}

// Recomputes every floor at the run's best rates, prints the tables and notes, writes the JSON and the trace.
void finish_bench(const BenchArgs& a, nlohmann::json& out, const Machine& mc) {
  using namespace lethe;
  // The tables, every floor at the best rates seen in the run.
  out["machine"] = machine_json(mc);
  for (auto& m : out["models"]) set_floors(m, mc);
  std::printf(
      "\nmachine (best of the run): GEMM %.1f GFLOP/s (projection shape %.1f, square %.1f); copy %.1f GB/s; "
      "per CPU second: GEMM %.1f GFLOP, copy %.1f GB\n",
      mc.gemm_gflops, mc.gemm_projection_gflops, mc.gemm_square_gflops, mc.copy_gbs, mc.gemm_gflop_per_cpu_s,
      mc.copy_gb_per_cpu_s);
  print_model_table(a, out);
  std::printf("\n%-22s %14s %14s %12s %12s\n", "model", "GEMM GFLOP/ep", "bytes GB/ep", "eval GFLOP",
              "eval GB");
  for (const auto& m : out["models"])
    std::printf("%-22s %14.2f %14.3f %12.3f %12.4f\n", m["model"].get<std::string>().c_str(),
                m["train_gemm_gflop_per_epoch"].get<double>(),
                m["train_compulsory_gb_per_epoch"].get<double>(), m["eval_gemm_gflop"].get<double>(),
                m["eval_compulsory_gb"].get<double>());
  std::printf(
      "(train s, eval s: medians over %s; floor = counted GEMM FLOPs at %.1f GFLOP/s + compulsory bytes "
      "(SpMM operands, optimizer state, top-k scores) at %.1f GB/s, measured in this run; state = parameters "
      "+ Adam moments + feature tables)\n",
      a.busy ? "the quiet epochs after the warm-up" : (std::to_string(a.epochs) + " epochs").c_str(),
      mc.gemm_gflops, mc.copy_gbs);
  std::printf(
      "(CPU ratio: process CPU seconds / the counted work at %.1f GFLOP and %.1f GB per CPU second, the "
      "yardsticks timed in CPU seconds: the ratio with every core to the process; cores: CPU s / wall s of "
      "training)\n",
      mc.gemm_gflop_per_cpu_s, mc.copy_gb_per_cpu_s);
  if (a.busy)
    std::printf(
        "(busy: median of the epochs run beside one CPU-bound process / median of the quiet epochs, "
        "interleaved in this run)\n");
  if (a.unlearn)
    std::printf(
        "(unlearning: MMRecUn %lld epoch(s) vs gold retrained for the epochs shown; a real gold retrain "
        "runs to early stopping, so the speed-up shown is a lower bound)\n",
        static_cast<long long>(a.unlearn_epochs));
  std::fflush(stdout);
  if (!a.json.empty()) {
    formats::write_file_atomic(a.json, out.dump(2) + "\n");
    std::cout << "JSON written to " << a.json << "\n";
  }
  if (!a.trace.empty()) {
    prof::write_trace(a.trace);
    std::cout << "trace written to " << a.trace << "\n";
  }
}

// `lethe bench`: checks the arguments, loads the data, benchmarks each model in turn, then prints the
// summary.
int run_bench(const BenchArgs& a) {
  using namespace lethe;
  using namespace lethe::models;
  const Device dev = parse_device(a.device);
  LETHE_CHECK(!dev.is_cuda() || cuda_available(),
              "--device " << a.device << ": no usable CUDA device in this build");
  LETHE_CHECK(a.epochs >= 1, "--epochs must be >= 1");
  LETHE_CHECK(!a.busy || a.epochs >= 3,
              "--busy needs --epochs >= 3 (a warm-up, then busy and quiet epochs in turn)");
  const std::vector<std::string> entries = split_list(a.models, ',');
  LETHE_CHECK(!entries.empty(), "--models: no model named");
  if (!a.json.empty()) formats::check_writable(a.json);  // before the work, not after it
  std::vector<std::string> names;
  for (const std::string& entry : entries) names.push_back(split_list(entry, '/').at(0));
  const std::vector<Config> configs = resolve_configs(a, entries, names);
  if (!a.trace.empty()) prof::start_trace();

  const auto tl = Clock::now();
  datasets::Dataset ds = datasets::load_mmrec(a.data);
  const double load_s = since(tl);
  TrainData td = make_train_data(ds);
  std::ostringstream null_log;  // swallows the per-epoch lines of the gold retrain
  double feature_bytes = 0;
  for (const auto& [mod, t] : td.features) feature_bytes += static_cast<double>(t.nbytes());

  // The yardsticks are measured before the first model and again after each one; the floors use the best
  // rates seen in the run (recomputed at the end for every model).
  Machine mc = measure_machine(dev);
  nlohmann::json out = bench_header(a, dev, ds, load_s, mc);

  Hog hog;
  const BenchContext ctx{dev, ds, td, null_log, feature_bytes, mc, hog};
  for (size_t ei = 0; ei < entries.size(); ++ei) {
    out["models"].push_back(bench_model(a, ctx, entries[ei], names[ei], configs[ei]));
    null_log.str("");
    print_model_line(a, out["models"].back());
    // After every model: an interrupted run keeps it.
    if (!a.json.empty()) formats::write_file_atomic(a.json, out.dump(2) + "\n");
  }
  finish_bench(a, out, mc);
  return 0;
}

lethe::apps::Register reg(
    "bench",
    "End-to-end benchmark: per-epoch train and evaluation time beside their floors, peak memory, unlearning "
    "speed-up",
    [](CLI::App& sub) -> lethe::apps::Runner {
      auto a = std::make_shared<BenchArgs>();
      sub.add_option("--data", a->data, "MMRec data set directory")->required();
      sub.add_option("--models", a->models,
                     "comma-separated models, each optionally with overrides: name/key=value/...")
          ->default_val("lightgcn,freedom,mgcn");
      sub.add_option("--epochs", a->epochs, "epochs per model (median over them)")->default_val(3);
      sub.add_option("--set", a->sets,
                     "config override key=value, or model:key=value for one model (repeatable)");
      sub.add_option("--seed", a->seed, "seed")->default_val(999);
      sub.add_option("--device", a->device, "cpu, cuda or cuda:N")->default_val("cpu");
      sub.add_flag("--unlearn", a->unlearn,
                   "also time MMRecUn against gold retraining on a random user request");
      sub.add_option("--unlearn-fraction", a->unlearn_fraction, "fraction of users to forget")
          ->default_val(0.05);
      sub.add_option("--unlearn-epochs", a->unlearn_epochs, "MMRecUn epochs")->default_val(1);
      sub.add_option("--gold-epochs", a->gold_epochs, "gold retraining epochs (default: --epochs)");
      sub.add_flag("--busy", a->busy,
                   "run odd epochs beside one CPU-bound process and report busy / quiet ratios");
      sub.add_flag("--profile", a->profile, "print the op/phase profile of each model");
      sub.add_option("--trace", a->trace,
                     "write a Chrome trace (every op and phase; opens in Perfetto) to this file");
      sub.add_flag("--verbose", a->verbose, "print the MMRec epoch lines");
      sub.add_option("--json", a->json, "write the results as JSON to this file");
      return [a] { return run_bench(*a); };
    });

}  // namespace
