// `lethe audit`: compare an original run, its gold retrain and unlearned runs on one request
// (models/unlearning/audit.h) and write report.json + report.md. Every run's lineage is checked first: the
// gold and compared runs must come from --original and the --request files (models/unlearning/pipeline.h).
//   lethe audit --request FILE --original RUN_DIR --gold RUN_DIR [--compare NAME=RUN_DIR ...] --out DIR
#include <iostream>
#include <memory>

#include "apps/command.h"
#include "models/unlearning/pipeline.h"
#include "models/unlearning/report.h"

namespace {

lethe::apps::Register reg(
    "audit", "Audit unlearned runs against the original and gold (report.json / report.md)",
    [](CLI::App& sub) -> lethe::apps::Runner {
      auto job = std::make_shared<lethe::unlearning::AuditJob>();
      sub.add_option("--request", job->request_files, "request file(s) the runs were unlearned for, in order")
          ->required();
      sub.add_option("--original", job->original_dir, "run directory of the original model")->required();
      sub.add_option("--gold", job->gold_dir,
                     "run directory of the gold retrain (lethe unlearn --method gold)");
      sub.add_option(
          "--gold-original", job->gold_original_dir,
          "the original run the gold was retrained from, when it is not --original (a sharded original "
          "audited against the plain original's gold on the same data)");
      sub.add_option_function<std::vector<std::string>>(
          "--compare",
          [job](const std::vector<std::string>& v) {
            for (const auto& c : v) {
              const auto eq = c.find('=');
              if (eq == std::string::npos || eq == 0 || eq + 1 == c.size())
                throw CLI::ValidationError("--compare", "expects NAME=RUN_DIR, got '" + c + "'");
              job->compare.emplace_back(c.substr(0, eq), c.substr(eq + 1));
            }
          },
          "NAME=RUN_DIR of an unlearned run (repeatable)");
      sub.add_option("--data", job->data_dir, "data set directory (default: the original run's)");
      sub.add_option("--seed", job->options.seed, "seed of the audit's subsamples")->default_val(0);
      sub.add_option("--out", job->out_dir,
                     "directory for report.json and report.md (must not exist, see --force)")
          ->required();
      sub.add_flag("--force", job->replace, "replace an existing directory at --out");
      return [job] {
        const nlohmann::json rep = lethe::unlearning::run_audit_job(*job);
        std::cout << lethe::unlearning::format_report_table(rep) << "report written to " << job->out_dir
                  << "/report.json and report.md\n";
        return 0;
      };
    });

}  // namespace
