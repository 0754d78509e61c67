// `lethe`: the command line. Sub-commands live in apps/cmd_*.cpp and register themselves (apps/command.h).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>

#include "apps/command.h"
#include "engine/build_info.h"
#include "engine/comm/communicator.h"
#include "engine/cpu/info.h"
#include "engine/device.h"
#include "engine/formats/staged_dir.h"

namespace lethe::apps {
std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}
}  // namespace lethe::apps

namespace {
// After an error on one rank of a data-parallel job, the others would wait in their next collective forever.
void stop_other_ranks() {
  try {
    lethe::comm::Communicator& w = lethe::comm::world();
    if (w.size() > 1) w.abort(1);
  } catch (const std::exception&) {
    // no communicator could be made: this process is alone
  }
}
}  // namespace

int main(int argc, char** argv) {
  // OpenBLAS gave this CPU its generic kernels (a model it does not know): start again, once, with the kernel
  // set the CPU supports; 2.2x faster MMRecUn on an AVX-512 Xeon (docs/architecture.md, "BLAS kernels").
  // execv returns only when it failed, and then this process goes on with the generic kernels.
  const std::string core = lethe::cpu::blas_core_to_restart_with();
  if (!core.empty() && setenv("OPENBLAS_CORETYPE", core.c_str(), 1) == 0) {
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");
  }
  using namespace lethe::apps;
  CLI::App app{"lethe: multi-modal graph recommenders that can forget"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] {
    const nlohmann::json b = lethe::build_record();
    return "lethe " + b["lethe"].get<std::string>() + " (commit " + b["commit"].get<std::string>() + "; " +
           b["blas"].get<std::string>() + ", kernels " + b["blas_core"].get<std::string>() + ")";
  });
  auto& cmds = registry();
  std::sort(cmds.begin(), cmds.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  std::map<CLI::App*, Runner> runners;
  for (auto& c : cmds) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    runners[sub] = c.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& [sub, run] : runners) {
    if (sub->parsed()) {
      try {
        // Under mpirun (docs/scaling.md, "Data-parallel steps"): train and unlearn run on every rank, info
        // reports the ranks; rank 0 prints and writes, the other ranks print only their errors.
        lethe::comm::Communicator& world = lethe::comm::world();
        if (world.rank() != 0) std::cout.rdbuf(nullptr);
        const std::string name = sub->get_name();
        LETHE_CHECK(world.size() == 1 || name == "train" || name == "unlearn" || name == "info",
                    "only train, unlearn and info run under an MPI launcher; start lethe "
                        << name << " as one process");
        return run();
      } catch (const lethe::formats::OutputExists& e) {
        std::string msg = e.what();
        const auto cut = msg.find(" (ask for the replacement");
        if (cut != std::string::npos && sub->get_option_no_throw("--force"))
          msg = msg.substr(0, cut) + " (pass --force to replace it)";
        std::cerr << "lethe " << sub->get_name() << ": error: " << msg << "\n";
        stop_other_ranks();
        return 1;
      } catch (const std::exception& e) {
        std::cerr << "lethe " << sub->get_name() << ": error: " << e.what() << "\n";
        stop_other_ranks();
        return 1;
      }
    }
  }
  return 1;
}
