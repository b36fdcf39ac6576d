#pragma once
// What `zerosim collective` prints: nccl-tests' columns (size, count, time, algbw, busbw) per message
// size, so users can put their own nccl-tests output beside it, and with --compare that output's busbw,
// the error per size and its mean over the sizes. A table for people, JSON (bytes, seconds) for scripts.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace zerosim {

// One message size: the slowest of the concurrent collectives, as rank 0 saw it.
struct CollectiveRow {
  int64_t size_bytes = 0;
  double time_s = 0, algbw_gbps = 0, busbw_gbps = 0;
  std::string algorithm;           // the NCCL algorithm simulated (ring, tree, nvls)
  double measured_busbw_gbps = 0;  // with --compare: the file's; 0 where it has none
  std::optional<double> error;     // busbw / measured - 1, where there is a measurement
};

// Absolute errors summed over compared sizes, for their mean (MAPE).
struct ErrorSum {
  double abs_sum = 0;
  int sizes = 0;
};

// --compare: the nccl-tests file and the MAPE over all sizes and over those of at least 64 MiB, where
// latency no longer dominates (the bar `zerosim validate` scores bandwidth at).
struct CollectiveComparison {
  std::string file, column;
  ErrorSum all, min_64mib;
};

struct CollectiveBenchmark {
  std::string op;  // all_reduce, ...
  int64_t gpus = 0;
  std::string gpu;  // GPU model id
  int concurrent = 1;
  int64_t flows = 0;  // point-to-point flows of the collectives, as planned (replayed ones too)
  std::vector<CollectiveRow> rows;
  std::optional<CollectiveComparison> compare;
};

std::string collective_table(const CollectiveBenchmark& b);
nlohmann::json collective_json(const CollectiveBenchmark& b);

}  // namespace zerosim
