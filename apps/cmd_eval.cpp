// `lethe eval`: full-ranking evaluation of a run's best checkpoint on valid or test; writes metrics.json/.md.
#include <iostream>

#include "apps/command.h"
#include "autograd/var.h"
#include "engine/device.h"
#include "engine/error.h"
#include "models/eval/evaluator.h"
#include "models/training/run_dir.h"
#include "models/training/trainer.h"

namespace {

struct EvalArgs {
  std::string run, split = "test", data, device = "cpu";
};

int run_eval(const EvalArgs& a) {
  using namespace lethe;
  using namespace lethe::models;
  using namespace lethe::training;
  LETHE_CHECK(a.split == "valid" || a.split == "test", "--split must be valid or test, got '" << a.split << "'");
  const Device dev = parse_device(a.device);
  LoadedRun r = load_run(a.run, a.data, dev);
  const TrainOptions opt = TrainOptions::from_config(r.info.config);
  eval::Evaluator ev(datasets::UserItems::build(r.train_data.train, r.train_data.n_users), r.train_data.n_items,
                     r.train_data.item_dropped, dev, eval::EvalOptions{opt.eval_batch_size, opt.topks});
  Tensor u, it;
  {
    autograd::NoGrad ng;
    Forward f = r.model->forward(false);
    u = f.users.value();
    it = f.items.value();
  }
  const eval::EvalResult res = ev.evaluate(u, it, a.split == "valid" ? r.dataset.valid : r.dataset.test);
  nlohmann::json extra;
  extra["model"] = r.info.model;
  extra["users"] = res.users;
  extra["eval_seconds"] = res.seconds;
  write_metrics(a.run, a.split, res.metrics, opt.topks, extra);
  std::cout << r.info.model << " on " << a.split << " (" << res.users << " users, " << res.seconds << " s)\n"
            << eval::format_markdown(res.metrics, opt.topks);
  return 0;
}

lethe::apps::Register reg("eval", "Evaluate a trained run on the valid or test split (full ranking)",
                         [](CLI::App& sub) -> lethe::apps::Runner {
                           auto a = std::make_shared<EvalArgs>();
                           sub.add_option("--run", a->run, "run directory written by `lethe train`")->required();
                           sub.add_option("--split", a->split, "valid or test");
                           sub.add_option("--data", a->data, "data set directory (default: the run's)");
                           sub.add_option("--device", a->device, "cpu, cuda or cuda:N");
                           return [a] { return run_eval(*a); };
                         });

}  // namespace
