// fp32 training (train.precision: fp32, docs/memory-model.md §8.7): fp32 weights, activations, gradients and
// Adam states with nothing cast, worked by hand on the tiny LLaMA of tiny_llama.h (h = 64, i = 128, 2
// layers, q_dim 64, kv_dim 32, 4 heads, V = 100, T = 32; 86,848 base parameters), and the peaks its matmuls
// run at.
#include <catch2/catch.hpp>

#include "program_ops.h"
#include "sim/engine/compute_model.h"
#include "test_support.h"
#include "tiny_llama.h"
#include "workloads/framework_behaviour.h"
#include "workloads/gpu_catalogue.h"
#include "workloads/memory_model.h"
#include "workloads/step_graph.h"
#include "workloads/step_program.h"
#include "workloads/zero3_schedule.h"

using namespace zerosim;
using zerosim::testing::config_error_message;
using zerosim::testing::find_op;
using zerosim::testing::TinyLlama;

namespace {

int64_t saved_in_layer(const StepProgram& p, int layer) {
  int64_t s = 0;
  for (const auto& op : p.forward)
    if (op.layer == layer) s += op.saved_bytes;
  return s;
}

const std::vector<Override> kFull = {{"peft.method", "none"}, {"train.engine", "pytorch"}};

std::vector<Override> with(std::vector<Override> base, const std::vector<Override>& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

int64_t collective_bytes(const StepGraph& g) {
  int64_t total = 0;
  for (const TaskId v : g.comm_order) total += g.graph[v].bytes;
  return total;
}

}  // namespace

TEST_CASE("fp32 training: every activation 4 B, RMSNorm's fp32 copy is its input", "[fp32][memory]") {
  TinyLlama tiny;
  const StepProgram pure = build_step_program(tiny.config(with(kFull, {{"train.precision", "bf16-pure"}})));
  const StepProgram fp32 = build_step_program(tiny.config(with(kFull, {{"train.precision", "fp32"}})));
  // bf16-pure, per layer: each RMSNorm keeps the fp32 x 4·T·h = 8,192, rsqrt 4·T = 128 and the normalised x
  // 2·T·h = 4,096 (12,416, twice); q/k/v's shared input 2·T·h = 4,096; flash attention q 2·T·64 = 4,096, k
  // and v 2·T·32 = 2,048 each, out 4,096, log-sum-exp 4·T·4 = 512 (12,800); gate/up's input 4,096; SwiGLU
  // gate, silu(gate), up 3·2·T·i = 24,576; down's input 2·T·i = 8,192. 24,832 + 4,096 + 12,800 + 4,096 +
  // 24,576 + 8,192 = 78,592.
  CHECK(saved_in_layer(pure, 0) == 78'592);
  // fp32: the norm's x.to(float32) returns x itself, kept as before (8,192 + 128) with the normalised x now
  // 4·T·h (16,512, twice); every other tensor doubles: 8,192 + 25,088 + 8,192 + 49,152 + 16,384.
  CHECK(saved_in_layer(fp32, 0) == 140'032);
  CHECK(saved_in_layer(fp32, 1) == 140'032);
  // A checkpointed layer keeps its fp32 input: 4·T·h = 8,192.
  CHECK(build_step_program(tiny.config(with(kFull, {{"train.precision", "fp32"},
                                                    {"train.activation_checkpointing", "true"}})))
            .checkpoint_bytes_per_layer == 8'192);
  // Eager attention keeps the fp32 softmax output alone (no bf16 copy): probabilities b·heads·s² =
  // 4·32² = 4,096, 4 B each = 16,384, against 16,384 + 8,192 under bf16-pure.
  const auto eager = [&](const char* precision) {
    return find_op(build_step_program(tiny.config(
                       with(kFull, {{"train.precision", precision}, {"train.flash_attention", "false"}}))),
                   "L0.attention_fwd")
        .saved_bytes;
  };
  // q, k, v repeated to the 4 heads, 4·T·64 = 8,192 each, + 16,384 = 40,960; bf16-pure 3·4,096 + 24,576.
  CHECK(eager("fp32") == 40'960);
  CHECK(eager("bf16-pure") == 36'864);
}

TEST_CASE("fp32 training: the loss keeps fp32 logits without an upcast copy", "[fp32][memory][loss]") {
  TinyLlama tiny;
  // transformers 4.49+ (the default 4.56): logits 4 B + log-softmax 4 B per logit element, E = T·V = 3,200:
  // 12,800 saved (the log-softmax) and 12,800 transient (the logits); with autocast (bf16-mixed) the bf16
  // logits, their fp32 upcast and the log-softmax are 2 + 4 + 4 = 10 B.
  const StepProgram fp32 =
      build_step_program(tiny.config({{"train.engine", "pytorch"}, {"train.precision", "fp32"}}));
  const ComputeOp& ce = find_op(fp32, "loss.cross_entropy_fwd");
  CHECK(ce.saved_bytes == 12'800);
  CHECK(ce.transient_bytes == 12'800);
  // transformers 4.36-4.45: logits.float() is the logits, then a shifted fp32 copy: 12 B → 25,600 transient.
  const StepProgram before_446 = build_step_program(tiny.config(
      {{"train.engine", "pytorch"}, {"train.precision", "fp32"}, {"versions.transformers", "4.40.0"}}));
  const ComputeOp& old = find_op(before_446, "loss.cross_entropy_fwd");
  CHECK(old.saved_bytes + old.transient_bytes == 38'400);
  // The head's GEMMs read and write fp32: (T·h + h·V + T·V)·4 = (2,048 + 6,400 + 3,200)·4 = 46,592 B.
  CHECK(find_op(fp32, "lm_head.linear_fwd").bytes == Approx(46'592));
}

TEST_CASE("fp32 training without DeepSpeed: fp32 parameters, gradients and Adam states, no master",
          "[fp32][memory]") {
  TinyLlama tiny;
  const RunConfig c = tiny.config(with(kFull, {{"train.precision", "fp32"}, {"train.optimizer", "foreach"}}));
  const ModelStates s = model_states(c, build_step_program(c));
  // 86,848 parameters: 4 B each, their .grad 4 B (allocated in backward: grad_accum 1), exp_avg and
  // exp_avg_sq 8 B, and foreach's sqrt(v) 4 B.
  CHECK(s.trainable_params == 347'392);
  CHECK(s.gradients_in_backward == 347'392);
  CHECK(s.optimizer_states == 694'784);
  CHECK(s.optimizer_temporaries == 347'392);
  CHECK(framework_behaviour(c).adapter_dtype == AdapterDtype::base);
  CHECK(framework_behaviour(c).base_bytes() == 4);
  // DoRA's adapters take the base weight's fp32: per layer q's A 4·64, B 64·4 and magnitude 64, v's A 4·64,
  // B 32·4 and magnitude 32 = 992, two layers 1,984 parameters, at 4 B = 7,936.
  const RunConfig lora = tiny.config({{"train.engine", "pytorch"}, {"train.precision", "fp32"}});
  CHECK(model_states(lora, build_step_program(lora)).trainable_params == 7'936);
  // The replay allocates each .grad in the parameter's dtype: the allocated peak counts them at 4 B.
  CHECK(predict_memory(c).breakdown[MemComponent::gradients] == 347'392);
  // Adam's bytes per element: fused 28 (read g, p, m, v; write p, m, v), foreach 72.
  CHECK(adam_step_bytes_per_param(Precision::fp32, OptimizerImpl::fused) == 28.0);
  CHECK(adam_step_bytes_per_param(Precision::fp32, OptimizerImpl::foreach) == 72.0);
}

TEST_CASE(
    "fp32 training under DeepSpeed: ZeRO 1-3 clone the fp32 partition, stage 0 and ZeRO-3 0.18.2+ do not",
    "[fp32][memory][deepspeed]") {
  TinyLlama tiny;
  const auto states = [&](int stage, const char* deepspeed) {
    const RunConfig c = tiny.config({{"peft.method", "none"},
                                     {"train.precision", "fp32"},
                                     {"zero.stage", std::to_string(stage)},
                                     {"cluster.gpus", "2"},
                                     {"versions.deepspeed", deepspeed}});
    const StepProgram p = build_step_program(c);
    return std::pair{model_states(c, p), optimizer_partition_numel(p.modules, stage, 2)};
  };
  {
    const auto [s, n] = states(0, "0.19.5");  // the basic optimizer on the fp32 parameters: m and v
    CHECK(n == 86'848);
    CHECK(s.optimizer_states == 8 * n);
    CHECK(s.gradients_in_backward == 4 * n);
    // The all-reduce's flattened copy, fp32: 4 · 86,848.
    CHECK(s.boundary_buffers == 347'392);
  }
  {
    const auto [s, n] = states(1, "0.19.5");  // single_partition_of_fp32_groups: a clone, + m + v
    CHECK(s.optimizer_states == 12 * n);
    CHECK(s.gradients == 4 * n);
    // The IPG bucket holds fp32 gradients: 4 B · reduce_bucket_size (5e8); one, overlap_comm being off by
    // default at stages 1-2.
    CHECK(s.backward_buffers == 4 * 500'000'000LL);
  }
  CHECK(states(3, "0.19.5").first.optimizer_states == 8 * states(3, "0.19.5").second);
  CHECK(states(3, "0.18.1").first.optimizer_states == 12 * states(3, "0.18.1").second);
}

TEST_CASE("fp32 training: ZeRO's collectives move 4 B per element", "[fp32][deepspeed]") {
  TinyLlama tiny;
  for (const char* stage : {"1", "3"}) {
    INFO("stage " << stage);
    const auto bytes = [&](const char* precision) {
      const RunConfig c =
          tiny.config({{"train.precision", precision}, {"zero.stage", stage}, {"cluster.gpus", "2"}});
      return collective_bytes(build_step_graph(c, build_step_program(c)));
    };
    CHECK(bytes("fp32") == 2 * bytes("bf16-mixed"));
  }
}

TEST_CASE("fp32 training: GEMMs at the fp32 or TF32 peak, calibration files not applied", "[fp32][compute]") {
  const GpuSpec a100 = find_gpu("a100-80gb-sxm");
  CHECK(matmul_peak_flops(a100, MatmulMath::tensor16) == Approx(312e12));
  CHECK(matmul_peak_flops(a100, MatmulMath::fp32) == Approx(19.5e12));
  CHECK(matmul_peak_flops(a100, MatmulMath::tf32) == Approx(156e12));
  CHECK(matmul_peak_flops(find_gpu("h100-80gb-sxm"), MatmulMath::tf32) == Approx(494.7e12));
  // A 4096³ GEMM, compute-bound at every peak: 1.374e11 FLOPs / (peak · 0.78 · 1024/1080, its 1,024 tiles
  // filling 108 SMs in 10 waves), so its times go as the peaks: 312/19.5 = 16 and 312/156 = 2.
  const ComputeModel model(a100);
  ComputeOp op;
  op.op = "linear_fwd";
  op.cls = OpClass::gemm;
  op.tokens = op.d_in = op.d_out = 4096;
  op.flops = 2.0 * 4096 * 4096 * 4096;
  op.bytes = 3.0 * 4 * 4096 * 4096;
  const double bf16 = model.seconds(op);
  op.math = MatmulMath::fp32;
  CHECK(model.seconds(op) == Approx(16.0 * bf16));
  op.math = MatmulMath::tf32;
  CHECK(model.seconds(op) == Approx(2.0 * bf16));
  // 1.374e11 / (19.5e12 · 0.78 · 1024/1080) = 9.530 ms.
  op.math = MatmulMath::fp32;
  CHECK(model.seconds(op) == Approx(9.530e-3).epsilon(1e-3));
  // Every op of an fp32 step carries its math; the 16-bit precisions keep tensor16.
  TinyLlama tiny;
  const auto math_of = [&](const std::vector<Override>& o) {
    return build_step_program(tiny.config(o)).forward.front().math;
  };
  CHECK(math_of({{"train.engine", "pytorch"}, {"train.precision", "fp32"}}) == MatmulMath::fp32);
  CHECK(math_of({{"train.engine", "pytorch"}, {"train.precision", "fp32"}, {"train.tf32", "true"}}) ==
        MatmulMath::tf32);
  CHECK(math_of({}) == MatmulMath::tensor16);
}

TEST_CASE("fp32 training: what is refused with it, and train.tf32 without it", "[fp32][config]") {
  TinyLlama tiny;
  const auto refused = [&](const std::vector<Override>& o) {
    return config_error_message([&] { tiny.config(o); });
  };
  CHECK_THAT(
      refused({{"train.tf32", "true"}}),
      Catch::Contains("'train.tf32'") && Catch::Contains("allowed with tf32: true: train.precision fp32"));
  CHECK_THAT(refused({{"train.precision", "fp32"}, {"train.loss", "chunked"}}),
             Catch::Contains("'train.loss'") && Catch::Contains("allowed with fp32: hf, hf-keep-outputs"));
  CHECK_THAT(
      refused({{"train.precision", "fp32"}, {"train.engine", "pytorch"}, {"train.optimizer", "bnb-8bit"}}),
      Catch::Contains("'train.optimizer'"));
  CHECK_THAT(refused({{"train.precision", "fp32"}, {"zero.stage", "2"}, {"zero.offload_optimizer", "cpu"}}),
             Catch::Contains("'train.precision'") && Catch::Contains("offload"));
  CHECK_THAT(
      refused({{"train.precision", "fp32"}, {"train.engine", "pytorch"}, {"quantization.method", "nf4"}}),
      Catch::Contains("fp32"));
  const RunConfig ok = tiny.config({{"train.precision", "fp32"}, {"train.tf32", "true"}});
  CHECK(ok.train.tf32);
  CHECK(ok.echo()["train"]["precision"] == "fp32");
  CHECK(ok.echo()["train"]["tf32"] == true);
  // The other precisions' echo is unchanged: no tf32 key.
  CHECK_FALSE(tiny.config().echo()["train"].contains("tf32"));
}
