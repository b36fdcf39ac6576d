// The optimizer step's kernel count (workloads/optimizer_launches.h) against multi_tensor_apply's batching
// (MultiTensorApply.cuh: 110/64/48/36/30 tensors and 320 blocks of 65,536 elements per launch) and the
// per-tensor loops of DeepSpeed's ZeRO optimizers, counted by hand.
#include <catch2/catch.hpp>

#include "workloads/optimizer_launches.h"
#include "workloads/zero3_schedule.h"

using namespace zerosim;

namespace {
constexpr int64_t kChunk = 65'536;

RunConfig config(const std::string& engine, const std::string& precision, const std::string& optimizer,
                 const std::string& more = "") {
  return run_config_from_yaml(
      YAML::Load("model: llama2-7b\npeft: {method: lora}\ntrain: {engine: " + engine +
                 ", precision: " + precision + ", optimizer: " + optimizer + "}\n" + more),
      "run.yaml");
}
}  // namespace

TEST_CASE("multi_tensor_apply launches a kernel per full tensor list or 320 blocks", "[optimizer][launch]") {
  CHECK(multi_tensor_launches(1, std::vector<int64_t>(110, 1)) == 1);  // exactly full: one launch
  CHECK(multi_tensor_launches(1, std::vector<int64_t>(111, 1)) == 2);  // the 111th starts a second
  CHECK(multi_tensor_launches(4, std::vector<int64_t>(36, 1)) == 1);
  CHECK(multi_tensor_launches(4, std::vector<int64_t>(37, 1)) == 2);
  CHECK(multi_tensor_launches(3, std::vector<int64_t>(192, 1)) == 4);  // ⌈192/48⌉
  // One tensor of 320 chunks fills the blocks exactly; one element more needs a second launch.
  CHECK(multi_tensor_launches(4, {320 * kChunk}) == 1);
  CHECK(multi_tensor_launches(4, {320 * kChunk + 1}) == 2);
  // 5e6 elements: ⌈5e6/65,536⌉ = 77 chunks, one launch; empty tensors launch nothing.
  CHECK(multi_tensor_launches(4, {5'000'000}) == 1);
  CHECK(multi_tensor_launches(1, {0, 0}) == 0);
  // A tensor cut by the block limit carries over: 300 chunks + 300 chunks = 600 blocks → 320 + 280 → 2.
  CHECK(multi_tensor_launches(1, {300 * kChunk, 300 * kChunk}) == 2);
}

TEST_CASE("the optimizer step's kernels by who runs it", "[optimizer][launch]") {
  const std::vector<int64_t> lora(192, 4096 * 16);  // 192 small tensors, one chunk each
  SECTION("torch.optim foreach AdamW with clip_grad_norm_") {
    // clip: 2·⌈192/110⌉ + 5 = 9; AdamW: lerp (depth 2) 3 + mul 2 + addcmul (3) 4 + sqrt (2) 3 + div 2
    // + add 2 + addcdiv (3) 4 = 20 → 29.
    const OptimizerStepLaunches s =
        optimizer_step_launches(config("pytorch", "bf16-mixed", "foreach"), lora, {});
    CHECK(s.kernels == 29);
    CHECK_FALSE(s.host_sync);
  }
  SECTION("torch.optim fused AdamW: one depth-4 pass, ⌈192/36⌉ = 6 launches") {
    CHECK(optimizer_step_launches(config("pytorch", "bf16-mixed", "fused"), lora, {}).kernels == 9 + 6);
  }
  SECTION("GradScaler under fp16: unscale_ (⌈192/110⌉ = 2) and the scale update, and found_inf.item()") {
    const OptimizerStepLaunches s =
        optimizer_step_launches(config("pytorch", "fp16-mixed", "foreach"), lora, {});
    CHECK(s.kernels == 29 + 3);
    CHECK(s.host_sync);
  }
  SECTION("bitsandbytes' AdamW: one update kernel per parameter, each followed by torch.cuda.synchronize()") {
    // clip 9 + 192 updates (Optimizer8bit.step's Python loop); the 192 are the synchronised ones.
    for (const char* o : {"bnb-8bit", "bnb-paged-32bit"}) {
      const OptimizerStepLaunches s = optimizer_step_launches(config("pytorch", "bf16-mixed", o), lora, {});
      CHECK(s.kernels == 9 + 192);
      CHECK(s.synced_kernels == 192);
      CHECK_FALSE(s.host_sync);
    }
  }
  SECTION("DeepSpeed ZeRO: the grad norm per tensor, FusedAdam on the flat partition") {
    // 2·192 + 6 = 390 (norms), + 2 (unscale and clip) + 1 (FusedAdam, 77 chunks) + 1 (copy back) = 394.
    const RunConfig ds = config("deepspeed", "bf16-mixed", "fused", "zero: {stage: 2}\n");
    CHECK(optimizer_step_launches(ds, lora, {5'000'000}).kernels == 394);
    CHECK_FALSE(optimizer_step_launches(ds, lora, {5'000'000}).host_sync);
    // fp16 adds _has_inf_or_nan per tensor (6 each) and the flag's bool, byte and .item(): 394 + 1,155.
    const OptimizerStepLaunches f = optimizer_step_launches(
        config("deepspeed", "fp16-mixed", "fused", "zero: {stage: 2}\n"), lora, {5'000'000});
    CHECK(f.kernels == 394 + 6 * 192 + 3);
    CHECK(f.host_sync);
    // Before 0.13.2 (#4974) each tensor's norm was read with .item(): 192 host waits, the same kernels.
    const OptimizerStepLaunches old = optimizer_step_launches(
        config("deepspeed", "bf16-mixed", "fused", "zero: {stage: 2}\nversions: {deepspeed: \"0.13.1\"}\n"),
        lora, {5'000'000});
    CHECK(old.kernels == 394);
    CHECK(old.synced_kernels == 192);
    CHECK(old.host_sync);
    CHECK(optimizer_step_launches(config("deepspeed", "bf16-mixed", "fused",
                                         "zero: {stage: 2}\nversions: {deepspeed: \"0.13.2\"}\n"),
                                  lora, {5'000'000})
              .synced_kernels == 0);
  }
  SECTION("DeepSpeed stage 0: FP16_Optimizer reads every gradient's sum on the host") {
    // bf16 from 0.17.6 (#7515) and fp16 always: the overflow check's cast and sum per tensor (2·192), each
    // followed by float() (192 synchronised), the casts (192) and the cat (1), the norm (3), the scaling (1),
    // FusedAdam (1), the copy back per parameter (192): 384 + 193 + 3 + 1 + 1 + 192 = 774.
    for (const char* precision : {"bf16-mixed", "fp16-mixed"}) {
      const OptimizerStepLaunches s =
          optimizer_step_launches(config("deepspeed", precision, "fused"), lora, {5'000'000});
      CHECK(s.kernels == 774);
      CHECK(s.synced_kernels == 192);
      CHECK(s.host_sync);
    }
    // bf16 up to 0.17.5 takes BF16_Optimizer, which checks nothing: the ZeRO-like count, nothing
    // synchronised.
    const OptimizerStepLaunches old = optimizer_step_launches(
        config("deepspeed", "bf16-mixed", "fused", "versions: {deepspeed: \"0.17.5\"}\n"), lora, {5'000'000});
    CHECK(old.kernels == 394);
    CHECK(old.synced_kernels == 0);
  }
}

TEST_CASE("the tensors rank 0's optimizer walks, per ZeRO stage", "[optimizer][zero]") {
  // Three trainable modules of 10, 20 (weight 15 + bias 5) and 30 elements; one frozen module.
  const std::vector<ParamModule> m = {{"a", ModuleKind::lora_a, 0, 0, 10, 10, true},
                                      {"b", ModuleKind::linear, 0, 0, 20, 15, true},
                                      {"f", ModuleKind::linear, 0, 1, 99, 99, false},
                                      {"c", ModuleKind::lora_b, 0, 0, 30, 30, true}};
  CHECK(optimizer_partition_tensors(m, 0, 4) == std::vector<int64_t>{10, 15, 5, 30});
  CHECK(optimizer_partition_tensors(m, 2, 1) == std::vector<int64_t>{10, 15, 5, 30});
  // Stages 1-2 on 2 GPUs: the flat group of 60 is cut at 30; rank 0 holds 10, 15, 5 (ending at 30).
  CHECK(optimizer_partition_tensors(m, 2, 2) == std::vector<int64_t>{10, 15, 5});
  // On 4 GPUs the slice is 15: 10, then 5 of the 15-element weight.
  CHECK(optimizer_partition_tensors(m, 1, 4) == std::vector<int64_t>{10, 5});
  // Stage 3: every tensor's own partition, ⌈n/4⌉: 3, 4, 2, 8.
  CHECK(optimizer_partition_tensors(m, 3, 4) == std::vector<int64_t>{3, 4, 2, 8});
}
