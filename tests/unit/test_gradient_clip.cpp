// train.max_grad_norm: torch.nn.utils.clip_grad_norm_ before the update without DeepSpeed
// (docs/time-model.md, "The optimizer step's kernels" and "Gradient clipping"), on the tiny LLaMA of
// tiny_llama.h fully fine-tuned.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "compute_ops.h"
#include "test_support.h"
#include "tiny_llama.h"
#include "workloads/optimizer_launches.h"
#include "workloads/step_graph.h"
#include "workloads/step_program.h"

using namespace zerosim;
using zerosim::testing::config_error_message;
using zerosim::testing::op_named;
using zerosim::testing::TinyLlama;

namespace {

RunConfig full(const TinyLlama& tiny, std::vector<Override> more = {}) {
  more.insert(more.begin(),
              {{"peft.method", "none"}, {"train.engine", "pytorch"}, {"train.optimizer", "foreach"}});
  return tiny.config(more);
}

double step_bytes(const RunConfig& c) {
  return op_named(build_step_graph(c, build_step_program(c)).ops, "optimizer.adam_step").bytes;
}

}  // namespace

TEST_CASE("clip_grad_norm_ reads every gradient once and rewrites it: 3 x its bytes", "[clip]") {
  TinyLlama tiny;
  // Full fine-tuning of the tiny LLaMA: 86,848 trainable elements (test_zero12_gradient_passes.cpp).
  // bf16-pure foreach AdamW: 36 B per element (step_program.cpp adam_step_bytes_per_param); the clip's
  // _foreach_norm reads the bf16 gradient (2 B) and _foreach_mul_ reads and writes it (4 B): 6 B more.
  const RunConfig pure = full(tiny, {{"train.precision", "bf16-pure"}});
  CHECK(pure.train.max_grad_norm == 1.0);
  CHECK(step_bytes(pure) == (36.0 + 6.0) * 86'848);
  const RunConfig off = full(tiny, {{"train.precision", "bf16-pure"}, {"train.max_grad_norm", "0"}});
  CHECK(step_bytes(off) == 36.0 * 86'848);
  // AMP with fp32 weights: fp32 gradients, 3 x 4 = 12 B; fp16 AMP adds GradScaler.unscale_'s read and
  // write (2 x 4 = 8 B).
  const RunConfig amp = full(tiny, {{"train.precision", "amp-bf16"}});
  const RunConfig amp_off = full(tiny, {{"train.precision", "amp-bf16"}, {"train.max_grad_norm", "0"}});
  CHECK(step_bytes(amp) - step_bytes(amp_off) == 12.0 * 86'848);
  const RunConfig fp16 = full(tiny, {{"train.precision", "amp-fp16"}});
  const RunConfig fp16_off = full(tiny, {{"train.precision", "amp-fp16"}, {"train.max_grad_norm", "0"}});
  CHECK(step_bytes(fp16) - step_bytes(amp_off) == (12.0 + 8.0) * 86'848);
  CHECK(step_bytes(fp16_off) - step_bytes(amp_off) == 8.0 * 86'848);
}

TEST_CASE("the clip's kernels only when it clips; DeepSpeed's step is its own", "[clip]") {
  TinyLlama tiny;
  // 21 gradient tensors in one foreach batch: _foreach_norm and _foreach_mul_ one launch each, plus stack,
  // vector_norm, add, divide, clamp = 2 + 5 = 7 kernels.
  const RunConfig on = full(tiny, {{"train.precision", "bf16-pure"}});
  const RunConfig off = full(tiny, {{"train.precision", "bf16-pure"}, {"train.max_grad_norm", "0"}});
  const std::vector<int64_t> tensors(21, 4096);
  CHECK(optimizer_step_launches(on, tensors, {}).kernels -
            optimizer_step_launches(off, tensors, {}).kernels ==
        7);
  // Under DeepSpeed the value changes nothing (ZeRO's step always takes the norm and scales).
  const RunConfig ds = tiny.config({{"peft.method", "none"}, {"zero.stage", "2"}});
  const RunConfig ds_off =
      tiny.config({{"peft.method", "none"}, {"zero.stage", "2"}, {"train.max_grad_norm", "0"}});
  CHECK(step_bytes(ds) == step_bytes(ds_off));
}

TEST_CASE("train.max_grad_norm: negative or not a number is a config error naming the key",
          "[clip][errors]") {
  TinyLlama tiny;
  CHECK_THAT(config_error_message([&] {
               tiny.config({{"train.max_grad_norm", "-1"}});
             }),
             Catch::Contains("train.max_grad_norm") && Catch::Contains(">= 0"));
  CHECK_THAT(config_error_message([&] {
               tiny.config({{"train.max_grad_norm", "often"}});
             }),
             Catch::Contains("train.max_grad_norm"));
}
