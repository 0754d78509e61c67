// The pipelines behind `lethe unlearn`, `lethe audit`, `lethe eval` and `lethe demo`, as library functions
// so that the commands, the demo and the tests run the same code (the train pipeline is
// models/training/pipeline.h). Every input is validated (run directories, request files against the data,
// options, lineage) before anything is written; outputs are directories written whole or not at all
// (engine/formats/staged_dir.h: locked while written, an existing one refused unless `replace`, writable
// before the work starts); a failure throws lethe::Error and leaves the output untouched.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "models/unlearning/audit.h"
#include "models/unlearning/unlearning.h"

namespace lethe::unlearning {

struct UnlearnJob {
  std::string run_dir;                     // a trained run, or an unlearned one (its requests come first)
  std::vector<std::string> request_files;  // applied in order after the run's own requests
  std::string out_dir;                     // with several requests: OUT/step-NN per step
  bool replace = false;                    // an existing out_dir is replaced whole
  std::string data_dir;                    // default: the run's data directory
  std::string device = "cpu";
  UnlearnOptions options;
  bool audit_steps = false;  // sequential: audit each step against the original (OUT/step-NN/audit)
};
// Runs the method; returns one result per request step (the last one is the final model in out_dir).
std::vector<UnlearnResult> run_unlearn_job(const UnlearnJob& job, std::ostream& log);

struct AuditJob {
  std::vector<std::string> request_files;  // the requests, in order (as given to `lethe unlearn`)
  std::string original_dir;
  std::string gold_dir;  // optional
  // The original run the gold was retrained from, when it is not original_dir: a sharded original (sisa)
  // audited against the gold of the plain original trained on the same data. Default: original_dir.
  std::string gold_original_dir;
  std::vector<std::pair<std::string, std::string>> compare;  // name -> unlearned run directory
  std::string data_dir;                                      // default: the original run's data directory
  std::string out_dir;   // report.json / report.md; empty: nothing written
  bool replace = false;  // an existing out_dir is replaced whole
  AuditOptions options;
};
// Every run's lineage is checked first (unlearn_run.h, check_lineage): the gold and compared runs must have
// been unlearned from original_dir for exactly request_files.
nlohmann::json run_audit_job(const AuditJob& job);

// Evaluation of a run directory, trained or unlearned (an unlearned run is evaluated on the data after its
// requests, with its retained train items masked, as its own metrics.json was computed). Read-only: the
// run directory is never written (it may be read-only), and the metrics go to out_file only when it is set.
struct EvalJob {
  std::string run_dir;
  std::string split = "test";  // "valid" or "test"
  std::string data_dir;        // default: the run's data directory
  std::string device = "cpu";
  std::optional<bool> keep_eval_repeats;  // default: as the run was trained (datasets::ReadOptions)
  std::string out_file;                   // when set: the metrics as JSON (metrics.json's shape), atomically
};
struct EvalOutcome {
  std::string model;
  bool unlearned = false;
  eval::EvalResult result;
  std::vector<int> topks;
};
EvalOutcome run_eval_job(const EvalJob& job);

// Default stopping per method when the caller gives neither --epochs nor --until-forgotten.
void apply_default_stopping(UnlearnOptions& opt, bool has_forget_set);

}  // namespace lethe::unlearning
