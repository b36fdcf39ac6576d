#include "sim/cli/run_options.h"

#include <CLI/CLI.hpp>

#include "sim/platform/platform_builder.h"
#include "sim/platform/platform_setup.h"

namespace zerosim {

void add_run_options(CLI::App& cmd, RunOptions& o) {
  cmd.add_option("--config", o.config_path, "run config (RUN.yaml, keys in DESIGN.md §4)")->required();
  cmd.add_option("--set", o.sets, "override a config key, e.g. --set zero.stage=3 (repeatable)")
      ->allow_extra_args(false);
}

RunConfig RunOptions::load() const {
  std::vector<Override> overrides;
  for (const auto& s : sets) overrides.push_back(parse_override(s));
  RunConfig config = load_run_config(config_path, overrides);
  apply_platform_file(config);  // a platform file says which GPUs the hosts are, and how many
  config.cluster.intra = resolve_intra(config.cluster.intra, config.gpu.id);
  return config;
}

}  // namespace zerosim
