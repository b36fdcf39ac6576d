#include "sim/run_options.h"

#include <CLI/CLI.hpp>

namespace zerosim {

void add_run_options(CLI::App& cmd, RunOptions& o) {
  cmd.add_option("--config", o.config_path, "run config (RUN.yaml, keys in DESIGN.md §4)")->required();
  cmd.add_option("--set", o.sets, "override a config key, e.g. --set zero.stage=3 (repeatable)")
      ->allow_extra_args(false);
}

RunConfig RunOptions::load() const {
  std::vector<Override> overrides;
  for (const auto& s : sets) overrides.push_back(parse_override(s));
  return load_run_config(config_path, overrides);
}

}  // namespace zerosim
