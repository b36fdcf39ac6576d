// zerosim sweep --config SWEEP.yaml [-j N] [--shard K/N] [--out results.csv] [--resume]
// Options only; the sweep runs in sim/batch/sweep_run.
#include <CLI/CLI.hpp>

#include "sim/batch/sweep_run.h"
#include "sim/cli/commands.h"

namespace zerosim {

void add_sweep_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("sweep",
                                  "simulate every point of a sweep (config values x config values ...) "
                                  "in parallel worker processes; resumable and shardable");
  auto o = std::make_shared<SweepOptions>();
  cmd->add_option("--config", o->config, "SWEEP.yaml: base run config, axes, exclude rules (docs/sweeps.md)")
      ->required();
  cmd->add_option("-j,--jobs", o->jobs, "worker processes at once (default: the CPUs available)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--shard", o->shard,
                  "run shard K of N (1-based, K = 1..N): the points with index % N == K-1")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "results CSV; the JSON lines go next to it (same name, .jsonl)")
      ->capture_default_str();
  cmd->add_flag("--resume", o->resume, "keep the rows already in the output and run only the missing points");
  cmd->callback([o] { run_sweep(*o); });
}

}  // namespace zerosim
