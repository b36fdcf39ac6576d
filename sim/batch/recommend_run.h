#pragma once
// `zerosim recommend`: for each GPU count, ZeRO stages 0-3 x micro-batch x activation checkpointing,
// and with --offload the CPU offload variants (auto: only at GPU counts where nothing else fits), each
// simulated in its own worker process; sim/batch/recommendation.h ranks what fits and explains every
// stage.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/batch/memory_margin.h"

namespace zerosim {

struct RecommendOptions {
  std::string config;             // RUN.yaml
  std::vector<std::string> sets;  // key=value overrides
  std::vector<int64_t> gpus;      // GPU counts; empty: the config's cluster.gpus
  std::vector<int64_t> micro_batches = {1, 2, 4, 8};
  std::string checkpointing = "both";             // both | on | off
  std::string offload = "auto";                   // never | auto (only where nothing else fits) | always
  double memory_margin = kValidatedMemoryMargin;  // share of GPU memory kept free (memory_margin.h)
  // Sequences per optimizer step over all GPUs (0: not fixed, the config's grad_accum): each candidate then
  // accumulates global_batch / (micro-batch x GPUs) micro-steps, and combinations that do not divide it
  // are not candidates.
  int64_t global_batch = 0;
  // train.optimizer values to compare (fused, foreach, bnb-8bit, ...); empty: the config's own. The bnb-*
  // ones are not candidates with CPU offload (DeepSpeed offloads to its DeepSpeedCPUAdam).
  std::vector<std::string> optimizers;
  size_t jobs = 0;  // worker processes; 0: the CPUs available
  std::string format = "table";
};

// Simulates every candidate and prints the recommendations to stdout in options.format.
void run_recommend(const RecommendOptions& options);

}  // namespace zerosim
