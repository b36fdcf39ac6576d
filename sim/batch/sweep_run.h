#pragma once
// `zerosim sweep`: simulates every point of a sweep in worker processes and streams one row per point
// to results.jsonl and results.csv as each finishes; resumable and shardable (docs/sweeps.md).
#include <cstddef>
#include <string>

namespace zerosim {

struct SweepOptions {
  std::string config;
  size_t jobs = 0;
  std::string shard = "1/1";
  std::string out = "results.csv";
  bool resume = false;
};

// Runs the sweep; bad input is a ConfigError. Interrupted by a signal, it keeps the rows written so
// far and re-raises the signal so the shell and SLURM see the process end as interrupted.
void run_sweep(const SweepOptions& options);

}  // namespace zerosim
