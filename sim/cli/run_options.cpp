#include "sim/cli/run_options.h"

#include <CLI/CLI.hpp>

#include "sim/platform/platform_builder.h"
#include "sim/platform/platform_check.h"

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
  if (!config.cluster.platform.empty()) {
    // A platform file says which GPUs the hosts are: memory capacity and peaks come from it.
    const PlatformInfo info = check_platform_file(config.cluster.platform, config.cluster.gpus);
    config.gpu = info.gpu_hosts.front().gpu;
    config.cluster.gpu = config.gpu.id;
    if (info.gpus_per_node > 0) config.cluster.gpus_per_node = info.gpus_per_node;
    if (!info.intra.empty()) config.cluster.intra = info.intra;
    if (!info.inter.empty()) config.cluster.inter = info.inter;
  }
  config.cluster.intra = resolve_intra(config.cluster.intra, config.gpu.id);
  return config;
}

}  // namespace zerosim
