// `lethe audit`: compare an original run, its gold retrain and unlearned runs on one request
// (models/unlearning/audit.h) and write report.json + report.md.
//   lethe audit --request FILE --original RUN_DIR --gold RUN_DIR [--compare NAME=RUN_DIR ...] --out DIR
#include <iostream>

#include "apps/command.h"
#include "engine/error.h"
#include "models/unlearning/pipeline.h"
#include "models/unlearning/report.h"

namespace {

struct AuditArgs {
  std::vector<std::string> requests, compare;
  std::string original, gold, data, out;
  int64_t seed = 0;
};

int run_audit_cmd(const AuditArgs& a) {
  using namespace lethe;
  unlearning::AuditJob job;
  job.request_files = a.requests;
  job.original_dir = a.original;
  job.gold_dir = a.gold;
  job.data_dir = a.data;
  job.out_dir = a.out;
  job.options.seed = static_cast<uint64_t>(a.seed);
  for (const auto& c : a.compare) {
    const auto eq = c.find('=');
    LETHE_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < c.size(),
                "--compare expects NAME=RUN_DIR, got '" << c << "'");
    job.compare.emplace_back(c.substr(0, eq), c.substr(eq + 1));
  }
  const nlohmann::json rep = unlearning::run_audit_job(job);
  std::cout << unlearning::format_report_table(rep) << "report written to " << a.out << "/report.json and report.md\n";
  return 0;
}

lethe::apps::Register reg("audit", "Audit unlearned runs against the original and gold (report.json / report.md)",
                         [](CLI::App& sub) -> lethe::apps::Runner {
                           auto a = std::make_shared<AuditArgs>();
                           sub.add_option("--request", a->requests,
                                          "request file(s) the runs were unlearned for, in order")
                               ->required();
                           sub.add_option("--original", a->original, "run directory of the original model")->required();
                           sub.add_option("--gold", a->gold, "run directory of the gold retrain (lethe unlearn --method gold)");
                           sub.add_option("--compare", a->compare, "NAME=RUN_DIR of an unlearned run (repeatable)");
                           sub.add_option("--data", a->data, "data set directory (default: the original run's)");
                           sub.add_option("--seed", a->seed, "seed of the audit's subsamples")->default_val(0);
                           sub.add_option("--out", a->out, "directory for report.json and report.md")->required();
                           return [a] { return run_audit_cmd(*a); };
                         });

}  // namespace
