#include "sim/cli/run_options.h"

#include <CLI/CLI.hpp>

namespace zerosim {

void add_run_options(CLI::App& cmd, std::string& config_path, std::vector<std::string>& sets) {
  cmd.add_option("--config", config_path, "run config (RUN.yaml, keys in docs/architecture.md)")->required();
  cmd.add_option("--set", sets, "override a config key, e.g. --set zero.stage=3 (repeatable)")
      ->allow_extra_args(false);
}

}  // namespace zerosim
