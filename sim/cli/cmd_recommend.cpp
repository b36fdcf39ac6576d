// zerosim recommend --config RUN.yaml [--set k=v]... [--gpus 1,2,4,8] [--micro-batches 1,2,4,8]
//                   [--checkpointing both|on|off] [--offload auto|never|always] [--optimizers fused,bnb-8bit]
//                   [--global-batch N] [--memory-margin|--headroom F] [-j N] [--format table|json]
// The options; sim/batch/recommend_run.h simulates the candidates and prints the recommendation.
#include <CLI/CLI.hpp>

#include "sim/batch/recommend_run.h"
#include "sim/cli/commands.h"
#include "sim/cli/format_option.h"
#include "workloads/run_config.h"

namespace zerosim {

void add_recommend_command(CLI::App& root) {
  auto* cmd =
      root.add_subcommand("recommend", "which ZeRO stage, micro-batch and checkpointing per GPU count");
  auto o = std::make_shared<RecommendOptions>();
  cmd->add_option("--config", o->config, "run config (RUN.yaml)")->required();
  cmd->add_option("--set", o->sets, "override a config key (repeatable)");
  cmd->add_option("--gpus", o->gpus, "GPU counts to compare (default: the config's cluster.gpus)")
      ->delimiter(',');
  cmd->add_option("--micro-batches", o->micro_batches, "micro-batch sizes to try")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--checkpointing", o->checkpointing, "activation checkpointing: both | on | off")
      ->check(CLI::IsMember({"both", "on", "off"}))
      ->capture_default_str();
  cmd->add_option(
         "--offload", o->offload,
         "CPU offload (ZeRO-1..3 optimizer, ZeRO-3 parameters): auto = only at GPU counts where nothing "
         "else fits | never | always")
      ->check(CLI::IsMember({"auto", "never", "always"}))
      ->capture_default_str();
  cmd->add_option(
         "--optimizers", o->optimizers,
         "train.optimizer values to compare (fused, foreach, bnb-8bit, bnb-32bit, bnb-paged-8bit, "
         "bnb-paged-32bit; default: the config's own); bnb-* are left out of the CPU-offload variants")
      ->delimiter(',')
      ->check(CLI::IsMember(optimizer_names()));
  cmd->add_option(
      "--global-batch", o->global_batch,
      "sequences per optimizer step over all GPUs: each candidate accumulates global / (micro-batch x "
      "GPUs) micro-steps; those that do not divide it are left out (default: the config's grad_accum)");
  cmd->add_option(
         "--memory-margin,--headroom", o->memory_margin,
         "share of each GPU's memory a recommendation keeps free (0 = none; default: zerosim's largest "
         "under-prediction on its validated memory rows, docs/memory-model.md)")
      ->capture_default_str();
  cmd->add_option("-j,--jobs", o->jobs, "worker processes (default: the CPUs available)");
  add_format_option(*cmd, o->format, "table,json");
  cmd->callback([o] { run_recommend(*o); });
}

}  // namespace zerosim
