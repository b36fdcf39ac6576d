// Reading nccl-tests output (sim/nccl_tests_log.h) for `zerosim collective --compare`: the layouts of
// different nccl-tests versions and collectives, lines to skip, and malformed input.
#include <catch2/catch.hpp>

#include "sim/batch/nccl_tests_log.h"
#include "test_support.h"
#include "workloads/config_error.h"

using zerosim::ConfigError;
using zerosim::parse_nccl_tests_log;
using zerosim::testing::config_error_message;

TEST_CASE("nccl-tests log: the current layout (redop and root columns), comments and NCCL INFO lines skipped",
          "[nccl-tests][compare]") {
  const std::string text =
      "# nThread 1 nGpus 8 minBytes 67108864 maxBytes 134217728 step: 2(factor) warmup iters: 5 iters: 20\n"
      "host:1:1 [0] NCCL INFO NCCL version 2.21.5+cuda12.4\n"
      "#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw "
      "  busbw #wrong\n"
      "    67108864      16777216     float     sum      -1    330.1  203.30  355.78      0    324.6  206.74 "
      " 361.80      0\n"
      "   134217728      33554432     float     sum      -1    600.0  223.70  391.47    N/A    586.3  228.92 "
      " 400.61    N/A\n"
      "# Avg bus bandwidth    : 377.41\n";
  const auto log = parse_nccl_tests_log(text, "run.log");
  const auto& rows = log.rows;
  REQUIRE(rows.size() == 2);
  CHECK(log.ranks == 0);  // no "# Using devices" block in this excerpt
  CHECK(rows[0].size_bytes == 67108864);
  CHECK(rows[0].out_time_s == Approx(330.1e-6));
  CHECK(rows[0].out_busbw_gbps == Approx(355.78));
  CHECK(rows[0].in_time_s == Approx(324.6e-6));
  CHECK(rows[0].in_algbw_gbps == Approx(206.74));
  CHECK(rows[0].in_busbw_gbps == Approx(361.80));
  // "N/A" in #wrong (a run with -c 0) is not a number, and not needed.
  CHECK(rows[1].in_busbw_gbps == Approx(400.61));
}

TEST_CASE("nccl-tests log: older layouts without root, and all_gather without redop",
          "[nccl-tests][compare]") {
  // nccl-tests 2.x before the root column, with the error as a float (NVIDIA/nccl#340's layout).
  const auto old = parse_nccl_tests_log(
                       "   1048576        262144   float     sum    47.38   22.13   22.13  0e+00    46.84   "
                       "22.39   22.39  0e+00\n",
                       "old.log")
                       .rows;
  REQUIRE(old.size() == 1);
  CHECK(old[0].out_busbw_gbps == Approx(22.13));
  CHECK(old[0].in_time_s == Approx(46.84e-6));
  // all_gather_perf of the same era: no redop column at all (11 fields).
  const auto ag = parse_nccl_tests_log(
                      "  1073741824     33554432   float    3370.1  318.61  278.78      0   3310.0  324.39  "
                      "283.84      0\n",
                      "ag.log")
                      .rows;
  REQUIRE(ag.size() == 1);
  CHECK(ag[0].in_busbw_gbps == Approx(283.84));
}

TEST_CASE("nccl-tests log: malformed rows and files without rows are errors naming the file and line",
          "[nccl-tests][compare][errors]") {
  // ConfigError's message is "<file>: key '<key>': <what>".
  const std::string bad = config_error_message([] {
    parse_nccl_tests_log(
        "# header\n  67108864  16777216  float  sum  -1  abc  206.7  361.8  0  324.6  206.7  361.8  0\n",
        "bad.log");
  });
  CHECK_THAT(bad, Catch::StartsWith("bad.log: key 'line 2': ") && Catch::Contains("'abc'"));
  const std::string short_row = config_error_message(
      [] { parse_nccl_tests_log("  67108864  16777216  float  sum  -1  324.6  206.7\n", "short.log"); });
  CHECK_THAT(short_row, Catch::StartsWith("short.log: key 'line 1': ") && Catch::Contains("7 fields"));
  // A negative bandwidth cannot come from nccl-tests.
  CHECK_THROWS_AS(
      parse_nccl_tests_log("  64  16  float  sum  -1  10.0  -1.0  0.01  0  10.0  0.01  0.01  0\n", "neg.log"),
      ConfigError);
  const std::string empty = config_error_message(
      [] { parse_nccl_tests_log("# only comments\nNCCL INFO something\n", "empty.log"); });
  CHECK_THAT(empty, Catch::StartsWith("empty.log: ") && Catch::Contains("no nccl-tests result rows"));
}

TEST_CASE("nccl-tests log: the rank count comes from the '# Rank' lines of the device list",
          "[nccl-tests][compare]") {
  const std::string text =
      "# Using devices\n"
      "#  Rank  0 Group  0 Pid  101 on node1 device  0 [0x0e] NVIDIA A100-SXM4-80GB\n"
      "#  Rank  1 Group  0 Pid  101 on node1 device  1 [0x13] NVIDIA A100-SXM4-80GB\n"
      "#   Rank 15 Pid 2066 on node2 device  7 [0xd2] NVIDIA A100-SXM4-80GB\n"  // older layout, no Group
      "  1048576  262144  float  sum  -1  50.1  20.93  39.24  0  49.8  21.06  39.48  0\n";
  CHECK(parse_nccl_tests_log(text, "run.log").ranks == 16);
}

TEST_CASE("nccl-tests log: the collective from the 'Collective test starting' line, and redop 'none' rows",
          "[nccl-tests][compare]") {
  const auto named = parse_nccl_tests_log(
      "# Collective test starting: ./build/all_gather_perf\n"
      "  1073741824  33554432  float  none  -1  3370.1  318.61  278.78  0  3310.0  324.39  283.84  0\n",
      "ag.log");
  CHECK(named.op == "all_gather");  // the path before the program name is dropped
  CHECK(named.reduction_none);
  const auto unnamed = parse_nccl_tests_log(
      "  1048576  262144  float  sum  -1  50.1  20.93  39.24  0  49.8  21.06  39.48  0\n", "ar.log");
  CHECK(unnamed.op.empty());
  CHECK_FALSE(unnamed.reduction_none);
}

TEST_CASE("nccl-tests log: which collective to compare against", "[nccl-tests][compare]") {
  zerosim::NcclTestsLog log;
  log.op = "reduce_scatter";
  CHECK(zerosim::collective_to_compare(log, "all_reduce", false, "rs.log") ==
        "reduce_scatter");  // the file's
  CHECK(zerosim::collective_to_compare(log, "reduce_scatter", true, "rs.log") == "reduce_scatter");
  CHECK_THROWS_WITH(zerosim::collective_to_compare(log, "all_gather", true, "rs.log"),
                    Catch::Contains("reduce_scatter_perf output but --op is all_gather"));
  log.op = "alltoall";
  CHECK_THROWS_WITH(zerosim::collective_to_compare(log, "all_reduce", false, "a2a.log"),
                    Catch::Contains("zerosim simulates all_reduce, all_gather, reduce_scatter, broadcast"));
  // Unnamed: --op (or its all_reduce default) stands, unless the rows have no reduction.
  zerosim::NcclTestsLog unnamed;
  CHECK(zerosim::collective_to_compare(unnamed, "broadcast", true, "b.log") == "broadcast");
  unnamed.reduction_none = true;
  CHECK_THROWS_AS(zerosim::collective_to_compare(unnamed, "all_reduce", false, "b.log"), ConfigError);
  CHECK(zerosim::collective_to_compare(unnamed, "all_gather", true, "b.log") == "all_gather");
}
