// `lethe bench`: the end-to-end benchmark. For each model: train N epochs with the
// MMRec trainer (valid evaluation after every epoch, as MMRec times it), report the median train seconds
// per epoch, the median valid-evaluation seconds, the peak resident memory of that model's run and its
// parameter bytes; with --unlearn, also the wall time of MMRecUn on a random user request against gold
// retraining from scratch on the retain set (speed-up = gold s / MMRecUn s). A table on stdout, JSON with --json.
//
//   lethe bench --data DIR [--models lightgcn,freedom,mgcn] [--epochs 3] [--set [model:]key=value]...
//               [--unlearn [--unlearn-epochs 1] [--gold-epochs N]] [--profile] [--json FILE]
//
// Peak memory: before each model the kernel's resident high-water mark is reset (writing 5 to
// /proc/self/clear_refs), so each model's VmHWM is its own (it includes the loaded data set). Where the
// reset is refused, the process-wide ru_maxrss is reported and marked as such. The CPU allocator's cache of
// freed blocks is handed back to the system before each model, so one model's blocks do not count for the next.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "apps/command.h"
#include "datasets/mmrec_io.h"
#include "engine/error.h"
#include "engine/formats/atomic_file.h"
#include "models/registry.h"
#include "models/unlearning/requests.h"
#include "engine/device.h"
#include "engine/profile.h"
#include "engine/tensor.h"
#include "models/model.h"
#include "models/training/run_dir.h"
#include "models/training/trainer.h"
#include "models/unlearning/unlearning.h"

namespace {

struct BenchArgs {
  std::string data, models = "lightgcn,freedom,mgcn", json, device = "cpu";
  std::vector<std::string> sets;
  int64_t epochs = 3, seed = 999;
  bool unlearn = false, profile = false, verbose = false;
  int64_t unlearn_epochs = 1, gold_epochs = 0;
  double unlearn_fraction = 0.05;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
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

int run_bench(const BenchArgs& a) {
  using namespace lethe;
  using namespace lethe::models;
  using namespace lethe::training;
  const Device dev = parse_device(a.device);
  LETHE_CHECK(!dev.is_cuda() || cuda_available(), "--device " << a.device << ": no usable CUDA device in this build");
  LETHE_CHECK(a.epochs >= 1, "--epochs must be >= 1");
  const std::vector<std::string> names = split_list(a.models);
  LETHE_CHECK(!names.empty(), "--models: no model named");
  if (!a.json.empty()) formats::check_writable(a.json);  // before the work, not after it
  // --set: "model:key=value" for one model; a plain "key=value" for every model that has the key (and an
  // error, with the closest key, when none of them has it). Checked for every model before any training.
  std::map<std::string, Config> configs;
  for (const std::string& name : names) {
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
    configs[name] = resolve_config(name, "", mine);
  }

  const auto tl = Clock::now();
  datasets::Dataset ds = datasets::load_mmrec(a.data);
  const double load_s = since(tl);
  TrainData td = make_train_data(ds);
  std::ostringstream null_log;  // swallows the per-epoch lines of the gold retrain

  nlohmann::json out;
  out["data"] = a.data;
  out["users"] = ds.n_users;
  out["items"] = ds.n_items;
  out["train_rows"] = ds.train.size();
  out["epochs"] = a.epochs;
  out["device"] = dev.str();
  out["load_seconds"] = load_s;
  out["models"] = nlohmann::json::array();
  std::cout << "lethe bench: " << a.data << " (" << ds.n_users << " users, " << ds.n_items << " items, "
            << ds.train.size() << " train rows; loaded in " << load_s << " s), " << a.epochs
            << " epochs per model, device " << dev.str() << "\n";

  for (const std::string& name : names) {
    Config cfg = configs.at(name);
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
    auto model = create_model(name, cfg, td, opt.seed, dev);
    const double build_s = since(tb);
    int64_t n_params = 0;
    for (auto& [pn, v] : model->parameters()) n_params += v.value().numel();
    Trainer trainer(*model, td, ds.valid, ds.test, opt);
    const TrainResult res = trainer.train();
    std::vector<double> tr, ev;
    double recall = -1.0;
    for (const EpochRecord& r : res.epochs) {
      tr.push_back(r.train_seconds);
      if (r.evaluated) {
        ev.push_back(r.eval_seconds);
        recall = eval::metric(r.valid, "Recall@20");
      }
    }
    if (a.profile) {
      prof::enable(false);
      std::cout << "--- profile of " << name << " (" << a.epochs << " epochs) ---\n";
      prof::report(std::cout, 40);
    }
    const double peak_train = peak_rss_mib();

    nlohmann::json m;
    m["model"] = name;
    m["config"] = cfg.raw();
    m["build_seconds"] = build_s;
    m["train_seconds"] = tr;
    m["eval_seconds"] = ev;
    m["train_seconds_median"] = median(tr);
    m["eval_seconds_median"] = median(ev);
    m["valid_recall20_last"] = recall;
    m["parameters"] = n_params;
    m["parameter_mib"] = static_cast<double>(n_params) * 4.0 / (1024.0 * 1024.0);
    m["peak_rss_mib"] = peak_train;
    m["peak_rss_scope"] = hwm_reset ? "this model (VmHWM reset before it)" : "process (ru_maxrss)";

    if (a.unlearn) {
      unlearning::RequestSpec spec;
      spec.kind = unlearning::RequestKind::User;
      spec.fraction = a.unlearn_fraction;
      spec.seed = static_cast<uint64_t>(a.seed);
      const unlearning::Request req = unlearning::generate_request(ds, spec);
      const unlearning::RequestView view = unlearning::apply_requests(ds, {req});
      unlearning::UnlearnOptions uo;
      uo.method = unlearning::Method::MMRecUn;
      uo.epochs = a.unlearn_epochs;
      uo.seed = static_cast<uint64_t>(a.seed);
      uo.quiet = true;
      uo.log = &null_log;
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
      m["unlearning"] = u;
      m["peak_rss_mib_with_unlearning"] = peak_rss_mib();
    }
    out["models"].push_back(m);
    null_log.str("");
    std::printf("bench: %s done: train %.3f s/epoch (median), valid eval %.3f s, peak RSS %.0f MiB", name.c_str(),
                median(tr), median(ev), peak_train);
    if (m.contains("unlearning"))
      std::printf(", MMRecUn %.2f s vs gold %.2f s", m["unlearning"]["mmrecun_seconds"].get<double>(),
                  m["unlearning"]["gold_seconds"].get<double>());
    std::printf("\n");
    std::fflush(stdout);
    if (!a.json.empty()) formats::write_file_atomic(a.json, out.dump(2) + "\n");  // after every model: an
                                                                                 // interrupted run keeps it
  }

  // The table.
  std::printf("\n%-10s %8s %14s %14s %12s %12s %10s", "model", "epochs", "train s/epoch", "valid eval s",
              "peak RSS MiB", "params MiB", "R@20");
  if (a.unlearn) std::printf(" %12s %10s %8s", "MMRecUn s", "gold s", "speed-up");
  std::printf("\n");
  for (const auto& m : out["models"]) {
    std::printf("%-10s %8lld %14.3f %14.3f %12.0f %12.1f %10.4f", m["model"].get<std::string>().c_str(),
                static_cast<long long>(a.epochs), m["train_seconds_median"].get<double>(),
                m["eval_seconds_median"].get<double>(), m["peak_rss_mib"].get<double>(),
                m["parameter_mib"].get<double>(), m["valid_recall20_last"].get<double>());
    if (m.contains("unlearning")) {
      const auto& u = m["unlearning"];
      std::printf(" %12.2f %10.2f %7.1fx", u["mmrecun_seconds"].get<double>(), u["gold_seconds"].get<double>(),
                  u["speedup"].get<double>());
    }
    std::printf("\n");
  }
  std::printf("(medians over %lld epochs; valid eval = eval-view forward + full ranking of the valid users)\n",
              static_cast<long long>(a.epochs));
  if (a.unlearn)
    std::printf("(unlearning: MMRecUn %lld epoch(s) vs gold retrained for the epochs shown; a real gold retrain "
                "runs to early stopping, so the speed-up shown is a lower bound)\n",
                static_cast<long long>(a.unlearn_epochs));
  std::fflush(stdout);
  if (!a.json.empty()) {
    formats::write_file_atomic(a.json, out.dump(2) + "\n");
    std::cout << "JSON written to " << a.json << "\n";
  }
  return 0;
}

lethe::apps::Register reg("bench", "End-to-end benchmark: per-epoch train and evaluation time, peak memory, unlearning speed-up",
                         [](CLI::App& sub) -> lethe::apps::Runner {
                           auto a = std::make_shared<BenchArgs>();
                           sub.add_option("--data", a->data, "MMRec data set directory")->required();
                           sub.add_option("--models", a->models, "comma-separated models")
                               ->default_val("lightgcn,freedom,mgcn");
                           sub.add_option("--epochs", a->epochs, "epochs per model (median over them)")
                               ->default_val(3);
                           sub.add_option("--set", a->sets,
                                          "config override key=value, or model:key=value for one model (repeatable)");
                           sub.add_option("--seed", a->seed, "seed")->default_val(999);
                           sub.add_option("--device", a->device, "cpu, cuda or cuda:N")->default_val("cpu");
                           sub.add_flag("--unlearn", a->unlearn,
                                        "also time MMRecUn against gold retraining on a random user request");
                           sub.add_option("--unlearn-fraction", a->unlearn_fraction, "fraction of users to forget")
                               ->default_val(0.05);
                           sub.add_option("--unlearn-epochs", a->unlearn_epochs, "MMRecUn epochs")->default_val(1);
                           sub.add_option("--gold-epochs", a->gold_epochs,
                                          "gold retraining epochs (default: --epochs)");
                           sub.add_flag("--profile", a->profile, "print the op/phase profile of each model");
                           sub.add_flag("--verbose", a->verbose, "print the MMRec epoch lines");
                           sub.add_option("--json", a->json, "write the results as JSON to this file");
                           return [a] { return run_bench(*a); };
                         });

}  // namespace
