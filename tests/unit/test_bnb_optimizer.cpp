// bitsandbytes' AdamW states (workloads/bnb_optimizer.h) against Optimizer2State.init_state
// (bitsandbytes/optim/optimizer.py) and get_state_buffer, counted by hand.
#include <catch2/catch.hpp>

#include "tests/unit/tiny_llama.h"
#include "workloads/bnb_optimizer.h"
#include "workloads/memory_model.h"

using namespace zerosim;

namespace {
// lora_A of r16 on a 4096-wide layer, a DoRA magnitude (4096: not below min_8bit_size), a 100-element bias
// (fp32 states), and lora_B of r32 (131,072 ≥ 1e5: paged when the optimizer is).
const std::vector<int64_t> kTensors = {65'536, 4'096, 100, 131'072};
}  // namespace

TEST_CASE("bitsandbytes 8-bit AdamW: 1 B per state, an fp32 absmax per block, fp32 states below 4096",
          "[optimizer][memory][bnb]") {
  // 0.44.0+ (blocks of 256): 65,536 → 2·65,536 + 2·4·256 = 133,120; 4,096 → 8,192 + 2·4·16 = 8,320;
  // 100 → 2·100·4 = 800; 131,072 → 262,144 + 2·4·512 = 266,240; the two quantile maps 2·256·4 = 2,048.
  // 133,120 + 8,320 + 800 + 266,240 + 2,048 = 410,528.
  BnbOptimizerStateBytes b = bnb_optimizer_state_bytes(kTensors, OptimizerImpl::bnb_8bit, Version{0, 48, 1});
  CHECK(b.device == 410'528);
  CHECK(b.paged == 0);
  // Up to 0.43.x blocks of 2048: absmax 2·4·(32 + 2 + 64) = 784 instead of 2·4·(256 + 16 + 512) = 6,272.
  b = bnb_optimizer_state_bytes(kTensors, OptimizerImpl::bnb_8bit, Version{0, 43, 3});
  CHECK(b.device == 410'528 - 6'272 + 784);
  CHECK(bnb_optimizer_blocksize(Version{0, 43, 3}) == 2048);
  CHECK(bnb_optimizer_blocksize(Version{0, 44, 0}) == 256);
  // Paged: the 131,072-element tensor's two 8-bit states (262,144 B) go to unified memory, its absmax not.
  b = bnb_optimizer_state_bytes(kTensors, OptimizerImpl::bnb_paged_8bit, Version{0, 48, 1});
  CHECK(b.paged == 262'144);
  CHECK(b.device == 410'528 - 262'144);
}

TEST_CASE("bitsandbytes 32-bit AdamW: fp32 states whatever the parameter's dtype",
          "[optimizer][memory][bnb]") {
  // (65,536 + 4,096 + 100 + 131,072) · 2 states · 4 B = 200,804 · 8 = 1,606,432; no quantile maps.
  BnbOptimizerStateBytes b = bnb_optimizer_state_bytes(kTensors, OptimizerImpl::bnb_32bit, Version{0, 48, 1});
  CHECK(b.device == 1'606'432);
  CHECK(b.paged == 0);
  b = bnb_optimizer_state_bytes(kTensors, OptimizerImpl::bnb_paged_32bit, Version{0, 48, 1});
  CHECK(b.paged == 131'072 * 8);
  CHECK(b.device == 1'606'432 - 131'072 * 8);
}

TEST_CASE("bitsandbytes' update kernel reads the gradient and updates the parameter and both states in place",
          "[optimizer][time][bnb]") {
  // bf16 parameter: g 2 + p 2·2 + 8-bit m, v read and written 4·1 = 10; fp32 states: 6 + 4·4 = 22.
  CHECK(bnb_step_bytes_per_param(OptimizerImpl::bnb_8bit, 2) == 10.0);
  CHECK(bnb_step_bytes_per_param(OptimizerImpl::bnb_paged_32bit, 2) == 22.0);
  // fp32 adapters (peft's autocast_adapter_dtype): 12 + 4 = 16.
  CHECK(bnb_step_bytes_per_param(OptimizerImpl::bnb_paged_8bit, 4) == 16.0);
}

TEST_CASE("the tiny model's optimizer states under bitsandbytes' AdamW", "[optimizer][memory][bnb]") {
  zerosim::testing::TinyLlama tiny;
  // DoRA r4 on q (64→64) and v (64→32): lora_A 256 + lora_B 256 + magnitude 64, and 256 + 128 + 32, per
  // layer 992, 1,984 elements in 12 tensors, every one below min_8bit_size 4096: fp32 states even with
  // optim_bits 8, 1,984 · 8 = 15,872 B and no quantile maps.
  const RunConfig c = tiny.config({{"train.engine", "pytorch"}, {"train.optimizer", "bnb-8bit"}});
  const ModelStates s = model_states(c, build_step_program(c));
  CHECK(s.optimizer_states == 15'872);
  CHECK(s.optimizer_temporaries == 0);  // in-place kernels: no sqrt(v), no fp32 copies
  CHECK(s.paged_optimizer_states == 0);
}
