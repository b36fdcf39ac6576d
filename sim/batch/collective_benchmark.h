#pragma once
// `zerosim collective`: an nccl-tests-style sweep of one collective over message sizes on the
// simulated platform (a platform file, or one built from cluster keys). The sizes become a step graph
// of back-to-back collectives, one stream per concurrent communicator; one engine run gives each
// size's time. --compare takes the sizes from a user's nccl-tests output and puts its busbw beside.
#include <cstdint>
#include <string>

#include "sim/report/collective_report.h"

namespace zerosim {

struct CollectiveOptions {
  std::string platform;  // a SimGrid platform XML, or
  std::string cluster;   // cluster keys: gpu=NAME,gpus=N,...
  int64_t gpus = 0;      // with platform: the first N GPU hosts (0: all)
  std::string op = "all_reduce";
  bool op_given = false;  // --op on the command line: must agree with a --compare file's collective
  std::string begin = "1K", end = "8G";
  double factor = 2;
  bool sizes_given = false;  // any of -b, -e, -f on the command line
  int concurrent = 1;
  std::string ring = "pipelined";
  std::string algo = "auto";
  std::string nccl;     // the NCCL release (versions.nccl); "" = the newest modelled
  std::string compare;  // nccl-tests output
  std::string compare_column = "in-place";
  bool compare_column_given = false;
  std::string format = "table";
};

// Checks the options, simulates and returns every size's row (ConfigError for bad input).
CollectiveBenchmark simulate_collectives(CollectiveOptions options);

// simulate_collectives, printed to stdout in options.format (table or json).
void run_collective(const CollectiveOptions& options);

}  // namespace zerosim
