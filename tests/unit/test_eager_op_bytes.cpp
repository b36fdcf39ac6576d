// The DRAM bytes of eager PyTorch's unfused memory-bound ops (workloads/eager_op_bytes.h), kernel by kernel
// by hand, and what they make of the step program's ops on the tiny LLaMA (h = 64, i = 128, q_dim 64,
// kv_dim 32, T = 32).
#include <catch2/catch.hpp>

#include "program_ops.h"
#include "tiny_llama.h"
#include "workloads/eager_op_bytes.h"
#include "workloads/step_program.h"

using namespace zerosim;
using zerosim::testing::find_op;
using zerosim::testing::TinyLlama;

TEST_CASE("LlamaRMSNorm: 36 B per element forward and 90 backward in bf16", "[eager][time]") {
  // Forward, bf16 input: to(float32) 2 + 4, pow 4 + 4, mean 4, x·rsqrt 4 + 4, to(bf16) 4 + 2, weight· 2 + 2.
  CHECK(rmsnorm_bytes_per_element(false, 2, false) == 36.0);
  // fp32 input (AMP, fp32 training): both casts are the tensor itself: 8 + 4 + 8 + 8 = 28.
  CHECK(rmsnorm_bytes_per_element(false, 4, false) == 28.0);
  // Backward, bf16: grad·weight 4, cast to fp32 6, grad·rsqrt 8, (grad·x).sum 12 + 4, mean's expand/h 4,
  // pow: copy 8, ·2 8, grad· 12, the two fp32 gradients added 12, cast to bf16 6, the residual's gradient
  // added 6 = 90; a trainable weight adds grad·x and its sum, 4 + 4.
  CHECK(rmsnorm_bytes_per_element(true, 2, false) == 90.0);
  CHECK(rmsnorm_bytes_per_element(true, 2, true) == 98.0);
  // fp32: 8 + 0 + 8 + 16 + 4 + 28 + 12 + 0 + 12 = 88.
  CHECK(rmsnorm_bytes_per_element(true, 4, false) == 88.0);
  // LayerNorm is one kernel each way: 2 + 2 forward; 3 · 2 backward + the residual's add 6.
  CHECK(layernorm_bytes_per_element(false, 2, false) == 4.0);
  CHECK(layernorm_bytes_per_element(true, 2, false) == 12.0);
  CHECK(layernorm_bytes_per_element(true, 2, true) == 16.0);
}

TEST_CASE("rotary, SwiGLU and GELU: their kernels' reads and writes", "[eager][time]") {
  // q·cos 4, -x2 on half 2, cat 4, ·sin 4, add 6 = 20 (bf16).
  CHECK(rotary_bytes_per_element(false, 2) == 20.0);
  // grad·sin 4, neg 2, two slice backwards (zeros + half copy) 8, grad·cos 4, two adds 12 = 30.
  CHECK(rotary_bytes_per_element(true, 2) == 30.0);
  // Qwen-v1 with flash-attn: t.float() 2 + 4, the fused kernel in fp32 4 + 4, type_as 4 + 2 = 20 either way.
  CHECK(rotary_bytes_per_element(false, 2, RotaryCode::qwen_fused) == 20.0);
  CHECK(rotary_bytes_per_element(true, 2, RotaryCode::qwen_fused) == 20.0);
  // Without it: the casts 12, transformers' chain in fp32 (40 forward, 60 backward), the forward's cat 8.
  CHECK(rotary_bytes_per_element(false, 2, RotaryCode::qwen_eager) == 60.0);
  CHECK(rotary_bytes_per_element(true, 2, RotaryCode::qwen_eager) == 72.0);
  // silu 2 + 2, mul 4 + 2; backward grad·up 6, grad·silu 6, silu_backward 6.
  CHECK(swiglu_bytes_per_element(false, 2) == 10.0);
  CHECK(swiglu_bytes_per_element(true, 2) == 18.0);
  CHECK(gelu_bytes_per_element(false, 2) == 4.0);
  CHECK(gelu_bytes_per_element(true, 2) == 6.0);
}

TEST_CASE("peft's LoRA and DoRA passes over the output", "[eager][time]") {
  // LoRA, T = 32, 64 → 64, r 4, bf16: 2 · (32 · (64 + 8 + 6 · 64) + 4 · 128) = 2 · (14,592 + 512) = 30,208.
  CHECK(lora_forward_bytes(32, 64, 64, 4, 2, false) == 30'208.0);
  // DoRA's lora_fwd is the two GEMMs alone: 2 · (32 · (64 + 8 + 64) + 512) = 9,728.
  CHECK(lora_forward_bytes(32, 64, 64, 4, 2, true) == 9'728.0);
  // Backward with an input gradient: 2 · (32 · (4·64 + 5·64 + 4·4) + 2·4·128) = 2 · (18,944 + 1,024).
  CHECK(lora_backward_bytes(32, 64, 64, 4, 2, false, true) == 39'936.0);
  // Without one: 2 · (32 · (256 + 64 + 12) + 1,024) = 23,296.
  CHECK(lora_backward_bytes(32, 64, 64, 4, 2, false, false) == 23'296.0);
  // DoRA combine, all bf16: (s−1)·base 4, s·lora 4, ·scaling 4, sum 6, result + 6 = 24 forward; backward:
  // ·scaling 4, s·lora's two gradients 4 + 8, (s−1)·base's 4 + 8, d_base added 6 = 34.
  CHECK(dora_combine_bytes_per_element(false, 2, 2, 2) == 24.0);
  CHECK(dora_combine_bytes_per_element(true, 2, 2, 2) == 34.0);
  // peft's fp32 adapters over bf16 weights: the products are fp32 and the sum is cast back: 6 + 8 + 8 + 12 +
  // 10 + 6 = 50 forward.
  CHECK(dora_combine_bytes_per_element(false, 2, 4, 4) == 50.0);
}

TEST_CASE("the step program's memory-bound ops carry those bytes", "[eager][time]") {
  TinyLlama tiny;
  const StepProgram p = build_step_program(tiny.config({{"train.engine", "pytorch"}}));
  // Input norm of layer 1 (input requires grad): 36 · T·h = 36 · 2,048 = 73,728 forward, 90 · 2,048 back.
  CHECK(find_op(p, "L1.input_norm.fwd").bytes == Approx(73'728));
  CHECK(find_op(p, "L1.input_norm.bwd").bytes == Approx(184'320));
  // Rotary over q and k: (64 + 32) · T = 3,072 elements: 20 · 3,072 forward.
  CHECK(find_op(p, "L1.rotary_fwd").bytes == Approx(61'440));
  // SwiGLU over T·i = 4,096 elements: 10 · 4,096.
  CHECK(find_op(p, "L1.swiglu_fwd").bytes == Approx(40'960));
}
