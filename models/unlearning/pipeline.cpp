// Unlearn / audit pipelines over run directories (pipeline.h).
#include "models/unlearning/pipeline.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>

#include "autograd/var.h"
#include "datasets/mmrec_io.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/formats/atomic_file.h"
#include "engine/formats/staged_dir.h"
#include "models/training/pipeline.h"
#include "models/training/run_dir.h"
#include "models/training/trainer.h"
#include "models/unlearning/report.h"
#include "models/unlearning/unlearn_run.h"

namespace fs = std::filesystem;

namespace lethe::unlearning {

namespace {

using json = nlohmann::json;

std::string abs_path(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }

std::vector<unlearning::Request> read_requests(const std::vector<std::string>& files) {
  std::vector<unlearning::Request> out;
  for (const auto& f : files) out.push_back(unlearning::read_request(f));
  return out;
}

std::vector<unlearning::Request> prefix(const std::vector<unlearning::Request>& v, size_t n) {
  return std::vector<unlearning::Request>(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace

void apply_default_stopping(UnlearnOptions& opt, bool has_forget_set) {
  if (opt.epochs > 0 || opt.until_forgotten || opt.method == Method::Gold || opt.method == Method::Sisa ||
      opt.method == Method::Influence)
    return;
  switch (opt.method) {
    case Method::MMRecUn:
      if (has_forget_set) {
        opt.until_forgotten = true;  // stop once the forget set looks like held-out data
      } else {
        opt.epochs = 5;  // modality requests: the forward term on D_r with the erased features
      }
      break;
    case Method::Finetune:
      opt.epochs = 5;
      break;
    case Method::NegGrad:
      opt.epochs = 1;
      break;
    case Method::Gold:
      break;
    case Method::Sisa:
      break;
    case Method::Influence:
      break;
  }
}

std::vector<UnlearnResult> run_unlearn_job(const UnlearnJob& job, std::ostream& log) {
  LETHE_CHECK(!job.run_dir.empty(), "unlearn job: no run directory given");
  LETHE_CHECK(!job.request_files.empty(), "unlearn job: no request file given");
  LETHE_CHECK(!job.out_dir.empty(), "unlearn job: no output directory given");
  const training::RunInfo info = training::read_run_info(job.run_dir);
  const std::vector<std::string> prior = run_request_files(job.run_dir);
  const bool start_unlearned = info.summary.contains("unlearning");
  const std::string original_dir =
      start_unlearned ? info.summary["unlearning"].value("original_run", job.run_dir) : job.run_dir;
  const std::string original_run_id =
      start_unlearned ? info.summary["unlearning"].value("original_run_id", "") : info.run_id;
  const std::string data_dir = job.data_dir.empty() ? info.data_dir : job.data_dir;
  LETHE_CHECK(fs::is_directory(data_dir),
              job.run_dir << "/run.json: data directory '" << data_dir
                          << "' not found (moved? give the data set's directory explicitly)");
  {
    models::Config c = models::default_config(info.model);
    c.merge(info.config);
    const int64_t shards = c.get_int("shards");
    LETHE_CHECK(job.options.method != Method::Sisa || shards > 1,
                "unlearn job: "
                    << job.run_dir << " is not sharded, and sisa retrains the shards a request touches; "
                    << "train a sharded original first (config key shards > 1, e.g. 4) and unlearn that run");
    LETHE_CHECK(shards == 1 || job.options.method == Method::Sisa || job.options.method == Method::Gold,
                "unlearn job: " << job.run_dir << " is sharded (" << shards
                                << " shards); unlearn it with method sisa "
                                << "(or gold), or give " << method_name(job.options.method)
                                << " a run trained with shards = 1");
  }
  const Device dev = parse_device(job.device);
  LETHE_CHECK(!dev.is_cuda() || cuda_available(),
              "unlearn job: device " << job.device << ": no usable CUDA device in this build");
  const datasets::Dataset ds = datasets::load_mmrec(data_dir);

  // Validate everything before any work: every request against the data after the previous ones, the
  // options for every step, and the output (locked, not an existing directory, writable).
  std::vector<std::string> files = prior;
  for (const auto& f : job.request_files) files.push_back(abs_path(f));
  const std::vector<unlearning::Request> reqs = read_requests(files);
  const size_t n_steps = job.request_files.size();
  std::vector<RequestView> views;
  for (size_t s = 0; s < n_steps; ++s) {
    views.push_back(apply_requests(ds, prefix(reqs, prior.size() + s + 1)));
    UnlearnOptions o = job.options;
    apply_default_stopping(o, !views.back().step_forget.empty());
    check_options(o, views.back());
  }
  formats::StageOptions so;
  so.replace = job.replace;
  // A data-parallel job (docs/scaling.md, "Data-parallel steps"): every rank unlearns, rank 0 writes.
  const bool writer = !job.options.comm || job.options.comm->rank() == 0;
  std::optional<formats::StagedDir> out;
  if (writer) {
    out.emplace(job.out_dir, so);
    for (const auto& r : out->removed()) log << "removed " << r << ", left by an interrupted job\n";
  }
  auto step_dir = [&](size_t s) {
    if (n_steps == 1) return out->path();
    char b[32];
    std::snprintf(b, sizeof b, "/step-%02zu", s + 1);
    return out->path() + b;
  };
  auto step_name = [&](size_t s) {
    if (n_steps == 1) return job.out_dir;
    char b[32];
    std::snprintf(b, sizeof b, "/step-%02zu", s + 1);
    return job.out_dir + b;
  };
  training::check_memory(
      ds,
      [&] {
        models::Config c = models::default_config(info.model);
        c.merge(info.config);
        return c;
      }(),
      "unlearning " + info.model);
  const models::TrainData start_data =
      prior.empty() ? models::make_train_data(ds) : apply_requests(ds, prefix(reqs, prior.size())).retain;
  ModelRun start = load_model_run(job.run_dir, start_data, "", dev);
  std::unique_ptr<models::Model> model = std::move(start.model);
  std::optional<ModelRun> original;
  if (job.audit_steps) original = load_model_run(original_dir, models::make_train_data(ds), "original", dev);

  std::vector<UnlearnResult> results;
  for (size_t s = 0; s < n_steps; ++s) {
    UnlearnOptions o = job.options;
    apply_default_stopping(o, !views[s].step_forget.empty());
    if (!writer) o.quiet = true;
    if (n_steps > 1) log << "step " << s + 1 << "/" << n_steps << ": " << job.request_files[s] << "\n";
    UnlearnResult r = run_method(model, info.model, info.config, views[s], o);
    const std::vector<std::string> step_files(
        files.begin(), files.begin() + static_cast<std::ptrdiff_t>(prior.size() + s + 1));
    if (writer)
      write_unlearned_run(step_dir(s), info, original_dir, original_run_id, step_files, views[s], *model, r,
                          o);
    log << method_name(o.method) << ": " << r.epochs_run << " epochs, " << r.steps << " steps, " << r.seconds
        << " s, stopped by " << r.stop_reason
        << (r.extra.contains("stopped_on") ? " (" + r.extra["stopped_on"].get<std::string>() + ")" : "")
        << "; run written to " << step_name(s) << "\n";
    if (job.audit_steps) {
      std::vector<AuditModel> ms{audit_model_of("original", *original),
                                 audit_model(method_name(o.method), *model)};
      ms[1].time_s = r.seconds;
      ms[1].epochs = r.epochs_run;
      ms[1].stop_reason = r.stop_reason;
      ms[1].stopped_on = r.extra.value("stopped_on", "");
      const json rep = run_audit(views[s], ms);
      if (writer) write_report(step_dir(s) + "/audit", rep);
      log << format_report_table(rep);
    }
    results.push_back(std::move(r));
  }
  if (writer) out->commit();
  return results;
}

json run_audit_job(const AuditJob& job) {
  LETHE_CHECK(!job.request_files.empty(), "audit job: no request file given");
  LETHE_CHECK(!job.original_dir.empty(), "audit job: no original run given");
  const training::RunInfo info = training::read_run_info(job.original_dir);
  LETHE_CHECK(!info.summary.contains("unlearning"),
              "audit job: the original run "
                  << job.original_dir << " is an unlearned run; give the run its unlearning started from");
  const std::string data_dir = job.data_dir.empty() ? info.data_dir : job.data_dir;
  LETHE_CHECK(fs::is_directory(data_dir),
              job.original_dir << "/run.json: data directory '" << data_dir
                               << "' not found (moved? give the data set's directory explicitly)");
  std::vector<std::string> files;
  for (const auto& f : job.request_files) files.push_back(abs_path(f));

  std::set<std::string> names{"original"};
  std::vector<std::pair<std::string, std::string>> runs;
  if (!job.gold_dir.empty()) {
    runs.emplace_back("gold", job.gold_dir);
    names.insert("gold");
  }
  for (const auto& [n, d] : job.compare) {
    LETHE_CHECK(!n.empty() && !d.empty(), "audit job: a compared run needs a name and a run directory");
    LETHE_CHECK(names.insert(n).second,
                "audit job: model name '" << n << "' used twice (original and gold are reserved)");
    runs.emplace_back(n, d);
  }
  auto what_of = [](const std::string& n) {
    return n == "gold" ? std::string("gold") : "compared '" + n + "'";
  };
  // Lineage before anything heavy: every run was made from this original for these requests.
  for (const auto& [n, d] : runs) {
    const training::RunInfo ri = training::read_run_info(d);
    LETHE_CHECK(ri.summary.contains("unlearning"),
                what_of(n) << " run " << d << " is not an unlearned run (no summary.unlearning in run.json)");
    const bool other_original = n == "gold" && !job.gold_original_dir.empty();
    check_lineage(what_of(n) + " run", d, other_original ? job.gold_original_dir : job.original_dir, files);
  }
  if (!job.gold_original_dir.empty()) {
    LETHE_CHECK(!job.gold_dir.empty(), "audit job: the gold's original run is given, but no gold run");
    const training::RunInfo gi = training::read_run_info(job.gold_original_dir);
    LETHE_CHECK(gi.fingerprint == info.fingerprint && gi.model == info.model,
                "audit job: the gold's original run "
                    << job.gold_original_dir << " (" << gi.model << ", data " << gi.fingerprint
                    << ") was not trained on the original's data with "
                    << "its backbone (" << info.model << ", data " << info.fingerprint << ")");
  }
  std::optional<formats::StagedDir> out;
  if (!job.out_dir.empty()) {
    formats::StageOptions so;
    so.replace = job.replace;
    out.emplace(job.out_dir, so);
  }
  const datasets::Dataset ds = datasets::load_mmrec(data_dir);
  const RequestView view = apply_requests(ds, read_requests(files));
  ModelRun orig = load_model_run(job.original_dir, models::make_train_data(ds), "original");
  std::vector<ModelRun> loaded;
  for (const auto& [n, d] : runs) {
    const std::string what = what_of(n);
    ModelRun r = load_model_run(d, view.retain, what);
    LETHE_CHECK(r.info.model == orig.info.model, what << " run " << d << " is a " << r.info.model
                                                      << " model, the original a " << orig.info.model);
    if (n == "gold")
      LETHE_CHECK(r.unlearning.value("method", "") == "gold", "gold run " << d << " was made by method '"
                                                                          << r.unlearning.value("method", "")
                                                                          << "', not gold");
    loaded.push_back(std::move(r));
  }
  std::vector<AuditModel> ms{audit_model_of("original", orig)};
  for (size_t k = 0; k < runs.size(); ++k) ms.push_back(audit_model_of(runs[k].first, loaded[k]));
  json rep = run_audit(view, ms, job.options);
  json rd = json::object();
  rd["original"] = abs_path(job.original_dir);
  for (const auto& [n, d] : runs) rd[n] = abs_path(d);
  if (!job.gold_original_dir.empty()) rd["gold_original"] = abs_path(job.gold_original_dir);
  rep["runs"] = rd;
  if (out) {
    write_report(out->path(), rep);
    out->commit();
  }
  return rep;
}

EvalOutcome run_eval_job(const EvalJob& job) {
  LETHE_CHECK(!job.run_dir.empty(), "eval job: no run directory given");
  LETHE_CHECK(job.split == "valid" || job.split == "test",
              "eval job: split must be valid or test, got '" << job.split << "'");
  if (!job.out_file.empty()) formats::check_writable(job.out_file);
  const training::RunInfo info = training::read_run_info(job.run_dir);
  const std::string data_dir = job.data_dir.empty() ? info.data_dir : job.data_dir;
  LETHE_CHECK(fs::is_directory(data_dir),
              job.run_dir << "/run.json: data directory '" << data_dir
                          << "' not found (moved? give the data set's directory explicitly)");
  const Device dev = parse_device(job.device);
  LETHE_CHECK(!dev.is_cuda() || cuda_available(),
              "eval job: device " << job.device << ": no usable CUDA device in this build");
  datasets::ReadOptions ro;
  ro.keep_eval_repeats = job.keep_eval_repeats.value_or(info.keep_eval_repeats);
  const datasets::Dataset ds = datasets::load_mmrec(data_dir, ro);
  models::Config cfg = models::default_config(info.model);
  cfg.merge(info.config);
  training::check_memory(ds, cfg, "evaluating " + job.run_dir);
  const training::TrainOptions topt = training::TrainOptions::from_config(cfg);

  EvalOutcome o;
  o.model = info.model;
  o.topks = topt.topks;
  o.unlearned = info.summary.contains("unlearning");
  // An unlearned run is the model of the data after its requests: evaluate it there.
  std::optional<RequestView> view;
  if (o.unlearned) view = apply_requests(ds, read_requests(run_request_files(job.run_dir)));
  const models::TrainData td = o.unlearned ? view->retain : models::make_train_data(ds);
  const datasets::Dataset& splits = o.unlearned ? view->current : ds;
  ModelRun r = load_model_run(job.run_dir, td, "", dev);
  eval::Evaluator ev(datasets::UserItems::build(td.train, td.n_users), td.n_items, td.item_dropped, dev,
                     eval::EvalOptions{topt.eval_batch_size, topt.topks});
  Tensor u, it;
  {
    autograd::NoGrad ng;
    models::Forward f = r.model->forward(false);
    u = f.users.value();
    it = f.items.value();
  }
  o.result = ev.evaluate(u, it, job.split == "valid" ? splits.valid : splits.test);
  if (!job.out_file.empty()) {
    json j;
    j["model"] = info.model;
    j["run"] = abs_path(job.run_dir);
    j["users"] = o.result.users;
    j["eval_seconds"] = o.result.seconds;
    j["split"] = job.split;
    json mj = json::object();
    for (const auto& [k, v] : o.result.metrics) mj[k] = v;
    j["metrics"] = mj;
    formats::write_file_atomic(job.out_file, j.dump(2) + "\n");
  }
  return o;
}

}  // namespace lethe::unlearning
