// `lethe info --data DIR [--json]`: load an MMRec data set directory and print its summary.
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/command.h"
#include "datasets/mmrec_io.h"

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
    if (a->json)
      std::cout << lethe::datasets::summary_json(ds).dump(2) << "\n";
    else
      std::cout << lethe::datasets::summary_text(ds);
    return 0;
  };
});
}  // namespace
