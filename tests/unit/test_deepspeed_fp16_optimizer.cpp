// DeepSpeed's FP16_Optimizer at stage 0 (runtime/fp16/fused_optimizer.py; docs/time-model.md, "Stage 0
// under DeepSpeed"): which runs take it, its bytes per element by hand, and the step op it gives the tiny
// LLaMA of tiny_llama.h (DoRA r = 4 on q and v).
#include <catch2/catch.hpp>

#include "compute_ops.h"
#include "test_support.h"
#include "tiny_llama.h"
#include "workloads/deepspeed_fp16_optimizer.h"
#include "workloads/optimizer_launches.h"
#include "workloads/step_graph.h"
#include "workloads/step_program.h"
#include "workloads/zero3_schedule.h"

using namespace zerosim;
using zerosim::testing::op_named;
using zerosim::testing::TinyLlama;

TEST_CASE("FP16_Optimizer: stage 0 with fp16 always, with bf16 from DeepSpeed 0.17.6 (#7515)", "[fp16opt]") {
  TinyLlama tiny;
  CHECK(fp16_optimizer_applies(tiny.config()));  // bf16-mixed, DeepSpeed 0.19.5 by default
  CHECK_FALSE(fp16_optimizer_applies(tiny.config({{"versions.deepspeed", "0.17.5"}})));  // BF16_Optimizer
  CHECK(fp16_optimizer_applies(tiny.config({{"versions.deepspeed", "0.17.6"}})));
  CHECK(fp16_optimizer_applies(
      tiny.config({{"train.precision", "fp16-mixed"}, {"versions.deepspeed", "0.10.0"}})));
  CHECK_FALSE(fp16_optimizer_applies(tiny.config({{"zero.stage", "1"}})));
  CHECK_FALSE(fp16_optimizer_applies(tiny.config({{"train.engine", "pytorch"}})));
  CHECK_FALSE(fp16_optimizer_applies(tiny.config({{"train.precision", "fp32"}})));
}

TEST_CASE("FP16_Optimizer's step: 70 B per 16-bit gradient element", "[fp16opt]") {
  // The overflow check's float() (2 + 4) and sum (4) = 10; the casts into the flat fp32 copy (2 + 4) and the
  // cat (4 + 4) = 14; the norm (4) and the scaling (4 + 4) = 12; FusedAdam 28; the copy back (4 + 2) = 6.
  // 10 + 14 + 12 + 28 + 6 = 70.
  CHECK(fp16_optimizer_step_bytes_per_element(2) == 70.0);
  // 192 tensors, FusedAdam in one launch: 2·192 + 193 + 3 + 1 + 1 + 192 = 774.
  CHECK(fp16_optimizer_step_kernels(192, 1) == 774);
  TinyLlama tiny;
  const RunConfig c = tiny.config();
  const StepProgram p = build_step_program(c);
  const StepGraph g = build_step_graph(c, p);
  const int64_t n = optimizer_partition_numel(p.modules, 0, 1);
  const ComputeOp& step = op_named(g.ops, "optimizer.adam_step");
  CHECK(step.bytes == 70.0 * static_cast<double>(n));
  // DoRA on 4 linears: lora_A, lora_B and the magnitude each = 12 tensors, each one host read.
  CHECK(step.synced_kernels == 12);
  // The step task waits for the GPU first (CheckOverflow.has_overflow's .item()).
  for (const TaskId v : g.compute_order)
    if (g.graph[v].name == "optimizer.adam_step") CHECK(g.graph[v].host_sync);
}

TEST_CASE("a bitsandbytes client at stage 0 runs under FP16_UnfusedOptimizer: the same check first",
          "[fp16opt]") {
  TinyLlama tiny;
  const RunConfig with = tiny.config({{"train.optimizer", "bnb-8bit"}});
  const RunConfig without = tiny.config({{"train.optimizer", "bnb-8bit"}, {"versions.deepspeed", "0.17.5"}});
  const std::vector<int64_t> tensors(12, 4096);
  const OptimizerStepLaunches a = optimizer_step_launches(with, tensors, {49'152});
  const OptimizerStepLaunches b = optimizer_step_launches(without, tensors, {49'152});
  // 12 trainable tensors: two kernels and one host read each.
  CHECK(a.kernels - b.kernels == 24);
  CHECK(a.synced_kernels - b.synced_kernels == 12);
  CHECK(a.host_sync);
  // bf16: the check's 2 + 4 + 4 = 10 B per element on top of the client's own step.
  CHECK(fp16_optimizer_overflow_check_bytes_per_element(2) == 10.0);
}
