// The unlearning pipelines behind `lethe unlearn`, `lethe audit` and `lethe demo`, as library functions so
// that the commands, the demo and the tests run the same code. Every input is validated (run directories,
// request files against the data, options) before anything is written; a failure throws lethe::Error and
// leaves the output directory untouched.
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
  std::string data_dir;                    // default: the run's data directory
  std::string device = "cpu";
  UnlearnOptions options;
  bool audit_steps = false;                // sequential: audit each step against the original (OUT/step-NN/audit)
};
// Runs the method; returns one result per request step (the last one is the final model in out_dir).
std::vector<UnlearnResult> run_unlearn_job(const UnlearnJob& job, std::ostream& log);

struct AuditJob {
  std::vector<std::string> request_files;  // the requests, in order (as given to `lethe unlearn`)
  std::string original_dir;
  std::string gold_dir;                    // optional
  std::vector<std::pair<std::string, std::string>> compare;  // name -> unlearned run directory
  std::string data_dir;                    // default: the original run's data directory
  std::string out_dir;                     // report.json / report.md; empty: nothing written
  AuditOptions options;
};
nlohmann::json run_audit_job(const AuditJob& job);

// Default stopping per method when the caller gives neither --epochs nor --until-forgotten.
void apply_default_stopping(UnlearnOptions& opt, bool has_forget_set);

}  // namespace lethe::unlearning
