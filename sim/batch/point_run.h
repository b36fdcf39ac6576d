#pragma once
// One point: `zerosim memory` and `zerosim simulate` for one run config. Every batch run (sweep,
// recommend, validate) simulates its points by running `zerosim simulate` in a worker process, so
// this is also what each worker does.
#include <string>
#include <vector>

#include "workloads/run_config.h"

namespace zerosim {

// A run config file with `--set key=value` overrides applied, a platform file's GPUs filled in and
// `cluster.intra: auto` and `cluster.pcie_gen: auto` resolved (to the GPU's). Bad input is a ConfigError
// naming the file (or --set) and the key.
RunConfig load_run(const std::string& config_path, const std::vector<std::string>& sets);

struct MemoryReportOptions {
  std::string config_path;
  std::vector<std::string> sets;
  std::string format = "table";  // table | json | csv
};

struct SimulateOptions {
  std::string config_path;
  std::vector<std::string> sets;
  std::string format = "table";  // table | json | csv
  std::string trace_path;        // Chrome trace to write; empty: none
};

// Print the point's report to stdout in the chosen format.
void run_memory(const MemoryReportOptions& options);
void run_simulate(const SimulateOptions& options);

}  // namespace zerosim
