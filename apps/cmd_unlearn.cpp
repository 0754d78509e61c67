// `lethe unlearn`: make a trained (or already unlearned) run forget a request, writing a new run directory
// (models/unlearning/unlearn_run.h): checkpoint, config, log, timing and method info.
//   lethe unlearn --run RUN_DIR --request FILE --method mmrecun|gold|finetune|neggrad
//                 [--epochs N | --until-forgotten] [--max-epochs N] [--alpha A --beta B] --out DIR
// Several --request files (or --request-list LIST) are sequential requests: step k is written to
// OUT/step-NN and audited against the original model in OUT/step-NN/audit.
#include <iostream>

#include "apps/command.h"
#include "models/unlearning/requests.h"
#include "engine/profile.h"
#include "models/unlearning/pipeline.h"

namespace {

struct UnlearnArgs {
  std::string run, method = "mmrecun", out, data, device = "cpu", request_list;
  std::vector<std::string> requests;
  int64_t epochs = 0, max_epochs = 300, batch_size = 2048;
  double alpha = 1.0, beta = 1.0, lr = 1e-3, own_rows_lr_factor = lethe::unlearning::UnlearnOptions{}.own_rows_lr_factor;
  int64_t seed = -1;
  bool until_forgotten = false, quiet = false, no_step_audit = false, no_landing = false;
  bool profile = false;
  std::string trace;  // --trace FILE: Chrome trace of every op and phase
};

int run_unlearn(const UnlearnArgs& a) {
  using namespace lethe;
  unlearning::UnlearnJob job;
  job.run_dir = a.run;
  job.request_files = a.requests;
  if (!a.request_list.empty())
    for (const auto& p : unlearning::read_request_list(a.request_list)) job.request_files.push_back(p);
  job.out_dir = a.out;
  job.data_dir = a.data;
  job.device = a.device;
  unlearning::UnlearnOptions& o = job.options;
  o.method = unlearning::parse_method(a.method);
  o.epochs = a.epochs;
  o.until_forgotten = a.until_forgotten;
  o.max_epochs = a.max_epochs;
  o.landing = !a.no_landing;
  o.alpha = a.alpha;
  o.beta = a.beta;
  o.lr = a.lr;
  o.own_rows_lr_factor = a.own_rows_lr_factor;
  o.batch_size = a.batch_size;
  o.quiet = a.quiet;
  o.seed = a.seed >= 0 ? static_cast<uint64_t>(a.seed) : 999;
  job.audit_steps = job.request_files.size() > 1 && !a.no_step_audit;
  if (!a.quiet)
    std::cout << "lethe unlearn: " << a.method << " on " << a.run << ", " << job.request_files.size()
              << " request(s)\n";
  if (a.profile) prof::enable(true);
  if (!a.trace.empty()) prof::start_trace();
  unlearning::run_unlearn_job(job, std::cout);
  if (a.profile) {
    prof::enable(false);
    prof::report(std::cout);
  }
  if (!a.trace.empty()) prof::write_trace(a.trace);
  return 0;
}

lethe::apps::Register reg("unlearn", "Make a trained run forget an unlearning request (writes a new run directory)",
                         [](CLI::App& sub) -> lethe::apps::Runner {
                           auto a = std::make_shared<UnlearnArgs>();
                           sub.add_option("--run", a->run, "run directory of the model to unlearn from")->required();
                           sub.add_option("--request", a->requests,
                                          "request file (repeat for sequential requests)");
                           sub.add_option("--request-list", a->request_list,
                                          "file listing request files, applied one after another");
                           sub.add_option("--method", a->method, "mmrecun | gold | finetune | neggrad")
                               ->default_val("mmrecun");
                           auto* ep = sub.add_option("--epochs", a->epochs, "fixed number of unlearning epochs");
                           auto* uf = sub.add_flag("--until-forgotten", a->until_forgotten,
                                                   "stop once forget Recall@20 <= the never-seen reference level (docs/unlearning.md)");
                           ep->excludes(uf);
                           sub.add_option("--max-epochs", a->max_epochs, "cap on epochs for --until-forgotten")
                               ->default_val(300);
                           sub.add_flag("--no-landing", a->no_landing,
                                        "until-forgotten: stop at the end of the crossing epoch (no cut back to the reference)");
                           sub.add_option("--alpha", a->alpha, "weight of the reverse (forget) term")->default_val(1.0);
                           sub.add_option("--beta", a->beta, "weight of the forward (retain) term")->default_val(1.0);
                           sub.add_option("--lr", a->lr, "learning rate of the fresh Adam")->default_val(1e-3);
                           sub.add_option("--own-rows-lr-factor", a->own_rows_lr_factor,
                                          "mmrecun: lr factor for the rows of users left with no data (docs/unlearning.md)")
                               ->default_val(a->own_rows_lr_factor);
                           sub.add_option("--batch-size", a->batch_size, "forget and retain batch size")
                               ->default_val(2048);
                           sub.add_option("--seed", a->seed, "sampling seed (default 999)");
                           sub.add_option("--data", a->data, "data set directory (default: the run's)");
                           sub.add_option("--device", a->device, "cpu, cuda or cuda:N")->default_val("cpu");
                           sub.add_option("--out", a->out, "run directory to write")->required();
                           sub.add_flag("--no-step-audit", a->no_step_audit,
                                        "sequential requests: do not audit each step");
                           sub.add_flag("--quiet", a->quiet, "no progress lines");
                           sub.add_flag("--profile", a->profile,
                                        "time every op and training phase; print the table at the end");
                           sub.add_option("--trace", a->trace,
                                          "write a Chrome trace of every op and phase (opens in Perfetto) to this file");
                           return [a] { return run_unlearn(*a); };
                         });

}  // namespace
