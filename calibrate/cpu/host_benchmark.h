#pragma once
// The host measurement of zerosim-calibrate (docs/calibration.md, "The host section"): DeepSpeedCPUAdam's
// loop (cpu_adam.h) on one thread and on every thread of the pool (parallel.h), and a STREAM-triad-like
// pass on every thread for the node's sustained memory bandwidth. Arrays are far larger than the caches,
// so every pass streams from DRAM, as DeepSpeed's step over a model's partition does.
#include <cstdint>
#include <ostream>

#include "calibrate/calibration_table.h"

namespace zerosim::calib::cpu {

struct HostBenchmarkPlan {
  // 64 Mi elements: Adam's four fp32 arrays take 1 GiB, the triad's three 768 MiB — far beyond any L3.
  int64_t adam_elements = int64_t{64} << 20;
  int64_t triad_elements = int64_t{64} << 20;
  int warmup = 1;
  int repeats = 5;
};

// --quick: 16 Mi elements (Adam's arrays 256 MiB, the triad's 192 MiB: still beyond most L3 caches).
HostBenchmarkPlan host_benchmark_plan(bool quick, int warmup, int repeats);

// Progress (one line) goes to `progress`.
HostMeasurement measure_host(const HostBenchmarkPlan& plan, std::ostream& progress);

}  // namespace zerosim::calib::cpu
