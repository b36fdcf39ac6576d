// zerosim collective (--platform FILE | --cluster k=v,...) --op OP [-b 1K -e 8G -f 2] [--concurrent K]
// [--algo A]
//                   [--compare NCCL_TESTS_OUTPUT [--compare-column in-place|out-of-place]]
// The options; sim/batch/collective_benchmark.h runs the benchmark.
#include <CLI/CLI.hpp>

#include "sim/batch/collective_benchmark.h"
#include "sim/cli/commands.h"
#include "sim/cli/format_option.h"
#include "workloads/framework_versions.h"

namespace zerosim {

void add_collective_command(CLI::App& root) {
  auto* cmd =
      root.add_subcommand("collective", "nccl-tests-style collective benchmark on a simulated platform");
  auto o = std::make_shared<CollectiveOptions>();
  auto* group = cmd->add_option_group("where");
  group->add_option("--platform", o->platform, "SimGrid platform XML");
  group->add_option("--cluster", o->cluster, "gpu=NAME,gpus=N,gpus_per_node=G,intra=...,inter=...");
  group->require_option(1);
  cmd->add_option("--gpus", o->gpus, "with --platform: use the first N GPU hosts (default: all)");
  cmd->add_option("--op", o->op, "all_reduce | all_gather | reduce_scatter | broadcast")
      ->capture_default_str();
  cmd->add_option("-b,--minbytes", o->begin, "smallest size")->capture_default_str();
  cmd->add_option("-e,--maxbytes", o->end, "largest size")->capture_default_str();
  cmd->add_option("-f,--stepfactor", o->factor, "size multiplication factor")->capture_default_str();
  cmd->add_option("--concurrent", o->concurrent,
                  "run K identical collectives at once on separate communicators")
      ->capture_default_str();
  cmd->add_option("--ring", o->ring,
                  "ring model: pipelined (N flows) | stepwise (one round of N flows per ring step)")
      ->check(CLI::IsMember({"pipelined", "stepwise"}))
      ->capture_default_str();
  cmd->add_option(
         "--algo", o->algo,
         "NCCL algorithm, as NCCL_ALGO: auto (NCCL's tuner choice) | ring | tree (multi-node "
         "all_reduce) | nvls (all_reduce in one NVSwitch-gen3 node) | nvlstree (multi-node "
         "all_reduce on NVSwitch-gen3 nodes) | collnet (multi-node all_reduce reduced in SHARP switches, "
         "cluster collnet=true) | pat (all_gather / reduce_scatter at one GPU per node, NCCL 2.23+); "
         "where the forced one cannot run, the ring, as in NCCL")
      ->check(CLI::IsMember({"auto", "ring", "tree", "nvls", "nvlstree", "collnet", "pat"}))
      ->capture_default_str();
  cmd->add_option(
         "--nccl", o->nccl,
         "the NCCL release the job runs (versions.nccl, " + kNcclOldest.text() + " to " +
             std::to_string(kNcclNewest.major) + "." + std::to_string(kNcclNewest.minor) +
             ".x; default the newest): which algorithms exist, NCCL_ALGO's fallback, NVLSTree's chunks")
      ->type_name("VERSION");
  cmd->add_option(
      "--compare", o->compare,
      "nccl-tests output (all_reduce_perf ... > FILE): simulate its sizes and print its busbw and "
      "the error beside zerosim's");
  cmd->add_option("--compare-column", o->compare_column, "which of the file's busbw columns to compare")
      ->check(CLI::IsMember({"in-place", "out-of-place"}))
      ->capture_default_str();
  add_format_option(*cmd, o->format, "table,json");
  cmd->callback([o, cmd] {
    o->op_given = cmd->count("--op") > 0;
    o->sizes_given = cmd->count("-b") + cmd->count("-e") + cmd->count("-f") > 0;
    o->compare_column_given = cmd->count("--compare-column") > 0;
    run_collective(*o);
  });
}

}  // namespace zerosim
