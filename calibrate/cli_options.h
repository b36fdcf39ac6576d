#pragma once
// zerosim-calibrate's command line.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "workloads/error.h"

namespace zerosim::calib {

struct CliOptions {
  std::string backend;  // cuda | cpu
  std::string model = "llama2-7b";
  std::vector<int64_t> tokens = {512, 2048, 8192};
  std::vector<int64_t> ranks = {8, 16, 64};
  std::vector<int64_t> seq_lens;  // empty: every value of tokens
  std::vector<int64_t> memcpy_bytes = {int64_t{64} << 20, int64_t{256} << 20, int64_t{1} << 30};
  std::string out = "calibration.yaml";
  int repeats = 10;
  int warmup = 2;
  int device = 0;
  bool quick = false;
  bool composites = true;
  bool host = true;        // measure the host CPU too (the file's host: section); --no-host: skip
  bool host_only = false;  // --host-only: the host section alone, no op timings, no --backend needed
  bool help = false;
};

// Bad command line: the message names the flag and its allowed values. Exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

CliOptions parse_cli(const std::vector<std::string>& args);
std::string usage_text();

}  // namespace zerosim::calib
