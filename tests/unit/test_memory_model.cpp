// The per-GPU memory model (docs/memory-model.md; docs/reference/dora-zero.md §1.4, §3, §5): every component
// against hand-worked numbers, per ZeRO stage and data-parallel size N, on LLaMA-2-7B (the seed case)
// and on a tiny LLaMA whose activations can be counted tensor by tensor.
#include <algorithm>
#include <catch2/catch.hpp>

#include "program_ops.h"
#include "test_support.h"
#include "tiny_llama.h"
#include "workloads/memory_model.h"
#include "workloads/step_program.h"
#include "workloads/units.h"
#include "workloads/zero3_schedule.h"

using namespace zerosim;
using zerosim::testing::TinyLlama;

using zerosim::testing::find_op;

namespace {

// The seed case: LLaMA-2-7B, DoRA r=16 on q_proj and v_proj, T = 1·2048, bf16 mixed, one A100-80GB.
const char* kSeed = R"(
model: llama2-7b
peft: {method: dora, r: 16, alpha: 32, dropout: 0.0, target_modules: [q_proj, v_proj]}
train: {micro_batch: 1, seq_len: 2048, grad_accum: 1, activation_checkpointing: false, flash_attention: true, precision: bf16-mixed}
zero: {stage: 0}
cluster: {gpu: a100-80gb-sxm, gpus: 1}
)";

RunConfig seed(int stage, int64_t gpus, std::vector<Override> more = {}) {
  more.push_back({"zero.stage", std::to_string(stage)});
  more.push_back({"cluster.gpus", std::to_string(gpus)});
  return run_config_from_yaml(YAML::Load(kSeed), "seed.yaml", more);
}

// LLaMA-2-7B numbers used throughout (test_model_spec / test_peft_counts derive them):
constexpr int64_t kFrozen = 6'738'415'616;      // Ψf: the whole base model
constexpr int64_t kTrainable = 8'650'752;       // Ψt: DoRA r=16 on q,v
constexpr int64_t kPersistentFrozen = 266'240;  // 2·32 + 1 RMSNorm weights of 4096 (≤ 1e5: never partitioned)

// The tiny LLaMA of tiny_llama.h: every saved tensor can be counted by hand.
using Tiny = TinyLlama;

// Bytes autograd keeps from one decoder layer's forward (or its recompute).
int64_t saved_in_layer(const std::vector<ComputeOp>& ops, int layer, Phase phase) {
  int64_t s = 0;
  for (const auto& op : ops)
    if (op.layer == layer && op.phase == phase) s += op.saved_bytes;
  return s;
}

}  // namespace

// ---- model states, per stage and N -------------------------------------------------------------

TEST_CASE("frozen params: 2Ψf replicated in stages 0-2, ⌈numel/N⌉ per tensor in stage 3",
          "[memory][states]") {
  for (int64_t N : {1, 2, 4, 8}) {
    for (int stage : {0, 1, 2, 3}) {
      INFO("stage " << stage << ", N = " << N);
      const RunConfig c = seed(stage, N);
      const ModelStates s = model_states(c, build_step_program(c));
      if (stage < 3) {
        // 2 B · 6,738,415,616 = 13,476,831,232 whatever N is.
        CHECK(s.frozen_params == 13'476'831'232);
      } else {
        // Partitioned: every linear, the embedding and lm_head (6,738,415,616 − 266,240 = 6,738,149,376
        // elements, each tensor divisible by 8: 4096², 4096·11008 = 2^12·2^8·43, 32000·4096);
        // persistent: the 65 RMSNorm weights (266,240 elements) stay whole on every rank.
        // N=1: 13,476,831,232; N=2: 2·(3,369,074,688 + 266,240) = 6,738,681,856;
        // N=4: 2·(1,684,537,344 + 266,240) = 3,369,607,168; N=8: 2·(842,268,672 + 266,240) = 1,685,069,824
        CHECK(s.frozen_params == 2 * ((kFrozen - kPersistentFrozen) / N + kPersistentFrozen));
      }
    }
  }
  // Spot values of the formula above.
  const RunConfig c8 = seed(3, 8);
  CHECK(model_states(c8, build_step_program(c8)).frozen_params == 1'685'069'824);
}

TEST_CASE("seed claim: stage 3 per-GPU frozen params ≈ 2Ψf/N", "[memory][states][seed]") {
  for (int64_t N : {2, 4, 8}) {
    INFO("N = " << N);
    const RunConfig c = seed(3, N);
    const ModelStates s = model_states(c, build_step_program(c));
    // 2Ψf/N; the persistent norms add 2·266,240·(1 − 1/N) ≤ 465,920 bytes (< 0.1% at N=8: 1,684,603,904).
    const double ideal = 2.0 * static_cast<double>(kFrozen) / static_cast<double>(N);
    CHECK(static_cast<double>(s.frozen_params) == Approx(ideal).epsilon(0.001));
    CHECK(s.frozen_params - static_cast<int64_t>(ideal) <= 465'920);
  }
}

TEST_CASE("trainable params: DoRA r=16 tensors are below the persistence threshold, r=64 A/B are not",
          "[memory][states]") {
  for (int64_t N : {1, 2, 4, 8}) {
    for (int stage : {0, 1, 2, 3}) {
      INFO("stage " << stage << ", N = " << N);
      // DeepSpeed 0.19.1 casts peft's fp32 adapters to bf16 in every stage (module.bfloat16()).
      const RunConfig c = seed(stage, N, {{"versions.deepspeed", "0.19.1"}});
      // r=16: A 16·4096 = 65,536, B 4096·16 = 65,536, m 4096, all ≤ 1e5 → whole on every rank in every
      // stage: 2 B · 8,650,752 = 17,301,504.
      CHECK(model_states(c, build_step_program(c)).trainable_params == 17'301'504);
      // From 0.19.2 a zero.Init model (stage 3) keeps them fp32: 4 B · 8,650,752 = 34,603,008.
      const RunConfig now = seed(stage, N);
      CHECK(model_states(now, build_step_program(now)).trainable_params ==
            (stage == 3 ? 34'603'008 : 17'301'504));
    }
  }
  // r=64: A = B = 64·4096 = 262,144 > 1e5 → partitioned in stage 3; m (4096) stays whole.
  // N=4: 32 layers · 2 modules · (262,144/4 + 262,144/4 + 4096) = 64 · 135,168 = 8,650,752 elements
  //      → 17,301,504 bytes in bf16, 34,603,008 in fp32 (stage 0: 2 · 33,816,576 = 67,633,152).
  const RunConfig z3 = seed(3, 4, {{"peft.r", "64"}, {"versions.deepspeed", "0.19.1"}});
  CHECK(model_states(z3, build_step_program(z3)).trainable_params == 17'301'504);
  const RunConfig z3_fp32 = seed(3, 4, {{"peft.r", "64"}});
  CHECK(model_states(z3_fp32, build_step_program(z3_fp32)).trainable_params == 34'603'008);
  const RunConfig z0 = seed(0, 4, {{"peft.r", "64"}});
  CHECK(model_states(z0, build_step_program(z0)).trainable_params == 67'633'152);
}

TEST_CASE("persistence threshold: tensors with numel ≤ threshold are never partitioned", "[memory][states]") {
  CHECK(zero3_persistent(100'000, 100'000));
  CHECK_FALSE(zero3_persistent(100'001, 100'000));
  // ⌈numel/N⌉: DeepSpeed pads each tensor to a multiple of N.
  CHECK(zero3_partition_numel(10, 4) == 3);  // ⌈2.5⌉
  CHECK(zero3_partition_numel(12, 4) == 3);
  CHECK(zero3_partition_numel(45'088'768, 8) == 5'636'096);  // gate_proj 4096·11008 / 8
  // HF "auto" threshold 10·hidden = 40,960 < 65,536: the r=16 A and B are partitioned, m is not.
  // N=8: 64 modules · (65,536/8 + 65,536/8 + 4096) = 64 · 20,480 = 1,310,720 elements → 2,621,440 bytes
  // in bf16 (DeepSpeed 0.19.1), 5,242,880 in fp32 (0.19.2+ keeps a zero.Init model's adapters fp32).
  const RunConfig c =
      seed(3, 8, {{"zero.stage3_param_persistence_threshold", "40960"}, {"versions.deepspeed", "0.19.1"}});
  CHECK(model_states(c, build_step_program(c)).trainable_params == 2'621'440);
  const RunConfig c_fp32 = seed(3, 8, {{"zero.stage3_param_persistence_threshold", "40960"}});
  CHECK(model_states(c_fp32, build_step_program(c_fp32)).trainable_params == 5'242'880);
}

TEST_CASE("gradients: full bf16 in stages 0-1 during backward, 2Ψt/N resident in stages 1-3",
          "[memory][states]") {
  for (int64_t N : {1, 2, 4, 8}) {
    INFO("N = " << N);
    // Ψt = 8,650,752 is divisible by 8 (and every adapter tensor is), so ⌈Ψt/N⌉ = Ψt/N.
    const int64_t partition =
        2 * kTrainable / N;  // N=1: 17,301,504; 2: 8,650,752; 4: 4,325,376; 8: 2,162,688
    const RunConfig c0 = seed(0, N), c1 = seed(1, N), c2 = seed(2, N), c3 = seed(3, N);
    const ModelStates s0 = model_states(c0, build_step_program(c0));
    const ModelStates s1 = model_states(c1, build_step_program(c1));
    const ModelStates s2 = model_states(c2, build_step_program(c2));
    const ModelStates s3 = model_states(c3, build_step_program(c3));
    // Stage 0: bf16 .grad of every trainable param, allocated as backward reaches it: 2·Ψt.
    CHECK(s0.gradients == 0);
    CHECK(s0.gradients_in_backward == 17'301'504);
    // Stage 1: full bf16 .grad during backward plus this rank's partition (grads_in_partition).
    CHECK(s1.gradients == partition);
    CHECK(s1.gradients_in_backward == 17'301'504);
    // Stage 2: only the partition.
    CHECK(s2.gradients == partition);
    CHECK(s2.gradients_in_backward == 0);
    // Stage 3: grad_partitions_flat_buffer, Σ⌈numel/N⌉ per tensor.
    CHECK(s3.gradients == partition);
    CHECK(s3.gradients_in_backward == 0);
  }
  // grad_accum > 1: gradients stay allocated across micro-steps (stage 0: 2Ψt resident).
  const RunConfig ga = seed(0, 1, {{"train.grad_accum", "4"}});
  const ModelStates s = model_states(ga, build_step_program(ga));
  CHECK(s.gradients == 17'301'504);
  CHECK(s.gradients_in_backward == 0);
}

TEST_CASE("optimizer states: 12 B/param mixed, 4 B/param pure bf16, /N in stages 1-3", "[memory][states]") {
  for (int64_t N : {1, 2, 4, 8}) {
    for (int stage : {0, 1, 2, 3}) {
      INFO("stage " << stage << ", N = " << N);
      const int64_t numel = stage == 0 ? kTrainable : kTrainable / N;  // 8,650,752 / {1,2,4,8}
      // DeepSpeed 0.19.1: the adapters are bf16 in every stage (test_framework_behaviour.cpp has 0.19.2+).
      const RunConfig mixed = seed(stage, N, {{"versions.deepspeed", "0.19.1"}});
      const ModelStates m = model_states(mixed, build_step_program(mixed));
      // fp32 master 4 + Adam m 4 + v 4 = 12 B: stage 0 12·8,650,752 = 103,809,024; N=8 stages 1-3 12,976,128
      CHECK(m.optimizer_states == 12 * numel);
      // step() materialises fp32 gradients of the partition: 4 B per element; ZeRO-3 flattens the bf16
      // gradients first and casts the flat copy, both live at once (6 B; the 8.65M elements fit one 1e9
      // sub-group).
      CHECK(m.optimizer_temporaries == (stage == 3 ? 6 : 4) * numel);
      const RunConfig pure = seed(stage, N, {{"train.precision", "bf16-pure"}});
      const ModelStates p = model_states(pure, build_step_program(pure));
      // bf16 m and v: 4 B; no fp32 master, no fp32 gradients.
      CHECK(p.optimizer_states == 4 * numel);
      CHECK(p.optimizer_temporaries == 0);
    }
  }
  const RunConfig c = seed(0, 1);
  CHECK(model_states(c, build_step_program(c)).optimizer_states == 103'809'024);
}

TEST_CASE("ZeRO-3 steps the optimizer per sub-group: the largest bounds the fp32 gradients",
          "[memory][states]") {
  // Tensors in order, partition elements per rank at N = 4: 10, 10, 30, 5 (+ a bias of 2), 20.
  std::vector<ParamModule> modules = {
      {"a", ModuleKind::linear, 0, 0, 40, 40, true}, {"frozen", ModuleKind::linear, 0, 1, 400, 400, false},
      {"b", ModuleKind::linear, 0, 2, 40, 40, true}, {"c", ModuleKind::linear, 0, 3, 120, 120, true},
      {"d", ModuleKind::linear, 0, 4, 28, 20, true}, {"e", ModuleKind::linear, 0, 5, 80, 80, true}};
  // sub_group_size 25: 10+10+30 = 50 closes (>= 25), 5+2+20 = 27 closes: largest 50.
  CHECK(largest_optimizer_sub_group(modules, 4, 25) == 50);
  // 0: every tensor its own group: the largest tensor's partition, 30.
  CHECK(largest_optimizer_sub_group(modules, 4, 0) == 30);
  // DeepSpeed's 1e9: one group, every trainable partition: 10+10+30+5+2+20 = 77.
  CHECK(largest_optimizer_sub_group(modules, 4, 1'000'000'000) == 77);
  // Through the memory model: the seed's DoRA on 8 GPUs with one-tensor sub-groups steps its largest
  // adapter tensor alone, far below the whole partition.
  const RunConfig one = seed(3, 8, {{"versions.deepspeed", "0.19.1"}});
  const RunConfig per_tensor = seed(3, 8, {{"versions.deepspeed", "0.19.1"}, {"zero.sub_group_size", "0"}});
  const int64_t whole = model_states(one, build_step_program(one)).optimizer_temporaries;
  const int64_t smallest = model_states(per_tensor, build_step_program(per_tensor)).optimizer_temporaries;
  CHECK(whole == 6 * (kTrainable / 8));
  CHECK(smallest < whole / 10);
}

TEST_CASE("IPG bucket: reduce_bucket_size·2 B whatever Ψt is, doubled by overlap_comm in stages 1-2",
          "[memory][states]") {
  // DeepSpeed default reduce_bucket_size 5e8 elements · 2 B (bf16) = 1,000,000,000 bytes.
  for (int64_t N : {1, 2, 4, 8}) {
    INFO("N = " << N);
    const RunConfig c0 = seed(0, N), c1 = seed(1, N), c2 = seed(2, N), c3 = seed(3, N);
    const ModelStates s0 = model_states(c0, build_step_program(c0));
    const ModelStates s1 = model_states(c1, build_step_program(c1));
    const ModelStates s2 = model_states(c2, build_step_program(c2));
    const ModelStates s3 = model_states(c3, build_step_program(c3));
    // Stage 0: no IPG bucket; the all-reduce flattens min(Ψt, 5e8) = 8,650,752 elements: 17,301,504 bytes.
    CHECK(s0.backward_buffers == 0);
    CHECK(s0.persistent_buffers == 0);
    CHECK(s0.boundary_buffers == 17'301'504);
    // Stages 1-2: allocated in backward(); overlap_comm defaults to false there.
    CHECK(s1.backward_buffers == 1'000'000'000);
    CHECK(s2.backward_buffers == 1'000'000'000);
    CHECK(s1.persistent_buffers == 0);
    // Stage 3: one persistent bucket (not double-buffered even though overlap_comm defaults to true).
    CHECK(s3.persistent_buffers == 1'000'000'000);
    CHECK(s3.backward_buffers == 0);
  }
  const RunConfig overlap = seed(2, 4, {{"zero.overlap_comm", "true"}});
  CHECK(model_states(overlap, build_step_program(overlap)).backward_buffers == 2'000'000'000);  // 2 · 1e9
  const RunConfig small = seed(1, 4, {{"zero.reduce_bucket_size", "16777216"}});         // HF auto: 4096²
  CHECK(model_states(small, build_step_program(small)).backward_buffers == 33'554'432);  // 2 · 4096²
  const RunConfig z3small = seed(3, 4, {{"zero.reduce_bucket_size", "1000000"}});
  CHECK(model_states(z3small, build_step_program(z3small)).persistent_buffers == 2'000'000);  // 2 · 1e6
}

TEST_CASE("seed claim: with DoRA, stages 1/2 save < 0.2 GiB of optimizer state and add a ≈0.93 GiB bucket",
          "[memory][seed]") {
  for (int64_t N : {2, 4, 8}) {
    INFO("N = " << N);
    const RunConfig c0 = seed(0, N), c1 = seed(1, N), c2 = seed(2, N);
    const ModelStates s0 = model_states(c0, build_step_program(c0));
    const ModelStates s1 = model_states(c1, build_step_program(c1));
    const ModelStates s2 = model_states(c2, build_step_program(c2));
    // Saving = 12·Ψt·(1 − 1/N) ≤ 12 · 8,650,752 · 7/8 = 90,832,896 B = 0.085 GiB < 0.2 GiB.
    CHECK(s0.optimizer_states - s1.optimizer_states < kGiB / 5);
    CHECK(s0.optimizer_states - s2.optimizer_states < kGiB / 5);
    CHECK(s0.optimizer_states - s1.optimizer_states == 12 * kTrainable - 12 * kTrainable / N);
    // The IPG bucket: 1e9 B = 0.931 GiB.
    CHECK(static_cast<double>(s1.backward_buffers) / kGiB == Approx(0.93).margin(0.005));
    // Net: stage 1 and 2 peaks are higher than stage 0's.
    CHECK(predict_memory(c1).peak_bytes > predict_memory(c0).peak_bytes);
    CHECK(predict_memory(c2).peak_bytes > predict_memory(c0).peak_bytes);
  }
}

TEST_CASE("CPU offload removes optimizer states (and stage-3 partitions) from the GPU", "[memory][states]") {
  const RunConfig c = seed(2, 4, {{"zero.offload_optimizer", "cpu"}});
  const ModelStates s = model_states(c, build_step_program(c));
  CHECK(s.optimizer_states == 0);
  CHECK(s.optimizer_temporaries == 0);
  // Parameter offload (stage 3): partitioned frozen tensors leave the GPU; the 266,240 persistent norm
  // elements stay: 2 · 266,240 = 532,480 bytes.
  const RunConfig p = seed(3, 4, {{"zero.offload_param", "cpu"}, {"zero.offload_optimizer", "cpu"}});
  CHECK(model_states(p, build_step_program(p)).frozen_params == 532'480);
}

// ---- activations, per operator, on the tiny model ----------------------------------------------

TEST_CASE("DoRA activations per layer, flash attention (tiny model, T = 32)", "[memory][activations]") {
  Tiny tiny;
  const RunConfig c = tiny.config();
  REQUIRE(c.train.tokens() == 32);
  const StepProgram p = build_step_program(c);
  // Layer 0: its input (the frozen embedding's output) does not require grad.
  //   input RMSNorm: nothing (no input grad, frozen weight)                                   0
  //   x1 = norm output, kept once by lora_A of q and v: 2 B · T·h = 2·32·64                4,096
  //   q_proj (64→64) DoRA: h = x·Aᵀ 2·T·r = 2·32·4 = 256; base_result + lora_result
  //     2·2·T·d_out = 4·32·64 = 8,192; s, n and m vectors 3·2·d_out = 384                  8,832
  //   k_proj frozen, input without grad: nothing                                              0
  //   v_proj (64→32) DoRA: 256 + 4·32·32 = 4,096 + 3·2·32 = 192                             4,544
  //   flash attention: q, k, v, out 2·T·(2·64 + 2·32) = 2·32·192 = 12,288; lse 4·T·heads = 512
  //                                                                                        12,800
  //   o_proj frozen: keeps only W (a reference)                                               0
  //   post-attention RMSNorm (input requires grad): fp32 x 4·T·h = 8,192 + rsqrt 4·T = 128  8,320
  //   gate/up frozen: nothing; SwiGLU keeps gate, silu(gate), up: 3·2·T·i = 6·32·128       24,576
  //   down frozen: nothing
  //   layer 0 total: 4,096 + 8,832 + 4,544 + 12,800 + 8,320 + 24,576                      = 63,168
  CHECK(saved_in_layer(p.forward, 0, Phase::forward) == 63'168);
  // Layer 1: the same plus its input RMSNorm, whose input now requires grad: + 8,320     = 71,488
  CHECK(saved_in_layer(p.forward, 1, Phase::forward) == 71'488);
  // Final norm 8,320 (fp32 input + rsqrt); lm_head is frozen and keeps nothing.
  CHECK(find_op(p, "norm.fwd").saved_bytes == 8'320);
  CHECK(find_op(p, "lm_head.linear_fwd").saved_bytes == 0);
}

TEST_CASE("LoRA keeps 2·T·d_out fewer bytes per adapted module than DoRA", "[memory][activations]") {
  Tiny tiny;
  const StepProgram p = build_step_program(tiny.config({{"peft.method", "lora"}}));
  // Layer 0: 4,096 (x1) + 256 (q: h) + 256 (v: h) + 12,800 + 8,320 + 24,576 = 50,304
  CHECK(saved_in_layer(p.forward, 0, Phase::forward) == 50'304);
  // Layer 1: + 8,320 (input norm) = 58,624
  CHECK(saved_in_layer(p.forward, 1, Phase::forward) == 58'624);
  // DoRA − LoRA per layer = q (8,192 + 384) + v (4,096 + 192) = 12,864 = 63,168 − 50,304
}

TEST_CASE("full fine-tuning keeps every linear's input; frozen linears do not", "[memory][activations]") {
  Tiny tiny;
  const StepProgram p = build_step_program(tiny.config({{"peft.method", "none"}}));
  // Every layer (the embedding is trainable, so layer 0's input requires grad too):
  //   input RMSNorm with a trainable weight: fp32 x 8,192 + rsqrt 128 + bf16 normalised x 2·T·h 4,096
  //                                                                                        12,416
  //   x1 for q, k, v (one tensor): 4,096; attention 12,800 (o_proj's input is flash's saved out)
  //   post-attention RMSNorm 12,416; x2 for gate, up 4,096; SwiGLU 24,576;
  //   down's input silu(gate)·up: 2·T·i = 2·32·128 = 8,192
  //   total: 12,416 + 4,096 + 12,800 + 12,416 + 4,096 + 24,576 + 8,192 = 78,592
  CHECK(saved_in_layer(p.forward, 0, Phase::forward) == 78'592);
  CHECK(saved_in_layer(p.forward, 1, Phase::forward) == 78'592);
  // lm_head's input is the final norm's output; the final norm keeps fp32 x, rsqrt and bf16 x: 12,416.
  CHECK(find_op(p, "norm.fwd").saved_bytes == 12'416);
}

TEST_CASE("eager attention keeps the s×s probabilities in fp32 and bf16", "[memory][activations]") {
  Tiny tiny;
  const StepProgram p = build_step_program(tiny.config({{"train.flash_attention", "false"}}));
  // probs = b·heads·s² = 1·4·32·32 = 4,096 elements; softmax keeps fp32 (4 B), the matmul with V the
  // bf16 copy (2 B): 6·4,096 = 24,576; q, repeat_kv(k), repeat_kv(v): 3·2·T·(heads·head_dim) = 12,288
  // → 36,864 instead of flash's 12,800.
  CHECK(find_op(p, "L1.attention_fwd").saved_bytes == 36'864);
  // Layer 1: 71,488 − 12,800 + 36,864 = 95,552
  CHECK(saved_in_layer(p.forward, 1, Phase::forward) == 95'552);
}

TEST_CASE("an adapter on down_proj alone keeps down's input even in the first layer",
          "[memory][activations]") {
  // lora_A of down_proj saves its input x (T×i) for dA = dhᵀ·x whether or not x requires grad; in
  // layer 0 nothing upstream requires grad (frozen embedding, no attention adapter). Same for o_proj alone.
  Tiny tiny;
  const StepProgram p =
      build_step_program(tiny.config({{"peft.method", "lora"}, {"peft.target_modules", "[down_proj]"}}));
  // Layer 0: only down's LoRA: input 2·T·i = 2·32·128 = 8,192 + h 2·T·r = 256           = 8,448
  CHECK(saved_in_layer(p.forward, 0, Phase::forward) == 8'448);
  const StepProgram o =
      build_step_program(tiny.config({{"peft.method", "lora"}, {"peft.target_modules", "[o_proj]"}}));
  // Layer 0: only o's LoRA: input (the attention output) 2·T·q_dim = 2·32·64 = 4,096 + h 256,
  // then everything downstream requires grad: post-attention norm 8,320 + SwiGLU 24,576   = 37,248
  CHECK(saved_in_layer(o.forward, 0, Phase::forward) == 37'248);
}

TEST_CASE("activation checkpointing keeps the layer input; the recompute rebuilds the saved set",
          "[memory][activations][checkpointing]") {
  Tiny tiny;
  const StepProgram p = build_step_program(tiny.config({{"train.activation_checkpointing", "true"}}));
  for (int layer : {0, 1}) {
    INFO("layer " << layer);
    // Forward keeps only the checkpoint, the layer input: 2·T·h = 2·32·64 = 4,096.
    CHECK(saved_in_layer(p.forward, layer, Phase::forward) == 4'096);
    // The recompute (input grads enabled by HF for checkpointing, so layer 0 looks like layer 1)
    // keeps the whole no-checkpoint set of a layer whose input requires grad: 71,488.
    CHECK(saved_in_layer(p.backward, layer, Phase::recompute) == 71'488);
  }
  CHECK(p.checkpoint_bytes_per_layer == 4'096);
  // Approximation documented in docs/memory-model.md: during the checkpointed forward each op holds its
  // would-be-saved tensors for its own lifetime, e.g. L1.attention_fwd: 12,800 bytes transient.
  const ComputeOp& at = find_op(p, "L1.attention_fwd");
  CHECK(at.saved_bytes == 0);
  CHECK(at.transient_bytes >= 12'800);
  // The DoRA weight-norm temporaries run again in the recompute.
  int norms = 0;
  for (const auto& op : p.backward)
    if (op.op == "dora_weight_norm" && op.phase == Phase::recompute) ++norms;
  CHECK(norms == 4);  // 2 layers · (q, v)
}

// ---- temporaries: DoRA weight norm, logits and loss -----------------------------------------------

TEST_CASE("DoRA weight-norm transient: 2·(d_in² + d_in·r + 3·d_in·d_out) bytes", "[memory][temporaries]") {
  // LLaMA-2-7B down_proj 11008→4096, r=16:
  // 11008² = 121,176,064; 11008·16 = 176,128; 3·11008·4096 = 135,266,304 → 256,618,496 elements
  // · 2 B = 513,236,992 B = 489.46 MiB (reference §1.4: 489 MiB)
  CHECK(dora_weight_norm_transient_bytes(11008, 4096, 16) == 513'236'992);
  CHECK(static_cast<double>(dora_weight_norm_transient_bytes(11008, 4096, 16)) / kMiB ==
        Approx(489.46).margin(0.01));
  // q_proj 4096→4096, r=16: 2·(16,777,216 + 65,536 + 50,331,648) = 134,348,800 B = 128.1 MiB (table: 128 MiB)
  CHECK(dora_weight_norm_transient_bytes(4096, 4096, 16) == 134'348'800);
  // gate_proj 4096→11008: 2·(16,777,216 + 65,536 + 135,266,304) = 304,218,112 B = 290.1 MiB (table: 290 MiB)
  CHECK(dora_weight_norm_transient_bytes(4096, 11008, 16) == 304'218'112);

  // In the step program: one per adapted module per forward, freed when the op ends.
  const RunConfig c = seed(0, 1);
  const StepProgram p = build_step_program(c);
  const ComputeOp& wn = find_op(p, "L5.q_proj.dora_weight_norm");
  CHECK(wn.transient_bytes == 134'348'800);
  CHECK(wn.saved_bytes == 0);
  // Tiny model q (64→64, r=4): 2·(4,096 + 256 + 12,288) = 33,280; v (64→32): 2·(4,096 + 256 + 6,144) = 20,992
  Tiny tiny;
  const StepProgram t = build_step_program(tiny.config());
  CHECK(find_op(t, "L0.q_proj.dora_weight_norm").transient_bytes == 33'280);
  CHECK(find_op(t, "L0.v_proj.dora_weight_norm").transient_bytes == 20'992);
}

TEST_CASE("logits and loss: HF ForCausalLMLoss upcasts the logits to fp32", "[memory][temporaries]") {
  // Seed: T = 2048, V = 32000 → T·V = 65,536,000 elements.
  const StepProgram p = build_step_program(seed(0, 1));
  const ComputeOp& ce = find_op(p, "loss.cross_entropy_fwd");
  // log_softmax keeps its fp32 output for backward: 4·T·V = 262,144,000 B (250 MiB)
  CHECK(ce.saved_bytes == 262'144'000);
  // Live only during the loss: bf16 logits 2·T·V + their fp32 copy 4·T·V = 393,216,000 B (375 MiB)
  CHECK(ce.transient_bytes == 393'216'000);
  // Backward: fp32 grad of the log-softmax output and of its input, 8·T·V = 524,288,000 B (500 MiB)
  const ComputeOp& ceb = find_op(p, "loss.cross_entropy_bwd");
  CHECK(ceb.transient_bytes == 524'288'000);
  CHECK(ceb.releases_bytes == 262'144'000);
  // As separate tensors (what the caching-allocator replay allocates): bf16 logits 2·T·V and their fp32
  // copy; the two fp32 gradients.
  CHECK(transient_allocations(ce) == std::vector<int64_t>{131'072'000, 262'144'000});
  CHECK(transient_allocations(ceb) == std::vector<int64_t>{262'144'000, 262'144'000});
  CHECK(saved_allocations(ce) == std::vector<int64_t>{262'144'000});
}

// ---- the walk: peak, breakdown, verdict ----------------------------------------------------------

TEST_CASE("tiny model, stage 0: the whole peak by hand", "[memory][peak]") {
  Tiny tiny;
  const RunConfig c = tiny.config();
  const MemoryResult m = predict_memory(c);
  // Parameters: embed 100·64 = 6,400; per layer 36,992 (test_model_spec); final norm 64; lm_head 6,400
  //   → Ψf = 6,400 + 2·36,992 + 64 + 6,400 = 86,848
  // DoRA r=4: q (64→64) 4·64 + 64·4 + 64 = 576; v (64→32) 4·64 + 32·4 + 32 = 416 → Ψt = 2·992 = 1,984
  // Static: frozen 2·86,848 = 173,696; trainable 2·1,984 = 3,968; Adam 12·1,984 = 23,808 → 201,472
  CHECK(m.states.frozen_params == 173'696);
  CHECK(m.states.trainable_params == 3'968);
  CHECK(m.states.optimizer_states == 23'808);
  // Activations at the loss: layers 63,168 + 71,488, final norm 8,320, log-softmax 4·T·V = 4·32·100 = 12,800
  //   → 155,776. The largest live set is the loss backward: + fp32 grads 8·T·V = 25,600 temporaries.
  //   (Loss forward: 155,776 + 6·T·V 19,200 = 174,976 < 181,376; gradients of the adapters have not been
  //   allocated yet — backward has not reached them.)
  CHECK(m.peak_at == "loss.cross_entropy_bwd");
  CHECK(m.breakdown[MemComponent::activations] == 155'776);
  CHECK(m.breakdown[MemComponent::temporaries] == 25'600);
  CHECK(m.breakdown[MemComponent::gradients] == 0);
  CHECK(m.breakdown[MemComponent::buffers] == 0);
  // Allocated: 201,472 + 155,776 + 25,600 = 382,848
  CHECK(m.peak_allocated_bytes == 382'848);
  // Reserved, from the caching-allocator replay: every tensor is at most 1 MiB (the largest, the fp32 loss
  // gradients, is 25,600 B), so all come from the small pool's 2 MiB segments; the largest live set, even
  // with every tensor rounded up to 512 B, is far below 2 MiB and freed blocks coalesce, so one segment
  // serves the whole run: reserved 2,097,152, fragmentation 2,097,152 − 382,848 = 1,714,304.
  CHECK(m.peak_reserved_bytes == 2'097'152);
  CHECK(m.breakdown[MemComponent::fragmentation] == 1'714'304);
  // Runtime: CUDA context of a100-80gb-sxm in platforms/gpus.yaml, 512 MiB = 536,870,912; no NCCL on 1 GPU.
  CHECK(m.breakdown[MemComponent::runtime_overhead] == 536'870'912);
  // peak_bytes = 2,097,152 + 536,870,912 = 538,968,064
  CHECK(m.peak_bytes == 538'968'064);
  CHECK(m.peak_bytes == m.breakdown.total());

  SECTION("a fixed memory.fragmentation replaces the replay: 0.10 of the dynamic part") {
    const MemoryResult f = predict_memory(tiny.config({{"memory.fragmentation", "0.10"}}));
    CHECK(f.peak_allocated_bytes == 382'848);  // the live set does not depend on it
    // 0.1 · (155,776 + 25,600) = 18,137.6 → 18,138
    CHECK(f.breakdown[MemComponent::fragmentation] == 18'138);
    CHECK(f.peak_reserved_bytes == 382'848 + 18'138);
    CHECK(f.peak_bytes == 382'848 + 18'138 + 536'870'912);
  }
}

TEST_CASE("runtime overhead: CUDA context per GPU, + 512 MiB NCCL buffers when N > 1", "[memory][runtime]") {
  CHECK(default_nccl_buffer_bytes(1) == 0);
  CHECK(default_nccl_buffer_bytes(2) == 536'870'912);  // 512 · 1,048,576
  CHECK(default_nccl_buffer_bytes(8) == 536'870'912);
  // a100-80gb-sxm: 512 MiB context; N=4: 512 + 512 MiB = 1,073,741,824
  CHECK(runtime_overhead_bytes(seed(2, 4)) == 1'073'741'824);
  CHECK(runtime_overhead_bytes(seed(2, 1)) == 536'870'912);
  // rtx-3090: 384 MiB context = 402,653,184
  CHECK(runtime_overhead_bytes(seed(0, 1, {{"cluster.gpu", "rtx-3090"}})) == 402'653'184);
  // Documented overrides (GiB): 0.25 + 0.75 → 268,435,456 + 805,306,368 = 1,073,741,824
  CHECK(runtime_overhead_bytes(
            seed(0, 2, {{"memory.cuda_context_gib", "0.25"}, {"memory.nccl_buffers_gib", "0.75"}})) ==
        1'073'741'824);
}

TEST_CASE("the breakdown sums to peak_bytes for every stage and N", "[memory][peak]") {
  for (int64_t N : {1, 2, 4, 8}) {
    for (int stage : {0, 1, 2, 3}) {
      INFO("stage " << stage << ", N = " << N);
      const MemoryResult m = predict_memory(seed(stage, N));
      CHECK(m.breakdown.total() == m.peak_bytes);
      CHECK(m.peak_bytes == m.peak_reserved_bytes + m.breakdown[MemComponent::runtime_overhead]);
      CHECK(m.peak_reserved_bytes == m.peak_allocated_bytes + m.breakdown[MemComponent::fragmentation]);
      // Reserved is a sum of cudaMalloc segments, each a multiple of 2 MiB, and at least the live set.
      CHECK(m.peak_reserved_bytes % 2'097'152 == 0);
      CHECK(m.breakdown[MemComponent::fragmentation] >= 0);
      // Every release of the step program matched saved tensors, and the 80 GB card never ran out.
      CHECK(m.unmatched_release_bytes == 0);
      CHECK(m.allocator_ooms == 0);
      // Static states are all in the breakdown at the peak.
      CHECK(m.breakdown[MemComponent::frozen_params] == m.states.frozen_params);
      CHECK(m.breakdown[MemComponent::optimizer_states] == m.states.optimizer_states);
      CHECK(m.fits == (m.peak_bytes <= m.capacity_bytes));
    }
  }
}

TEST_CASE("the peak is a walk over the step, not a sum of maxima", "[memory][peak]") {
  Tiny tiny;
  const RunConfig c = tiny.config();
  const StepProgram p = build_step_program(c);
  const MemoryResult m = predict_memory(c, p);
  int64_t all_saved = 0, max_transient = 0;
  for (const auto* list : {&p.forward, &p.backward})
    for (const auto& op : *list) {
      all_saved += op.saved_bytes;
      max_transient = std::max(max_transient, op.transient_bytes);
    }
  // Sum of maxima: static 201,472 + every saved tensor 155,776 + the largest transient (the q weight norm,
  // 33,280) + gradients 3,968 + all-reduce bucket 3,968 + fp32 grads at step() 4·1,984 = 7,936 = 406,400.
  CHECK(all_saved == 155'776);
  CHECK(max_transient == 33'280);
  const int64_t sum_of_maxima = 201'472 + all_saved + max_transient + m.states.gradients_in_backward +
                                m.states.boundary_buffers + m.states.optimizer_temporaries;
  CHECK(sum_of_maxima == 406'400);
  // The walk: the weight norm runs in forward when few activations exist, the optimizer after they are
  // freed → 382,848, strictly below.
  CHECK(m.peak_allocated_bytes <= sum_of_maxima);
  CHECK(m.peak_allocated_bytes < sum_of_maxima);

  // Seed case, stage 0: the same inequality at scale.
  const RunConfig s = seed(0, 1);
  const MemoryResult ms = predict_memory(s);
  const int64_t static_bytes =
      ms.states.frozen_params + ms.states.trainable_params + ms.states.optimizer_states;
  CHECK(ms.peak_allocated_bytes <
        static_bytes + ms.breakdown[MemComponent::activations] + ms.breakdown[MemComponent::temporaries] +
            ms.states.gradients_in_backward + ms.states.optimizer_temporaries + ms.states.boundary_buffers);
}

TEST_CASE("ZeRO-3 gathers nothing for a model whose tensors are all persistent", "[memory][zero3]") {
  Tiny tiny;
  // Every tiny tensor (≤ 6,400 elements) is below the 1e5 threshold: stage 3 on 2 GPUs partitions only
  // the gradients and optimizer states; the peak has the stage-0 activations and temporaries.
  // DeepSpeed 0.19.3 with a model built outside zero.Init: F.linear is not replaced and the adapters are
  // cast to bf16, so only the gathers differ from stage 0 (the linear wrapper: "ZeRO-3 keeps the input of
  // every linear ...").
  const MemoryResult z0 = predict_memory(tiny.config());
  const MemoryResult z3 = predict_memory(tiny.config({{"zero.stage", "3"},
                                                      {"cluster.gpus", "2"},
                                                      {"versions.deepspeed", "0.19.3"},
                                                      {"zero.zero3_init", "false"}}));
  CHECK(z3.states.frozen_params == 173'696);    // 2 · 86,848, whole
  CHECK(z3.states.optimizer_states == 11'904);  // 12 · 1,984 / 2
  CHECK(z3.breakdown[MemComponent::temporaries] == z0.breakdown[MemComponent::temporaries]);
  CHECK(z3.breakdown[MemComponent::activations] == z0.breakdown[MemComponent::activations]);
  // With threshold 0 every tensor is partitioned: frozen 2·86,848/2 = 86,848 bytes per rank.
  const RunConfig all = tiny.config(
      {{"zero.stage", "3"}, {"cluster.gpus", "2"}, {"zero.stage3_param_persistence_threshold", "0"}});
  CHECK(model_states(all, build_step_program(all)).frozen_params == 86'848);
  // ...and the gathered working set shows up as temporaries: at the loss backward lm_head (6,400
  // elements, 12,800 bytes) is either still gathered or prefetched, so temporaries ≥ 25,600.
  CHECK(predict_memory(all).breakdown[MemComponent::temporaries] >= 25'600);
}

TEST_CASE("fits / OOM verdict against the GPU's capacity", "[memory][verdict]") {
  // Seed on one A100-80GB: fits. Capacity 79.15 GiB = round(79.15 · 2^30) = 84,986,665,370 bytes.
  const MemoryResult a100 = predict_memory(seed(0, 1));
  CHECK(a100.capacity_bytes == 84'986'665'370);
  CHECK(a100.fits);
  // Full fine-tuning of 7B on an RTX 3090 (23.69 GiB = 25,436,943,811 bytes): 16 B/param alone is
  // 16 · 6,738,415,616 = 107.8 GB → out of memory.
  const MemoryResult full =
      predict_memory(seed(0, 1, {{"peft.method", "none"}, {"cluster.gpu", "rtx-3090"}}));
  CHECK(full.capacity_bytes == 25'436'943'811);
  CHECK(full.peak_bytes > 16 * kFrozen);
  CHECK_FALSE(full.fits);
}

TEST_CASE("Adam's bytes per parameter follow the implementation", "[optimizer]") {
  // Fused, mixed: bf16 grad read 2 + fp32 grad write 4 + fp32 master/m/v read+write 24 + bf16 param write 2.
  CHECK(adam_step_bytes_per_param(Precision::bf16_mixed, OptimizerImpl::fused) == 32.0);
  // Fused, pure bf16: read g, p, m, v (8) + write p, m, v (6).
  CHECK(adam_step_bytes_per_param(Precision::bf16_pure, OptimizerImpl::fused) == 14.0);
  // foreach: 4p + 12e + 2g; pure bf16 p = e = g = 2: 8 + 24 + 4 = 36.
  CHECK(adam_step_bytes_per_param(Precision::bf16_pure, OptimizerImpl::foreach) == 36.0);
  // foreach, mixed: p = e = g = 4: 16 + 48 + 8 = 72, + grad copy 6 + param copy 6 = 84.
  CHECK(adam_step_bytes_per_param(Precision::bf16_mixed, OptimizerImpl::foreach) == 84.0);
}

// ---- reserved memory: the caching-allocator replay -------------------------------------------------

TEST_CASE("the seed's reserved memory comes from the caching-allocator replay", "[memory][allocator]") {
  const MemoryResult m = predict_memory(seed(0, 1));
  // The live set is the walk's (docs/memory-model.md §7): the replay does not change peak_allocated.
  CHECK(m.peak_allocated_bytes == 25'706'897'408);
  CHECK(m.peak_at == "loss.cross_entropy_bwd");
  // The loss forward's transient bf16 logits (2·T·V = 131,072,000 B) and their fp32 copy (4·T·V =
  // 262,144,000 B), each its own segment, are freed before the loss backward allocates its two fp32
  // gradients of 4·T·V: the first takes the cached fp32 block, the second needs a new segment, and the
  // 125 MiB bf16 block stays cached at the peak. Reserved exceeds allocated by at least it.
  CHECK(m.breakdown[MemComponent::fragmentation] >= 131'072'000);
  CHECK(m.peak_reserved_bytes == m.peak_allocated_bytes + m.breakdown[MemComponent::fragmentation]);
  CHECK(m.allocator_retries == 0);
  CHECK(m.unmatched_release_bytes == 0);

  SECTION(
      "expandable segments grow one mapping instead: less than one 20 MiB page per pool above allocated") {
    const MemoryResult e = predict_memory(seed(0, 1, {{"memory.allocator.expandable_segments", "true"}}));
    CHECK(e.peak_allocated_bytes == m.peak_allocated_bytes);
    CHECK(e.peak_reserved_bytes < m.peak_reserved_bytes);
    CHECK(e.breakdown[MemComponent::fragmentation] < 2 * 20'971'520);
  }
  SECTION("a fixed memory.fragmentation keeps the live set and replaces only the reserved part") {
    const MemoryResult f = predict_memory(seed(0, 1, {{"memory.fragmentation", "0.1"}}));
    CHECK(f.peak_allocated_bytes == m.peak_allocated_bytes);
    // 0.1 · (activations 11,584,667,648 + temporaries 524,288,000) = 1,210,895,564.8 → 1,210,895,565
    CHECK(f.breakdown[MemComponent::fragmentation] == 1'210'895'565);
  }
}

TEST_CASE("ZeRO-3's gathered parameters are cached on DeepSpeed's all-gather stream, apart from activations",
          "[memory][allocator][zero3]") {
  // DeepSpeed allocates each gathered copy under its __allgather_stream (partitioned_param_coordinator.py
  // __all_gather_params_), so PyTorch caches its blocks for that stream alone.
  SECTION("tiny model by hand: one 2 MiB small-pool segment per stream") {
    Tiny tiny;
    // Threshold 0: every tensor is partitioned and gathered; the largest gathered copy, lm_head's, is
    // 2·6,400 = 12,800 B, so every gathered copy is a small-pool request (≤ 1 MiB) and the all-gather
    // stream gets its own 2 MiB segment. The compute stream holds ZeRO-3's persistent IPG bucket,
    // reduce_bucket_size 5e8 elements · 2 B = 1e9 B, its own segment rounded up to 2 MiB: 477 · 2,097,152 =
    // 1,000,341,504; everything else fits one 2 MiB small-pool segment (stage 0 above: the whole live set
    // is 382,848 B): 1,002,438,656. Reserved: 1,002,438,656 + 2,097,152 = 1,004,535,808.
    const MemoryResult m = predict_memory(tiny.config(
        {{"zero.stage", "3"}, {"cluster.gpus", "2"}, {"zero.stage3_param_persistence_threshold", "0"}}));
    REQUIRE(m.reserved_all_gather_stream_bytes.has_value());
    CHECK(*m.reserved_all_gather_stream_bytes == 2'097'152);
    CHECK(*m.reserved_compute_stream_bytes == 1'002'438'656);
    CHECK(m.peak_reserved_bytes == 1'004'535'808);
  }
  SECTION("the seed on 8 GPUs: the streams' segments add up to the reserved peak") {
    const MemoryResult m = predict_memory(seed(3, 8));
    CHECK(*m.reserved_compute_stream_bytes + *m.reserved_all_gather_stream_bytes == m.peak_reserved_bytes);
    // At least one layer's gathered MLP projection (gate: 2·4,096·11,008 = 90,177,536 B) is cached there.
    CHECK(*m.reserved_all_gather_stream_bytes >= 90'177'536);
  }
  SECTION("nothing on the all-gather stream without gathers: ZeRO-3 on one GPU, ZeRO-2") {
    CHECK(*predict_memory(seed(3, 1)).reserved_all_gather_stream_bytes == 0);
    CHECK(*predict_memory(seed(2, 8)).reserved_all_gather_stream_bytes == 0);
  }
  SECTION("a fixed memory.fragmentation has no replay and no per-stream figures") {
    CHECK_FALSE(
        predict_memory(seed(3, 8, {{"memory.fragmentation", "0.1"}})).reserved_all_gather_stream_bytes);
  }
}

TEST_CASE("variable-length batches: each micro-batch at its own length through one cache",
          "[memory][allocator]") {
  const MemoryResult fixed = predict_memory(seed(0, 1));
  // One listed length equal to seq_len is the fixed case: the steady state is reached after one step.
  const MemoryResult same = predict_memory(seed(0, 1, {{"train.seq_len_distribution", "[2048]"}}));
  CHECK(same.peak_reserved_bytes == fixed.peak_reserved_bytes);
  CHECK(same.peak_allocated_bytes == fixed.peak_allocated_bytes);
  // Lengths below seq_len: the largest live set is the longest listed length's.
  const MemoryResult at1024 = predict_memory(seed(0, 1, {{"train.seq_len", "1024"}}));
  const MemoryResult mixed = predict_memory(seed(0, 1, {{"train.seq_len_distribution", "[1024, 512]"}}));
  CHECK(mixed.peak_allocated_bytes == at1024.peak_allocated_bytes);
  CHECK(mixed.peak_allocated_bytes < fixed.peak_allocated_bytes);
  // The 512-token steps fit in the blocks the 1024-token steps cached: nothing more is reserved.
  CHECK(mixed.peak_reserved_bytes == at1024.peak_reserved_bytes);
  // An ascending ramp (every step longer than any cached block) reserves at least what the longest needs.
  const MemoryResult ramp = predict_memory(seed(0, 1, {{"train.seq_len_distribution", "ramp"}}));
  CHECK(ramp.peak_allocated_bytes == fixed.peak_allocated_bytes);
  CHECK(ramp.peak_reserved_bytes >= ramp.peak_allocated_bytes);
  CHECK(ramp.unmatched_release_bytes == 0);
}

TEST_CASE("on a card too small the replay frees its cache, then runs out of memory", "[memory][allocator]") {
  // rtx-3090: 24 GiB less a 384 MiB context; the seed's live set alone is 25,706,897,408 B.
  const MemoryResult m = predict_memory(seed(0, 1, {{"cluster.gpu", "rtx-3090"}}));
  CHECK(m.allocator_ooms > 0);
  CHECK(m.allocator_retries >= m.allocator_ooms);  // every OOM came after freeing the cache
  CHECK_FALSE(m.gpu_fits);
  // With checkpointing it fits, and never has to free its cache.
  const MemoryResult c =
      predict_memory(seed(0, 1, {{"cluster.gpu", "rtx-3090"}, {"train.activation_checkpointing", "true"}}));
  CHECK(c.allocator_ooms == 0);
  CHECK(c.gpu_fits);
}

TEST_CASE("each op's separate tensors add up to its saved and transient bytes", "[memory][allocator]") {
  for (const char* flash : {"true", "false"})
    for (const char* ckpt : {"false", "true"})
      for (const char* method : {"dora", "none"}) {
        INFO("flash " << flash << ", checkpointing " << ckpt << ", peft " << method);
        const StepProgram p = build_step_program(seed(0, 1,
                                                      {{"train.flash_attention", flash},
                                                       {"train.activation_checkpointing", ckpt},
                                                       {"peft.method", method},
                                                       {"train.seq_len", "256"}}));
        for (const auto* list : {&p.forward, &p.backward})
          for (const ComputeOp& op : *list) {
            INFO(op.name);
            int64_t saved = 0, transient = 0;
            for (int64_t t : saved_allocations(op)) saved += t;
            for (int64_t t : transient_allocations(op)) transient += t;
            CHECK(saved == op.saved_bytes);
            CHECK(transient == op.transient_bytes);
          }
      }
  // Flash attention keeps q, k, v, out and the log-sum-exp as five tensors (T = 2048, q 4096, kv 4096,
  // 32 heads): 2·T·4096 = 16,777,216 each and 4·T·32 = 262,144.
  const StepProgram p = build_step_program(seed(0, 1));
  const ComputeOp& at = find_op(p, "L1.attention_fwd");
  CHECK(saved_allocations(at) ==
        std::vector<int64_t>{16'777'216, 16'777'216, 16'777'216, 16'777'216, 262'144});
}

TEST_CASE("near the capacity the replay frees its cache and fits", "[memory][allocator]") {
  // Full fine-tuning, ZeRO-2 on 8 GPUs: at the optimizer step the fp32 gradient partition, 4·Ψ/8 =
  // 3,369,207,808 B, finds only the activation segments backward freed, none large enough; with the runtime
  // overhead raised to leave 79.15 − 40 − 0.5 ≈ 38.6 GiB to the allocator, the new segment does not fit
  // until release_cached_blocks returns those whole free segments to CUDA: one retry, no OOM.
  const MemoryResult m =
      predict_memory(seed(2, 8, {{"peft.method", "none"}, {"memory.cuda_context_gib", "40"}}));
  CHECK(m.allocator_retries == 1);
  CHECK(m.allocator_ooms == 0);
  CHECK(m.gpu_fits);
  // Without the pressure the cached activation segments stay reserved: more reserved, same allocated.
  const MemoryResult roomy = predict_memory(seed(2, 8, {{"peft.method", "none"}}));
  CHECK(roomy.allocator_retries == 0);
  CHECK(roomy.peak_allocated_bytes == m.peak_allocated_bytes);
  CHECK(roomy.peak_reserved_bytes > m.peak_reserved_bytes);
}
