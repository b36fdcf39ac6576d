#pragma once
// Reads the result table of an nccl-tests run (all_reduce_perf, all_gather_perf, ...) so that
// `zerosim collective --compare` can put a user's own measurement beside the simulated curve.
#include <cstdint>
#include <string>
#include <vector>

namespace zerosim {

// One message size of an nccl-tests table: its out-of-place and in-place columns.
struct NcclTestsRow {
  int64_t size_bytes = 0;
  double out_time_s = 0, out_algbw_gbps = 0, out_busbw_gbps = 0;
  double in_time_s = 0, in_algbw_gbps = 0, in_busbw_gbps = 0;
};

// What an nccl-tests run printed: its result rows, and how many ranks it ran on when its "# Using devices"
// block says so ("#  Rank  7 Group ..." lines; 0 when the file has none).
struct NcclTestsLog {
  std::vector<NcclTestsRow> rows;
  int64_t ranks = 0;
  // The collective, where the file says: "# Collective test starting: all_gather_perf" (nccl-tests
  // 2.13 on) gives "all_gather"; else "" (and reduction_none tells whether the rows' redop is "none").
  std::string op;
  bool reduction_none = false;
};

// Parses nccl-tests' stdout. A result row starts with two integers (size, count) and a type name and
// ends with eight columns: time algbw busbw #wrong for out-of-place, then the same for in-place. The
// columns in between (redop, root) differ across nccl-tests versions and collectives, so rows are read
// from both ends. Comment lines ('#') and anything that does not start with a size (NCCL_DEBUG lines,
// MPI banners) are skipped. Throws ConfigError naming `origin` and the line when a row is malformed,
// and when the text has no rows at all.
NcclTestsLog parse_nccl_tests_log(const std::string& text, const std::string& origin);

// The collective to simulate against `log`: the one the file names ("all_gather" for all_gather_perf)
// unless `op_given`, when `op` must agree with it. Throws ConfigError naming `origin` for a collective
// zerosim does not simulate, a contradicting --op, and redop-"none" rows read as an all-reduce.
std::string collective_to_compare(const NcclTestsLog& log, const std::string& op, bool op_given,
                                  const std::string& origin);

}  // namespace zerosim
