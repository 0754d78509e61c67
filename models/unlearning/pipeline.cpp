// Unlearn / audit pipelines over run directories (pipeline.h).
#include "models/unlearning/pipeline.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "datasets/mmrec_io.h"
#include "engine/device.h"
#include "engine/error.h"
#include "models/training/run_dir.h"
#include "models/unlearning/report.h"
#include "models/unlearning/unlearn_run.h"

namespace fs = std::filesystem;

namespace lethe::unlearning {

namespace {

using json = nlohmann::json;

std::string abs_path(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }

void check_output_free(const std::string& dir) {
  LETHE_CHECK(!fs::exists(dir + "/run.json"), dir << " already holds a run directory; choose another --out");
}

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
  if (opt.epochs > 0 || opt.until_forgotten || opt.method == Method::Gold) return;
  switch (opt.method) {
    case Method::MMRecUn:
      if (has_forget_set) {
        opt.until_forgotten = true;  // stop once the forget set looks like held-out data
      } else {
        opt.epochs = 5;  // modality requests: the forward term on D_r with the erased features
      }
      break;
    case Method::Finetune: opt.epochs = 5; break;
    case Method::NegGrad: opt.epochs = 1; break;
    case Method::Gold: break;
  }
}

std::vector<UnlearnResult> run_unlearn_job(const UnlearnJob& job, std::ostream& log) {
  LETHE_CHECK(!job.run_dir.empty(), "unlearn: --run RUN_DIR is required");
  LETHE_CHECK(!job.request_files.empty(), "unlearn: at least one --request FILE is required");
  LETHE_CHECK(!job.out_dir.empty(), "unlearn: --out DIR is required");
  const training::RunInfo info = training::read_run_info(job.run_dir);
  const std::vector<std::string> prior = run_request_files(job.run_dir);
  const std::string original_dir =
      info.summary.contains("unlearning") ? info.summary["unlearning"].value("original_run", job.run_dir) : job.run_dir;
  const std::string data_dir = job.data_dir.empty() ? info.data_dir : job.data_dir;
  LETHE_CHECK(fs::is_directory(data_dir), job.run_dir << "/run.json: data directory '" << data_dir
                                                      << "' not found (pass --data DIR)");
  const datasets::Dataset ds = datasets::load_mmrec(data_dir);

  // Validate everything before writing anything: every request against the data after the previous ones,
  // the options for every step, the output directories, and the starting checkpoint.
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
  auto step_dir = [&](size_t s) {
    if (n_steps == 1) return job.out_dir;
    char b[32];
    std::snprintf(b, sizeof b, "/step-%02zu", s + 1);
    return job.out_dir + b;
  };
  for (size_t s = 0; s < n_steps; ++s) check_output_free(step_dir(s));
  const Device dev = parse_device(job.device);
  LETHE_CHECK(!dev.is_cuda() || cuda_available(), "--device " << job.device << ": no usable CUDA device in this build");
  const models::TrainData start_data =
      prior.empty() ? models::make_train_data(ds) : apply_requests(ds, prefix(reqs, prior.size())).retain;
  ModelRun start = load_model_run(job.run_dir, start_data, "--run", dev);
  std::unique_ptr<models::Model> model = std::move(start.model);
  std::optional<ModelRun> original;
  if (job.audit_steps) original = load_model_run(original_dir, models::make_train_data(ds), "original", dev);

  std::vector<UnlearnResult> results;
  for (size_t s = 0; s < n_steps; ++s) {
    UnlearnOptions o = job.options;
    apply_default_stopping(o, !views[s].step_forget.empty());
    if (n_steps > 1) log << "step " << s + 1 << "/" << n_steps << ": " << job.request_files[s] << "\n";
    UnlearnResult r = run_method(model, info.model, info.config, views[s], o);
    const std::vector<std::string> step_files(files.begin(), files.begin() + static_cast<std::ptrdiff_t>(prior.size() + s + 1));
    write_unlearned_run(step_dir(s), info, original_dir, step_files, views[s], *model, r, o);
    log << method_name(o.method) << ": " << r.epochs_run << " epochs, " << r.steps << " steps, " << r.seconds
        << " s, stopped by " << r.stop_reason << "; run written to " << step_dir(s) << "\n";
    if (job.audit_steps) {
      std::vector<AuditModel> ms{audit_model_of("original", *original), audit_model(method_name(o.method), *model)};
      ms[1].time_s = r.seconds;
      ms[1].epochs = r.epochs_run;
      ms[1].stop_reason = r.stop_reason;
      const json rep = run_audit(views[s], ms);
      write_report(step_dir(s) + "/audit", rep);
      log << format_report_table(rep);
    }
    results.push_back(std::move(r));
  }
  return results;
}

json run_audit_job(const AuditJob& job) {
  LETHE_CHECK(!job.request_files.empty(), "audit: --request FILE is required");
  LETHE_CHECK(!job.original_dir.empty(), "audit: --original RUN_DIR is required");
  const training::RunInfo info = training::read_run_info(job.original_dir);
  LETHE_CHECK(!info.summary.contains("unlearning"),
              "audit: --original " << job.original_dir << " is an unlearned run; give the run written by `lethe train`");
  const std::string data_dir = job.data_dir.empty() ? info.data_dir : job.data_dir;
  LETHE_CHECK(fs::is_directory(data_dir), job.original_dir << "/run.json: data directory '" << data_dir
                                                           << "' not found (pass --data DIR)");
  const datasets::Dataset ds = datasets::load_mmrec(data_dir);
  std::vector<std::string> files;
  for (const auto& f : job.request_files) files.push_back(abs_path(f));
  const RequestView view = apply_requests(ds, read_requests(files));

  std::set<std::string> names{"original"};
  std::vector<std::pair<std::string, std::string>> runs;
  if (!job.gold_dir.empty()) {
    runs.emplace_back("gold", job.gold_dir);
    names.insert("gold");
  }
  for (const auto& [n, d] : job.compare) {
    LETHE_CHECK(!n.empty() && !d.empty(), "audit: --compare expects NAME=RUN_DIR");
    LETHE_CHECK(names.insert(n).second, "audit: model name '" << n << "' used twice (original and gold are reserved)");
    runs.emplace_back(n, d);
  }
  ModelRun orig = load_model_run(job.original_dir, models::make_train_data(ds), "--original");
  std::vector<ModelRun> loaded;
  for (const auto& [n, d] : runs) {
    const std::string what = n == "gold" ? "--gold" : "--compare " + n;
    ModelRun r = load_model_run(d, view.retain, what);
    LETHE_CHECK(r.info.model == orig.info.model, what << " run " << d << " is a " << r.info.model << " model, the original a "
                                                      << orig.info.model);
    LETHE_CHECK(!r.unlearning.is_null(), what << " run " << d << " is not an unlearned run (no summary.unlearning in run.json)");
    if (n == "gold")
      LETHE_CHECK(r.unlearning.value("method", "") == "gold",
                  "--gold run " << d << " was made by method '" << r.unlearning.value("method", "") << "', not gold");
    loaded.push_back(std::move(r));
  }
  std::vector<AuditModel> ms{audit_model_of("original", orig)};
  for (size_t k = 0; k < runs.size(); ++k) ms.push_back(audit_model_of(runs[k].first, loaded[k]));
  json rep = run_audit(view, ms, job.options);
  json rd = json::object();
  rd["original"] = abs_path(job.original_dir);
  for (const auto& [n, d] : runs) rd[n] = abs_path(d);
  rep["runs"] = rd;
  if (!job.out_dir.empty()) write_report(job.out_dir, rep);
  return rep;
}

}  // namespace lethe::unlearning
