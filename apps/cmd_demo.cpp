// `lethe demo`: the whole unlearning story on a tiny generated multi-modal data set, end to end:
// generate data -> train the original model -> issue a 5% user request -> MMRecUn and gold -> audit ->
// print the report table. Everything lands in --out (data/, original/, request.tsv, mmrecun/, gold/,
// finetune/, audit/report.json and audit/report.md, and the marker DEMO that lets the next demo replace
// them). Each run directory is written whole or not at all by the library's pipelines
// (models/training/pipeline.h, models/unlearning/pipeline.h).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "apps/command.h"
#include "datasets/mmrec_io.h"
#include "datasets/synthetic.h"
#include "engine/error.h"
#include "engine/formats/atomic_file.h"
#include "models/model.h"
#include "models/training/pipeline.h"
#include "models/unlearning/pipeline.h"
#include "models/unlearning/report.h"
#include "models/unlearning/requests.h"

namespace fs = std::filesystem;

namespace {

struct DemoArgs {
  std::string out = "lethe-demo", model = "freedom";
  int64_t seed = 2024;
  double fraction = 0.05;
  bool verbose = false;
};

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_demo(const DemoArgs& a) {
  using namespace lethe;
  const auto t_all = std::chrono::steady_clock::now();
  // A previous demo's output (marked by OUT/DEMO) is replaced; any other non-empty directory is refused.
  if (fs::exists(a.out) && !fs::is_empty(a.out)) {
    LETHE_CHECK(
        fs::exists(a.out + "/DEMO"),
        "demo: " << a.out
                 << " exists, is not empty and is not a previous demo's output; remove it or pass --out DIR");
    for (const char* p : {"data", "original", "request.tsv", "mmrecun", "gold", "finetune", "audit",
                          "report.json", "report.md", "DEMO"})
      fs::remove_all(fs::path(a.out) / p);
    std::cout << "replacing the previous demo output in " << a.out << "\n";
  }
  fs::create_directories(a.out);
  formats::write_file_atomic(a.out + "/DEMO",
                             "Output of `lethe demo`; the next run in this directory replaces it.\n");
  const auto names = models::model_names();
  LETHE_CHECK(std::find(names.begin(), names.end(), a.model) != names.end(),
              "demo: unknown model '" << a.model << "'");
  const uint64_t seed = static_cast<uint64_t>(a.seed);
  const std::string data_dir = a.out + "/data", orig_dir = a.out + "/original",
                    req_file = a.out + "/request.tsv";

  // 1. data
  auto t0 = std::chrono::steady_clock::now();
  std::cout << "[1/7] generating the tiny multi-modal data set (seed " << seed << ") ..." << std::flush;
  {
    const datasets::Dataset gen = datasets::generate_synthetic(datasets::synth_preset("tiny"), seed);
    datasets::write_mmrec(gen, data_dir);
  }
  const datasets::Dataset ds = datasets::load_mmrec(data_dir);
  std::cout << " " << ds.n_users << " users, " << ds.n_items << " items, " << ds.train.size()
            << " train rows, " << ds.features.size() << " modalities (" << since(t0) << " s)\n";

  // 2. original model
  t0 = std::chrono::steady_clock::now();
  std::cout << "[2/7] training the original " << a.model << " model (MMRec loop, early stopping) ..."
            << std::flush;
  training::TrainJob tj;
  tj.data_dir = data_dir;
  tj.model = a.model;
  tj.seed = seed;
  tj.out_dir = orig_dir;
  tj.quiet = !a.verbose;
  tj.progress = false;
  std::ostringstream train_log;
  const training::TrainOutcome to = training::run_train_job(tj, a.verbose ? std::cout : train_log);
  const training::TrainResult& tr = to.result;
  std::cout << " " << tr.epochs_run << " epochs (" << tr.stop_reason << "), best valid Recall@20 "
            << tr.best_valid_score << ", test Recall@20 " << eval::metric(tr.best_test, "Recall@20") << " ("
            << since(t0) << " s)\n";

  // 3. request
  unlearning::RequestSpec spec;
  spec.kind = unlearning::RequestKind::User;
  spec.fraction = a.fraction;
  spec.seed = seed;
  const unlearning::Request req = unlearning::generate_request(ds, spec);
  unlearning::write_request(req, req_file, "lethe demo: 5% of the users, chosen at random");
  const unlearning::Resolution res = unlearning::resolve(ds, req);
  std::cout << "[3/7] request: forget " << req.users.size() << " users (" << res.forget.size()
            << " train interactions) -> " << req_file << "\n";

  // 4./5. MMRecUn and gold
  auto unlearn_with = [&](unlearning::Method m, const std::string& dir) {
    unlearning::UnlearnJob job;
    job.run_dir = orig_dir;
    job.request_files = {req_file};
    job.out_dir = dir;
    job.options.method = m;
    job.options.seed = seed;
    job.options.quiet = !a.verbose;
    std::ostringstream sink;
    return unlearning::run_unlearn_job(job, a.verbose ? std::cout : sink).back();
  };
  std::cout
      << "[4/7] MMRecUn (reverse BPR on the forget set + forward BPR on the retain set, until forgotten) ..."
      << std::flush;
  const unlearning::UnlearnResult mu = unlearn_with(unlearning::Method::MMRecUn, a.out + "/mmrecun");
  std::cout << " " << mu.epochs_run << " epochs, stopped by " << mu.stop_reason << " (" << mu.seconds
            << " s)\n";
  std::cout << "[5/7] gold: retraining from scratch on the retain set ..." << std::flush;
  const unlearning::UnlearnResult gd = unlearn_with(unlearning::Method::Gold, a.out + "/gold");
  std::cout << " " << gd.epochs_run << " epochs (" << gd.stop_reason << ", " << gd.seconds << " s)\n";

  std::cout << "[6/7] finetune baseline: forward BPR on the retain set only, 5 epochs ..." << std::flush;
  const unlearning::UnlearnResult ft = unlearn_with(unlearning::Method::Finetune, a.out + "/finetune");
  std::cout << " " << ft.epochs_run << " epochs (" << ft.seconds << " s)\n";

  // 7. audit
  std::cout << "[7/7] auditing original, gold, MMRecUn and finetune ...\n\n";
  unlearning::AuditJob aj;
  aj.request_files = {req_file};
  aj.original_dir = orig_dir;
  aj.gold_dir = a.out + "/gold";
  aj.compare = {{"mmrecun", a.out + "/mmrecun"}, {"finetune", a.out + "/finetune"}};
  aj.out_dir = a.out + "/audit";
  const nlohmann::json rep = unlearning::run_audit_job(aj);
  std::cout << unlearning::format_report_table(rep) << "\nreport: " << aj.out_dir << "/report.md, "
            << aj.out_dir << "/report.json (total " << since(t_all) << " s)\n"
            << "Times are wall-clock on this machine (noisy when it is shared). On tiny data the retain set "
               "is two\n"
            << "training batches, so retraining is cheap; the speed-up grows with |D_r| / |D_f| "
               "(docs/unlearning.md).\n";
  return 0;
}

lethe::apps::Register reg(
    "demo", "Generate tiny data, train, forget 5% of the users with MMRecUn and gold, audit",
    [](CLI::App& sub) -> lethe::apps::Runner {
      auto a = std::make_shared<DemoArgs>();
      sub.add_option("--out", a->out, "output directory (must not exist or be empty)")
          ->default_val("lethe-demo");
      sub.add_option("--model", a->model, "backbone (lightgcn, freedom, ...)")->default_val("freedom");
      sub.add_option("--seed", a->seed, "seed of the data, training and request")->default_val(2024);
      sub.add_option("--fraction", a->fraction, "fraction of users to forget")->default_val(0.05);
      sub.add_flag("--verbose", a->verbose, "per-epoch log lines");
      return [a] { return run_demo(*a); };
    });

}  // namespace
