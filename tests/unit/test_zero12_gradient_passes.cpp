// DeepSpeed ZeRO-1/2's own passes over gradients (stage_1_and_2.py; docs/time-model.md, "ZeRO-1/2's
// gradient passes"): bytes per element worked by hand, and where the step graph puts them, on the tiny
// LLaMA of tiny_llama.h fully fine-tuned under ZeRO-2 on two GPUs.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "compute_ops.h"
#include "test_support.h"
#include "tiny_llama.h"
#include "workloads/step_graph.h"
#include "workloads/step_program.h"
#include "workloads/zero12_gradient_passes.h"
#include "workloads/zero3_schedule.h"

using namespace zerosim;
using zerosim::testing::find_op;
using zerosim::testing::TinyLlama;

namespace {

RunConfig zero2(const TinyLlama& tiny, std::vector<Override> more = {}) {
  more.insert(more.begin(), {{"peft.method", "none"}, {"zero.stage", "2"}, {"cluster.gpus", "2"}});
  return tiny.config(more);
}

}  // namespace

TEST_CASE("ZeRO-1/2 bucket passes: bytes per element by hand", "[zero12]") {
  TinyLlama tiny;
  // bf16 gradients (e = 2), contiguous_gradients (the default): the hook's copy into the bucket (2e), the
  // bucket's div_ (2e) and flatten (2e) = 12 B before the collective; the own slices copied back (2e) and
  // copy_grads_in_partition (2e) = 8 B per own element after it.
  const Zero12BucketPasses bf16 = zero12_bucket_passes(zero2(tiny), 2);
  CHECK(bf16.before_bytes_per_element == 12.0);
  CHECK(bf16.after_bytes_per_element == 0.0);
  CHECK(bf16.after_bytes_per_own_element == 8.0);
  CHECK(bf16.kernels_per_tensor == 1);
  CHECK(bf16.kernels_per_own_tensor == 2);
  // Offloaded: the copy back (2e = 4), double().norm(2) (2 + 8 + 8 = 18), the overflow check's
  // _has_inf_or_nan (float 2 + 4, isnan 4 + 1, isinf 4 + 1, logical_or 1 + 1 + 1, float 1 + 4, max 4 = 28)
  // and .float() (2 + 4 = 6): 4 + 18 + 28 + 6 = 56.
  const Zero12BucketPasses offload =
      zero12_bucket_passes(zero2(tiny, {{"zero.offload_optimizer", "cpu"}}), 2);
  CHECK(offload.after_bytes_per_own_element == 56.0);
  CHECK(offload.kernels_per_own_tensor == 10);  // copy back, double + norm, 6 in the check, float
  // fp32 gradients offloaded: copy back 8, the norm 4 + 16 = 20, the check without its cast 22, no cast: 50.
  CHECK(
      zero12_bucket_passes(zero2(tiny, {{"zero.offload_optimizer", "cpu"}}), 4).after_bytes_per_own_element ==
      50.0);
  // contiguous_gradients false: flatten and divide each small bucket (2e + 2e = 8 B), copy back into every
  // gradient (2e = 4 B per element).
  const Zero12BucketPasses loose =
      zero12_bucket_passes(zero2(tiny, {{"zero.contiguous_gradients", "false"}}), 2);
  CHECK(loose.before_bytes_per_element == 8.0);
  CHECK(loose.after_bytes_per_element == 4.0);
  CHECK(loose.after_bytes_per_own_element == 0.0);
}

TEST_CASE("ZeRO-1/2 step: bytes per partition element by hand", "[zero12]") {
  TinyLlama tiny;
  // bf16, DeepSpeed's FusedAdam: norm 2 + 8 + 8 = 18; flatten 2 + 2 and .to(fp32) 2 + 4 = 10; clip 4 + 4 =
  // 8; the update reads g, p, m, v and writes p, m, v in fp32 = 28; copy into the bf16 partition 4 + 2 = 6.
  // 18 + 10 + 8 + 28 + 6 = 70.
  CHECK(zero12_step_bytes_per_element(zero2(tiny), 2) == 70.0);
  // fp32 gradients: norm 4 + 16 = 20; flatten 8, no cast; clip 8; update 28; copy back 4 + 4 = 8. 72.
  CHECK(zero12_step_bytes_per_element(zero2(tiny), 4) == 72.0);
  // torch's foreach AdamW as the client optimizer: the update is 72 B in fp32: 18 + 10 + 8 + 72 + 6 = 114.
  CHECK(zero12_step_bytes_per_element(zero2(tiny, {{"train.optimizer", "foreach"}}), 2) == 114.0);
  CHECK(zero12_gradient_passes_apply(zero2(tiny)));
  CHECK(zero12_gradient_passes_apply(zero2(tiny, {{"zero.stage", "1"}})));
  CHECK_FALSE(zero12_gradient_passes_apply(zero2(tiny, {{"zero.stage", "3"}})));
  CHECK_FALSE(zero12_gradient_passes_apply(zero2(tiny, {{"zero.stage", "0"}})));
  // step()'s passes: stages 1-2, and stage 3 with 16-bit gradients (stage3.py's step per sub-group).
  CHECK(zero_step_passes_apply(zero2(tiny, {{"zero.stage", "3"}}), 2));
  CHECK_FALSE(zero_step_passes_apply(zero2(tiny, {{"zero.stage", "3"}}), 4));
  CHECK(zero_step_passes_apply(zero2(tiny), 4));
  CHECK_FALSE(zero_step_passes_apply(zero2(tiny, {{"zero.stage", "0"}}), 2));
  CHECK_FALSE(zero_step_passes_apply(zero2(tiny, {{"zero.stage", "0"}, {"train.engine", "pytorch"}}), 2));
}

TEST_CASE("ZeRO-2's bucket passes surround each gradient collective in the step graph", "[zero12]") {
  TinyLlama tiny;
  const RunConfig c = zero2(tiny);
  const StepProgram p = build_step_program(c);
  const StepGraph g = build_step_graph(c, p);
  // Full fine-tuning of the tiny LLaMA: embed 100 x 64 = 6,400, lm_head 6,400, final norm 64; per layer
  // q 4,096, k 2,048, v 2,048, o 4,096, gate/up/down 3 x 8,192 and two norms 128 = 36,992, x 2 = 73,984.
  // 6,400 + 6,400 + 64 + 73,984 = 86,848 elements: one bucket (reduce_bucket_size 5e8).
  const ComputeOp* fill = find_op(g.ops, "grads.bucket0.fill");
  const ComputeOp* back = find_op(g.ops, "grads.bucket0.copy_back");
  REQUIRE(fill != nullptr);
  REQUIRE(back != nullptr);
  CHECK(fill->bytes == 12.0 * 86'848);  // 1,042,176 B
  CHECK(back->bytes == 8.0 * 43'424);   // the rank's half, 347,392 B
  CHECK(fill->phase == Phase::backward);
  // The copies are issued from Python: one per gradient tensor (2 embeddings/heads, the final norm, 9 per
  // layer: 21) plus div_ and flatten = 23 kernels; back: 2 per own tensor, ceil(21 / 2) = 11 -> 22.
  CHECK(fill->kernels == 23);
  CHECK(back->kernels == 22);
  // Order on the compute stream: fill, then (after the all-reduce) copy_back, then the optimizer.
  std::vector<std::string> order;
  for (const TaskId v : g.compute_order) order.push_back(g.graph[v].name);
  const auto at = [&](const std::string& n) {
    return std::find(order.begin(), order.end(), n) - order.begin();
  };
  CHECK(at("grads.bucket0.fill") < at("grads.bucket0.copy_back"));
  CHECK(at("grads.bucket0.copy_back") < at("optimizer.adam_step"));
  // The optimizer's bytes: 70 per element of the rank's partition.
  const int64_t own = optimizer_partition_numel(p.modules, 2, 2);
  const ComputeOp* opt = find_op(g.ops, "optimizer.adam_step");
  REQUIRE(opt != nullptr);
  CHECK(opt->bytes == 70.0 * static_cast<double>(own));
  // Stage 3 has no such tasks (stage3.py's path is its own).
  const RunConfig z3 = zero2(tiny, {{"zero.stage", "3"}});
  const StepGraph g3 = build_step_graph(z3, build_step_program(z3));
  CHECK(find_op(g3.ops, "grads.bucket0.fill") == nullptr);
}
