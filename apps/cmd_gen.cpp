// `lethe gen --preset NAME [--scale F] --seed S --out DIR`: write a synthetic MMRec data set
// (datasets/synthetic.h) plus a SOURCE.md that marks it as synthetic.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "apps/command.h"
#include "datasets/mmrec_io.h"
#include "datasets/synthetic.h"
#include "engine/error.h"
#include "engine/formats/atomic_file.h"

namespace {
struct GenArgs {
  std::string preset, out;
  uint64_t seed = 0;
  double scale = 1.0;
};

lethe::apps::Register reg(
    "gen", "Generate a synthetic MMRec data set (baby, sports, clothing, tiny)", [](CLI::App& sub) {
      auto a = std::make_shared<GenArgs>();
      sub.add_option("--preset", a->preset, "baby | sports | clothing | tiny")->required();
      sub.add_option("--scale", a->scale,
                     "multiply the preset's users, items and interactions (docs/scaling.md)")
          ->default_val(1.0);
      sub.add_option("--seed", a->seed, "random seed (same seed, same bytes)")->default_val(0);
      sub.add_option("--out", a->out, "output directory (its name becomes <name>.inter)")->required();
      return [a]() -> int {
        namespace fs = std::filesystem;
        const auto t0 = std::chrono::steady_clock::now();
        lethe::datasets::SynthPreset p = lethe::datasets::synth_preset(a->preset);
        if (a->scale != 1.0) p = lethe::datasets::scale_preset(p, a->scale);
        lethe::datasets::Dataset ds = lethe::datasets::generate_synthetic(p, a->seed);
        lethe::datasets::write_mmrec(ds, a->out);
        lethe::formats::write_file_atomic((fs::path(a->out) / "SOURCE.md").string(),
                                          lethe::datasets::synth_source_md(p, a->seed));
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cout << "wrote " << a->out << ": " << ds.n_users << " users, " << ds.n_items << " items, train "
                  << ds.train.size() << " / valid " << ds.valid.size() << " / test " << ds.test.size()
                  << " in " << s << " s\n";
        return 0;
      };
    });
}  // namespace
