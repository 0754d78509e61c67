// Run directories of unlearned models. An unlearned run is an ordinary run directory (run_dir.h: config.yaml,
// run.json, model.safetensors, embeddings.safetensors, metrics.json/.md) whose training data is the retain
// set D_r, plus
//   requests/NN-<name>     copies of every request applied since the original training run, in order
//   unlearn_log.jsonl      one JSON line per unlearning epoch
// and run.json's summary.unlearning: method, options, stop rule, time, epochs, the requests, and the
// lineage: the original run (original_run: its path; original_run_id: its run.json run_id) and the
// fingerprint of every request (request_fingerprints). run.json's fingerprint is data_fingerprint(D_r), so a
// checkpoint is only ever loaded against the request it was made for. A run that already embodies requests
// can be unlearned further (sequential requests). Runs written before the lineage fields existed are read
// with their lineage taken from what they record (original_run, the request copies).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/training/run_dir.h"
#include "models/unlearning/audit.h"
#include "models/unlearning/unlearning.h"

namespace lethe::unlearning {

// Absolute paths of the request files a run embodies (empty for a run written by `lethe train`).
std::vector<std::string> run_request_files(const std::string& run_dir);

struct ModelRun {
  std::string dir;
  training::RunInfo info;
  std::unique_ptr<models::Model> model;
  nlohmann::json unlearning;  // summary.unlearning, or null for a trained run
  double time_s = -1.0;       // the method's wall time (trained runs: training + evaluation time)
  int64_t epochs = -1;
  std::string stop_reason;
  std::string stopped_on;  // what decided an until-forgotten stop (ForgetCheck::decided_by), else ""
};

// Loads a run's model for the training data `data` (D for an original run, D_r for an unlearned one). Fails
// with a message naming the run (`what` says which: "original", "gold", ...; "" for plain "run") when
// run.json's fingerprint is not the data's (a run made for another data set or another request) or the
// checkpoint does not fit the model.
ModelRun load_model_run(const std::string& dir, const models::TrainData& data, const std::string& what,
                        std::optional<Device> dev = std::nullopt);

// FNV-1a 64 (hex) of a request's content: kind, drop flag and rows in order (comments and layout do not
// count). Two request files with this fingerprint ask for the same thing.
std::string request_fingerprint(const Request& r);

// Where an unlearned run comes from.
struct Lineage {
  std::string original_run;     // absolute path of the original run directory, as recorded
  std::string original_run_id;  // the original's run_id ("" for runs written before run ids existed)
  std::vector<std::string> request_fingerprints;  // every request since the original, in order
};
// The lineage of an unlearned run directory (fails for a run that is not unlearned).
Lineage run_lineage(const std::string& dir);
// Fails, naming the run and what differs, unless the unlearned run at `dir` was made from the original run
// at `original_dir` for exactly the requests in `request_files` (same order). `what`: "gold run", ...
void check_lineage(const std::string& what, const std::string& dir, const std::string& original_dir,
                   const std::vector<std::string>& request_files);

// Writes an unlearned run directory into `dir` (every file atomically; the caller stages `dir`, see
// pipeline.h). `request_files`: all requests since the original training run, in order (copied into
// DIR/requests/); `original_dir` / `original_run_id`: that original run.
void write_unlearned_run(const std::string& dir, const training::RunInfo& original,
                         const std::string& original_dir, const std::string& original_run_id,
                         const std::vector<std::string>& request_files, const RequestView& view,
                         models::Model& model, const UnlearnResult& result, const UnlearnOptions& opt);

// The model of an unlearned run as the audit sees it (embeddings, parameters, time, epochs).
AuditModel audit_model_of(const std::string& name, ModelRun& run);

}  // namespace lethe::unlearning
