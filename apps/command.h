// Sub-command registry for the `lethe` CLI. Each apps/cmd_<name>.cpp registers itself with
//   static lethe::apps::Register reg("name", "one-line help", [](CLI::App& sub) -> std::function<int()>
//   {...});
// The setup function declares the sub-command's options on `sub` and returns the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace lethe::apps {

using Runner = std::function<int()>;
using Setup = std::function<Runner(CLI::App& sub)>;

struct Command {
  std::string name, help;
  Setup setup;
};

std::vector<Command>& registry();

struct Register {
  Register(std::string name, std::string help, Setup setup) {
    registry().push_back({std::move(name), std::move(help), std::move(setup)});
  }
};

}  // namespace lethe::apps
