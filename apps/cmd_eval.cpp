// `lethe eval`: full-ranking evaluation of a run's checkpoint on valid or test, for trained and unlearned
// runs (models/unlearning/pipeline.h, run_eval_job). Read-only: prints the metrics and writes only the file
// given with --out, so it works on read-only run directories and never changes a run's metrics.json.
#include <iostream>
#include <memory>

#include "apps/command.h"
#include "models/eval/metrics.h"
#include "models/unlearning/pipeline.h"

namespace {

lethe::apps::Register reg(
    "eval", "Evaluate a trained or unlearned run on the valid or test split (full ranking; read-only)",
    [](CLI::App& sub) -> lethe::apps::Runner {
      auto job = std::make_shared<lethe::unlearning::EvalJob>();
      sub.add_option("--run", job->run_dir, "run directory written by `lethe train` or `lethe unlearn`")
          ->required();
      sub.add_option("--split", job->split, "valid or test")->check(CLI::IsMember({"valid", "test"}));
      sub.add_option("--data", job->data_dir, "data set directory (default: the run's)");
      sub.add_option("--device", job->device, "cpu, cuda or cuda:N");
      sub.add_option_function<bool>(
          "--keep-eval-repeats", [job](const bool& k) { job->keep_eval_repeats = k; },
          "true: repeated (user, item) rows kept in valid/test as MMRec does; false: dropped (default: as "
          "the run "
          "was trained)");
      sub.add_option("--out", job->out_file, "also write the metrics as JSON to this file");
      return [job] {
        const lethe::unlearning::EvalOutcome o = lethe::unlearning::run_eval_job(*job);
        std::cout << o.model << (o.unlearned ? " (unlearned)" : "") << " on " << job->split << " ("
                  << o.result.users << " users, " << o.result.seconds << " s)\n"
                  << lethe::eval::format_markdown(o.result.metrics, o.topks);
        if (!job->out_file.empty()) std::cout << "metrics written to " << job->out_file << "\n";
        return 0;
      };
    });

}  // namespace
