// The host side of the compute ops (workloads/kernel_launches.h, docs/time-model.md "The host that launches
// kernels") and where the engine places an op between the training thread and the GPU
// (sim/engine/host_timeline.h), worked by hand.
#include <catch2/catch.hpp>

#include "sim/engine/comm_model.h"
#include "sim/engine/host_timeline.h"
#include "tiny_llama.h"
#include "workloads/kernel_launches.h"
#include "workloads/step_program.h"

using namespace zerosim;

namespace {
ComputeOp op_of(const std::string& key, Phase phase, int64_t tokens = 2048, int64_t d_in = 4096) {
  ComputeOp op;
  op.op = key;
  op.phase = phase;
  op.tokens = tokens;
  op.d_in = d_in;
  return op;
}
}  // namespace

TEST_CASE("kernels per op: counted from the code each op runs", "[host]") {
  RunConfig c;  // DoRA, flash attention, HF loss
  // LlamaRMSNorm.forward: to(fp32), pow, mean, + eps, rsqrt, mul, to(dtype), mul weight = 8.
  CHECK(kernels_launched(op_of("rmsnorm_fwd", Phase::forward), c) == 8);
  CHECK(kernels_launched(op_of("linear_fwd", Phase::forward), c) == 1);
  // DoRA: lora_result = lora_B(lora_A(x)), 2 GEMMs; LoRA adds the scaling mul and the add into the result.
  CHECK(kernels_launched(op_of("lora_fwd", Phase::forward), c) == 2);
  c.peft.method = PeftMethod::lora;
  CHECK(kernels_launched(op_of("lora_fwd", Phase::forward), c) == 4);
  CHECK(kernels_launched(op_of("lora_bwd", Phase::backward), c) == 6);
  // flash_attn_func and the layout copies; eager attention's matmuls, mask, fp32 softmax and transpose.
  CHECK(kernels_launched(op_of("attention_fwd", Phase::forward), c) == 2);
  c.train.flash_attention = false;
  CHECK(kernels_launched(op_of("attention_fwd", Phase::forward), c) == 7);
  // litgpt's chunked loss: 2048 tokens in 128-token chunks = 16 chunks x 3 kernels = 48.
  c.train.loss = LossImpl::litgpt;
  CHECK(kernels_launched(op_of("chunked_cross_entropy_fwd", Phase::forward), c) == 48);
  // torchtune's 8 chunks x 4 backward kernels = 32.
  c.train.loss = LossImpl::chunked;
  CHECK(kernels_launched(op_of("chunked_cross_entropy_bwd", Phase::backward), c) == 32);
  // Liger: chunks of about hidden-size tokens: 8192 tokens / 4096 = 2 chunks x 3 = 6.
  CHECK(kernels_launched(op_of("fused_linear_ce_fwd", Phase::forward, 8192, 4096), c) == 6);
  // An op zerosim does not list launches one kernel.
  CHECK(kernels_launched(op_of("something_new", Phase::forward), c) == 1);
}

TEST_CASE("host seconds: 33 µs per forward kernel, 4 µs per backward kernel, none with CUDA graphs",
          "[host]") {
  RunConfig c;
  // An RMSNorm forward: 8 kernels x 33 µs = 264 µs; its backward: 12 x 4 µs = 48 µs.
  CHECK(host_issue_seconds(op_of("rmsnorm_fwd", Phase::forward), 8, c) == Approx(264e-6));
  CHECK(host_issue_seconds(op_of("rmsnorm_bwd", Phase::backward), 12, c) == Approx(48e-6));
  // Recompute under checkpointing re-runs the Python forward: forward cost.
  CHECK(host_issue_seconds(op_of("rmsnorm_fwd", Phase::recompute), 8, c) == Approx(264e-6));
  c.train.cuda_graphs = true;
  CHECK(host_issue_seconds(op_of("rmsnorm_fwd", Phase::forward), 8, c) == 0.0);
}

TEST_CASE("launch_op: the GPU waits for launches only when the host is the slower", "[host]") {
  // Host-bound: 10 kernels issued over 80 µs, 20 µs of GPU work (2 µs each). The first kernel is issued at
  // 8 µs; the last at 80 µs and runs 2 µs: the op spans 8..82 µs, 62 µs of it waiting.
  LaunchedOp a = launch_op(0, 0, 80e-6, 10, 20e-6);
  CHECK(a.begin == Approx(8e-6));
  CHECK(a.end == Approx(82e-6));
  CHECK(a.host_end == Approx(80e-6));
  // GPU-bound: the same launches before 1 ms of GPU work: begins at 8 µs, ends at 1.008 ms.
  a = launch_op(0, 0, 80e-6, 10, 1e-3);
  CHECK(a.end == Approx(1.008e-3));
  // The host ahead of a busy GPU (issued by 80 µs, GPU free at 5 ms): no wait at all.
  a = launch_op(0, 5e-3, 80e-6, 10, 1e-3);
  CHECK(a.begin == Approx(5e-3));
  CHECK(a.end == Approx(6e-3));
}

TEST_CASE("launch_op: kernels followed by torch.cuda.synchronize() take turns with the host", "[host]") {
  // 4 kernels, 10 µs of host and 20 µs of GPU each, the last 2 synchronised. The first two run free: issued
  // by 20 µs, the GPU runs them 10..30 and 30..50. The third is issued at 20 + 10 = 30 µs, runs once the GPU
  // is free at 50 until 70, and the host waits for it; the fourth is issued 70..80 and runs 80..100.
  LaunchedOp a = launch_op(0, 0, 40e-6, 4, 80e-6, 2);
  CHECK(a.begin == Approx(10e-6));
  CHECK(a.end == Approx(100e-6));
  CHECK(a.host_end == Approx(100e-6));
  // All synchronised: 4 × (10 + 20) = 120 µs after the host starts at 5 µs (the GPU is free from 0).
  a = launch_op(5e-6, 0, 40e-6, 4, 80e-6, 4);
  CHECK(a.begin == Approx(15e-6));
  CHECK(a.end == Approx(125e-6));
  CHECK(a.host_end == Approx(125e-6));
  // None synchronised: as before (the GPU-bound case above).
  a = launch_op(0, 0, 80e-6, 10, 1e-3, 0);
  CHECK(a.end == Approx(1.008e-3));
}

TEST_CASE("NCCL's CTAs per collective by the node's interconnect", "[overlap]") {
  CHECK(nccl_collective_ctas("nvswitch") == 24);  // nsys of an H100 all-gather (NVIDIA forum t/337991)
  CHECK(nccl_collective_ctas("nvlink-bridge") == 4);
  CHECK(nccl_collective_ctas("pcie") == 2);
}

TEST_CASE("DeepSpeed's gradient hooks count the used parameters: every hook in 0.18.5-0.18.6, once otherwise",
          "[host][launch]") {
  zerosim::testing::TinyLlama tiny;
  // DoRA on q and v: lora_A, lora_B and the magnitude of each, 6 trainable tensors per layer, 12 in all.
  const auto host_s = [&](const std::string& version, const std::string& stage) {
    const StepProgram p =
        build_step_program(tiny.config({{"zero.stage", stage}, {"versions.deepspeed", version}}));
    double s = 0;
    for (const auto& op : p.backward) s += op.host_s;
    return s;
  };
  const double none = host_s("0.18.2", "2");
  // 0.18.5: each of the 12 hooks walks the 12 tensors, 3.5 µs each: 12 · 12 · 3.5 µs = 504 µs.
  CHECK(host_s("0.18.5", "2") - none == Approx(504e-6));
  CHECK(host_s("0.18.6", "3") - host_s("0.18.2", "3") == Approx(504e-6));
  // 0.18.4 and 0.18.7 on: the backward's first hook walks them once, 12 · 3.5 µs = 42 µs.
  CHECK(host_s("0.18.4", "2") - none == Approx(42e-6));
  CHECK(host_s("0.19.5", "1") - host_s("0.18.2", "1") == Approx(42e-6));
  // Stage 0 (no ZeRO optimizer) installs no such hooks.
  CHECK(host_s("0.18.5", "0") == Approx(host_s("0.18.2", "0")));
}
