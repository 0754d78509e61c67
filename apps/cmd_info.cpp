// `lethe info --data DIR [--json]`: load an MMRec data set directory and print its summary.
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/command.h"
#include "datasets/mmrec_io.h"
#include "engine/comm/communicator.h"

namespace {
struct InfoArgs {
  std::string data;
  bool json = false;
};

lethe::apps::Register reg("info", "Summarise an MMRec data set directory", [](CLI::App& sub) {
  auto a = std::make_shared<InfoArgs>();
  sub.add_option("--data", a->data, "data set directory (<name>.inter + <modality>_feat.npy)")->required();
  sub.add_flag("--json", a->json, "print JSON instead of text");
  return [a]() -> int {
    lethe::datasets::Dataset ds = lethe::datasets::load_mmrec(a->data);
    // The ranks this process sees (mpirun -np N: N), for data-parallel train and unlearn (docs/scaling.md).
    lethe::comm::Communicator& w = lethe::comm::world();
    const std::string built = std::string("mpi ") + (lethe::comm::built_with_mpi() ? "yes" : "no") +
                              ", nccl " + (lethe::comm::built_with_nccl() ? "yes" : "no");
    if (a->json) {
      nlohmann::json j = lethe::datasets::summary_json(ds);
      j["ranks"] = {{"size", w.size()},
                    {"backend", w.backend()},
                    {"built_with_mpi", lethe::comm::built_with_mpi()},
                    {"built_with_nccl", lethe::comm::built_with_nccl()}};
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << lethe::datasets::summary_text(ds) << "ranks: " << w.size() << " (" << w.backend()
                << "; built with " << built << ")\n";
    }
    return 0;
  };
});
}  // namespace
