// `lethe unlearn`: make a trained (or already unlearned) run forget a request, writing a new run directory
// (models/unlearning/unlearn_run.h): checkpoint, config, log, timing and method info. The work is the
// library's unlearn pipeline (models/unlearning/pipeline.h); this file binds the options into its
// UnlearnJob and owns every flag's spelling.
//   lethe unlearn --run RUN_DIR --request FILE --method mmrecun|gold|finetune|neggrad|sisa|influence
//                 [--epochs N | --until-forgotten] [--max-epochs N] [--alpha A --beta B] --out DIR [--force]
// Several --request files (or --request-list LIST) are sequential requests: step k is written to
// OUT/step-NN and audited against the original model in OUT/step-NN/audit.
#include <iostream>
#include <memory>

#include "apps/command.h"
#include "engine/comm/communicator.h"
#include "engine/profile.h"
#include "models/unlearning/pipeline.h"
#include "models/unlearning/requests.h"
#include "models/unlearning/stop_rules.h"

namespace {

struct UnlearnCmd {
  lethe::unlearning::UnlearnJob job;
  std::string request_list;
  bool quiet = false, no_step_audit = false, no_landing = false, unconfined = false, profile = false,
       no_pair_gate = false, no_pair_rank = false, no_recall_floor = false;
  std::string trace;  // --trace FILE: Chrome trace of every op and phase
};

int run_unlearn(UnlearnCmd& c) {
  using namespace lethe;
  unlearning::UnlearnJob& job = c.job;
  if (!c.request_list.empty())
    for (const auto& p : unlearning::read_request_list(c.request_list)) job.request_files.push_back(p);
  LETHE_CHECK(!job.request_files.empty(), "give at least one --request FILE (or --request-list LIST)");
  job.options.quiet = c.quiet;
  job.options.comm = &comm::world();  // mpirun -np N: data-parallel over N ranks (docs/scaling.md)
  job.options.landing = !c.no_landing;
  job.options.confine = !c.unconfined;
  job.options.pair_gate = !c.no_pair_gate;
  job.options.pair_rank = !c.no_pair_rank;
  job.options.recall_floor = !c.no_recall_floor;
  job.audit_steps = job.request_files.size() > 1 && !c.no_step_audit;
  if (!c.quiet)
    std::cout << "lethe unlearn: " << unlearning::method_name(job.options.method) << " on " << job.run_dir
              << ", " << job.request_files.size() << " request(s)\n";
  if (c.profile) prof::enable(true);
  if (!c.trace.empty()) prof::start_trace();
  unlearning::run_unlearn_job(job, std::cout);
  if (c.profile) {
    prof::enable(false);
    prof::report(std::cout);
  }
  if (!c.trace.empty()) prof::write_trace(c.trace);
  return 0;
}

lethe::apps::Register reg(
    "unlearn", "Make a trained run forget an unlearning request (writes a new run directory)",
    [](CLI::App& sub) -> lethe::apps::Runner {
      auto c = std::make_shared<UnlearnCmd>();
      auto& j = c->job;
      auto& o = j.options;
      sub.add_option("--run", j.run_dir, "run directory of the model to unlearn from")->required();
      sub.add_option("--request", j.request_files, "request file (repeat for sequential requests)");
      sub.add_option("--request-list", c->request_list,
                     "file listing request files, applied one after another");
      sub.add_option_function<std::string>(
             "--method",
             [c](const std::string& m) { c->job.options.method = lethe::unlearning::parse_method(m); },
             "mmrecun | gold | finetune | neggrad | sisa | influence (default mmrecun; sisa needs a run "
             "trained with --shards)")
          ->check(CLI::IsMember({"mmrecun", "gold", "finetune", "neggrad", "sisa", "influence"}));
      auto* ep = sub.add_option("--epochs", o.epochs, "fixed number of unlearning epochs (> 0)")
                     ->check(CLI::PositiveNumber);
      auto* uf =
          sub.add_flag("--until-forgotten", o.until_forgotten,
                       "stop once forget Recall@20 <= the never-seen reference level (docs/unlearning.md)");
      ep->excludes(uf);
      sub.add_option("--max-epochs", o.max_epochs, "cap on epochs for --until-forgotten")
          ->default_val(o.max_epochs)
          ->check(CLI::PositiveNumber);
      sub.add_option_function<std::string>(
             "--reference",
             [c](const std::string& r) { c->job.options.reference = lethe::unlearning::parse_reference(r); },
             "until-forgotten: gold's level estimated from the users' retained items and the forgotten "
             "items' retained users (two-sided, the default), from the users' retained items alone "
             "(retained) or, the plain rule, from their held-out test items (heldout)")
          ->check(CLI::IsMember({"retained", "two-sided", "heldout"}));
      sub.add_flag("--no-pair-gate", c->no_pair_gate,
                   "mmrecun: push every forget pair until the stop (the paper's form), not only those that "
                   "still rank above where their users' retained items put them (docs/unlearning.md)");
      sub.add_flag(
          "--no-pair-rank", c->no_pair_rank,
          "until-forgotten, interaction requests: stop on the recall level alone, without waiting until "
          "the forgotten pairs rank no higher than their users' retained items say (docs/unlearning.md)");
      sub.add_flag(
          "--no-recall-floor", c->no_recall_floor,
          "until-forgotten, interaction requests: wait for the pair rank however far the forget "
          "recall falls, not only until it is two standard errors below its level (docs/unlearning.md)");
      sub.add_flag(
          "--unconfined", c->unconfined,
          "mmrecun: every parameter moves (the paper's plain form), not only the rows of the forget set's "
          "users and items (modality requests: of the erased items)");
      sub.add_flag(
          "--rank-gate", o.rank_gate,
          "mmrecun: the reverse term acts only on forget triples whose forgotten item still outranks its "
          "negative (TRU-style ranking gate, docs/unlearning.md)");
      sub.add_option(
             "--sensitive-layers", o.sensitive_layers,
             "mmrecun --unconfined: only the K parameter tensors whose one Adam step lowers the reverse "
             "term most move (L1 norm of its gradient; TRU-style layer isolation, docs/unlearning.md); 0: "
             "off")
          ->default_val(o.sensitive_layers)
          ->check(CLI::NonNegativeNumber);
      sub.add_flag("--branch-scaling", o.branch_scaling,
                   "mmrecun --unconfined: each modality branch learns at lr x the least sensitive branch's "
                   "reverse-term sensitivity over its own (TRU-style branch scaling, docs/unlearning.md)");
      sub.add_flag("--no-landing", c->no_landing,
                   "until-forgotten: stop at the end of the crossing epoch (no cut back to the reference)");
      sub.add_option("--alpha", o.alpha, "weight of the reverse (forget) term")->default_val(o.alpha);
      sub.add_option("--beta", o.beta, "weight of the forward (retain) term")->default_val(o.beta);
      sub.add_option("--lr", o.lr, "learning rate of the fresh Adam")->default_val(o.lr);
      sub.add_option(
             "--own-rows-lr-factor", o.own_rows_lr_factor,
             "mmrecun: lr factor for the rows of users and items left with no data (docs/unlearning.md)")
          ->default_val(o.own_rows_lr_factor);
      sub.add_option("--batch-size", o.batch_size, "forget and retain batch size")
          ->default_val(o.batch_size)
          ->check(CLI::PositiveNumber);
      sub.add_option("--damping", o.damping, "influence: the damping lambda of (H + lambda I)")
          ->default_val(o.damping);
      sub.add_option("--cg-iterations", o.cg_max_iter, "influence: conjugate-gradient iterations at most")
          ->default_val(o.cg_max_iter)
          ->check(CLI::PositiveNumber);
      sub.add_option("--cg-tol", o.cg_tol, "influence: relative residual that stops the conjugate gradient")
          ->default_val(o.cg_tol);
      sub.add_option("--seed", o.seed, "sampling seed")->default_val(o.seed);
      sub.add_option("--data", j.data_dir, "data set directory (default: the run's)");
      sub.add_option("--device", j.device, "cpu, cuda or cuda:N")->default_val(j.device);
      sub.add_option("--out", j.out_dir, "run directory to write (must not exist, see --force)")->required();
      sub.add_flag("--force", j.replace,
                   "replace an existing directory at --out (whole: no stale file survives)");
      sub.add_flag("--no-step-audit", c->no_step_audit, "sequential requests: do not audit each step");
      sub.add_flag("--quiet", c->quiet, "no progress lines");
      sub.add_flag("--profile", c->profile, "time every op and training phase; print the table at the end");
      sub.add_option("--trace", c->trace,
                     "write a Chrome trace of every op and phase (opens in Perfetto) to this file");
      return [c] { return run_unlearn(*c); };
    });

}  // namespace
