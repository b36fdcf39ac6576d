// What DeepSpeed and peft allocate, per release (workloads/framework_behaviour.h, docs/memory-model.md §8):
// which rule applies for which versions, and the bytes each adds, worked by hand on a tiny LLaMA and on
// LLaMA-2-7B.
#include <algorithm>
#include <catch2/catch.hpp>

#include "program_ops.h"
#include "test_support.h"
#include "tiny_llama.h"
#include "workloads/framework_behaviour.h"
#include "workloads/memory_model.h"
#include "workloads/step_program.h"

using namespace zerosim;
using zerosim::testing::config_error_message;
using zerosim::testing::TinyLlama;

namespace {

// LLaMA-2-7B, DoRA r=16 on q_proj and v_proj, T = 2048, one A100-80GB (the seed case).
const char* kSeed = R"(
model: llama2-7b
peft: {method: dora, r: 16, alpha: 32, dropout: 0.0, target_modules: [q_proj, v_proj]}
train: {micro_batch: 1, seq_len: 2048, flash_attention: true, precision: bf16-mixed}
cluster: {gpu: a100-80gb-sxm, gpus: 1}
)";

RunConfig seed(std::vector<Override> more = {}) {
  return run_config_from_yaml(YAML::Load(kSeed), "seed.yaml", more);
}

// The tiny LLaMA of tiny_llama.h (h = 64, i = 128, 2 layers, q_dim 64, kv_dim 32, V = 100, T = 32).
using Tiny = TinyLlama;

int64_t saved_in_layer(const StepProgram& p, int layer) {
  int64_t s = 0;
  for (const auto& op : p.forward)
    if (op.layer == layer) s += op.saved_bytes;
  return s;
}

// Each of `bad` given as `key` is refused naming the key.
void check_releases_refused(const char* key, std::initializer_list<const char*> bad) {
  for (const char* release : bad) {
    INFO(key << " = " << release);
    CHECK_THAT(config_error_message([&] { seed({{key, release}}); }), Catch::Contains(key));
  }
}

int64_t saved_outside_layers(const StepProgram& p) {
  int64_t s = 0;
  for (const auto& op : p.forward)
    if (op.layer < 0) s += op.saved_bytes;
  return s;
}

}  // namespace

// ---- which rule holds for which releases ---------------------------------------------------------

TEST_CASE("ZeRO-3's linear wrapper: with zero.Init in every release, without it from DeepSpeed 0.19.4",
          "[framework][zero3]") {
  // partition_parameters.py Init.patch_init_and_builtins (0.10.0+); Init(module=...) from
  // deepspeed.initialize for a model built outside zero.Init (#8189, 0.19.4+).
  CHECK(framework_behaviour(seed({{"zero.stage", "3"}, {"versions.deepspeed", "0.10.0"}}))
            .zero3_linear_saves_input);
  CHECK(framework_behaviour(seed({{"zero.stage", "3"}})).zero3_linear_saves_input);
  CHECK_FALSE(framework_behaviour(
                  seed({{"zero.stage", "3"}, {"zero.zero3_init", "false"}, {"versions.deepspeed", "0.19.3"}}))
                  .zero3_linear_saves_input);
  CHECK(framework_behaviour(
            seed({{"zero.stage", "3"}, {"zero.zero3_init", "false"}, {"versions.deepspeed", "0.19.4"}}))
            .zero3_linear_saves_input);
  // Stages 0-2 never replace F.linear.
  for (const char* stage : {"0", "1", "2"})
    CHECK_FALSE(framework_behaviour(seed({{"zero.stage", stage}})).zero3_linear_saves_input);
}

TEST_CASE("adapter dtype: peft >= 0.12 upcasts; DeepSpeed casts back except a zero.Init model from 0.19.2",
          "[framework][dtype]") {
  auto dtype = [](std::vector<Override> o) { return framework_behaviour(seed(std::move(o))).adapter_dtype; };
  // DeepSpeed's engine, stages 0-2: module.bfloat16() (<= 0.19.1) or _cast_module_mixed_precision (0.19.2+).
  CHECK(dtype({}) == AdapterDtype::base);
  CHECK(dtype({{"zero.stage", "2"}}) == AdapterDtype::base);
  // Stage 3 with zero.Init: 0.19.1 still casts, 0.19.2 leaves peft's fp32 adapters alone (no autocast).
  CHECK(dtype({{"zero.stage", "3"}, {"versions.deepspeed", "0.19.1"}}) == AdapterDtype::base);
  CHECK(dtype({{"zero.stage", "3"}, {"versions.deepspeed", "0.19.2"}}) == AdapterDtype::fp32);
  CHECK(dtype({{"zero.stage", "3"}, {"zero.zero3_init", "false"}}) == AdapterDtype::base);
  // peft 0.11 creates the adapters in the base weight's dtype; autocast_adapter_dtype=False keeps it.
  CHECK(dtype({{"zero.stage", "3"}, {"versions.peft", "0.11.1"}}) == AdapterDtype::base);
  CHECK(dtype({{"zero.stage", "3"}, {"peft.autocast_adapter_dtype", "false"}}) == AdapterDtype::base);
  // Without DeepSpeed nothing casts them back: fp32, under torch.autocast with a *-mixed precision.
  CHECK(dtype({{"train.engine", "pytorch"}, {"train.precision", "bf16-pure"}}) == AdapterDtype::fp32);
  CHECK(dtype({{"train.engine", "pytorch"}}) == AdapterDtype::fp32_autocast);
  CHECK(dtype({{"train.engine", "pytorch"}, {"versions.peft", "0.11.0"}}) == AdapterDtype::base);
  CHECK(std::string(adapter_dtype_name(AdapterDtype::fp32_autocast)) == "fp32-autocast");
}

TEST_CASE("adapter dtype: peft before 0.7.0 never cast its adapters, which stay fp32", "[framework][dtype]") {
  auto dtype = [](std::vector<Override> o) {
    o.push_back({"peft.method", "lora"});
    return framework_behaviour(seed(std::move(o))).adapter_dtype;
  };
  // 0.5.x update_layer moves to the device only; 0.6.x finds no weight yet: fp32 nn.Linear adapters.
  CHECK(dtype({{"train.engine", "pytorch"}, {"versions.peft", "0.5.0"}}) == AdapterDtype::fp32_autocast);
  CHECK(dtype({{"train.engine", "pytorch"}, {"versions.peft", "0.6.2"}}) == AdapterDtype::fp32_autocast);
  CHECK(dtype({{"train.engine", "pytorch"}, {"versions.peft", "0.6.2"}, {"train.precision", "bf16-pure"}}) ==
        AdapterDtype::fp32);
  // 0.7.0 (#1106): update_layer casts them to the base weight's dtype.
  CHECK(dtype({{"train.engine", "pytorch"}, {"versions.peft", "0.7.0"}}) == AdapterDtype::base);
  // DeepSpeed's engine casts the whole module to bf16 whatever peft did.
  CHECK(dtype({{"versions.peft", "0.6.2"}}) == AdapterDtype::base);
  // The bytes: LoRA r = 16 on q_proj and v_proj of LLaMA-2-7B, 32 · 2 · 16 · (4096 + 4096) = 8,388,608
  // parameters; torch AdamW (no DeepSpeed) keeps params, .grad, exp_avg and exp_avg_sq in their dtype:
  // 0.6.2 fp32 4 · 8,388,608 = 33,554,432 B each (states 67,108,864); 0.7.0 bf16 half of each.
  auto states = [](const char* peft) {
    const RunConfig c = seed({{"peft.method", "lora"}, {"train.engine", "pytorch"}, {"versions.peft", peft}});
    return model_states(c, build_step_program(c));
  };
  const ModelStates old_peft = states("0.6.2"), new_peft = states("0.7.0");
  CHECK(old_peft.trainable_params == 33'554'432);
  CHECK(old_peft.optimizer_states == 67'108'864);
  CHECK(new_peft.trainable_params == 16'777'216);
  CHECK(new_peft.optimizer_states == 33'554'432);
}

TEST_CASE("a peft feature the stated release predates is refused naming versions.peft",
          "[framework][config]") {
  struct Case {
    std::vector<Override> set;
    const char* feature;
  };
  const std::vector<Case> cases = {
      {{{"versions.peft", "0.8.2"}}, "DoRA"},  // the seed config is DoRA: 0.9.0 (#1474)
      {{{"peft.method", "lora"}, {"peft.use_rslora", "true"}, {"versions.peft", "0.7.1"}}, "use_rslora"},
      {{{"peft.method", "lora"}, {"peft.target_modules", "all-linear"}, {"versions.peft", "0.7.1"}},
       "all-linear"},
      {{{"peft.method", "lora"}, {"peft.rank_pattern", "{v_proj: 8}"}, {"versions.peft", "0.5.0"}},
       "rank_pattern"},
      {{{"peft.exclude_modules", "[v_proj]"},
        {"peft.target_modules", "[q_proj, k_proj]"},
        {"versions.peft", "0.13.2"}},
       "exclude_modules"},
      {{{"peft.autocast_adapter_dtype", "false"}, {"versions.peft", "0.11.1"}}, "autocast_adapter_dtype"},
  };
  for (const Case& k : cases) {
    INFO(k.feature);
    CHECK_THAT(config_error_message([&] { seed(k.set); }), Catch::Contains("versions.peft") &&
                                                               Catch::Contains(k.feature) &&
                                                               Catch::Contains("arrived in"));
  }
  // At the release that added each, the same settings load.
  CHECK_NOTHROW(seed({{"peft.method", "lora"}, {"peft.use_rslora", "true"}, {"versions.peft", "0.8.0"}}));
  CHECK_NOTHROW(
      seed({{"peft.method", "lora"}, {"peft.rank_pattern", "{v_proj: 8}"}, {"versions.peft", "0.6.0"}}));
  CHECK_NOTHROW(seed({{"peft.method", "lora"}, {"versions.peft", "0.5.0"}}));
}

TEST_CASE(
    "torch's foreach AdamW: two intermediates per parameter up to 2.0.x, one from 2.1.0, one tensor each",
    "[framework][optimizer]") {
  Tiny tiny;
  auto states = [&](const char* torch) {
    const RunConfig c = tiny.config({{"peft.method", "lora"},
                                     {"train.engine", "pytorch"},
                                     {"train.optimizer", "foreach"},
                                     {"versions.torch", torch}});
    return model_states(c, build_step_program(c));
  };
  // LoRA r = 4, fp32 adapters (peft 0.20 without DeepSpeed), per layer: q lora_A 4·64 = 256 and lora_B 64·4 =
  // 256 elements, v lora_A 256 and lora_B 32·4 = 128: 1,024 + 1,024 + 1,024 + 512 B; 2 layers: 7,168 B.
  const ModelStates now = states("2.1.0"), old = states("2.0.1");
  CHECK(now.trainable_params == 7'168);
  CHECK(now.optimizer_temporaries == 7'168);   // _foreach_sqrt(v); eps added in place (#104898)
  CHECK(old.optimizer_temporaries == 14'336);  // 2.0.x: sqrt(v) and denom = _foreach_add(sqrt(v), eps)
  auto sorted = [](std::vector<int64_t> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  // One allocation per parameter per intermediate, as the caching allocator sees them.
  CHECK(sorted(now.optimizer_temporary_tensors) ==
        std::vector<int64_t>{512, 512, 1'024, 1'024, 1'024, 1'024, 1'024, 1'024});
  CHECK(old.optimizer_temporary_tensors.size() == 16);
  CHECK(framework_behaviour(seed({{"versions.torch", "2.0"}})).foreach_adam_intermediates == 2);
  CHECK(framework_behaviour(seed({{"versions.torch", "2.1"}})).foreach_adam_intermediates == 1);
  CHECK(framework_behaviour(seed()).foreach_adam_intermediates == 1);  // default: 2.6
}

TEST_CASE("versions.torch: releases outside 2.0-2.6.x and expandable segments before 2.1 are refused",
          "[framework][config]") {
  check_releases_refused("versions.torch", {"1.13.1", "2.7.0", "two"});
  CHECK(seed({{"versions.torch", "2.6.3+cu124"}}).versions.torch == Version{2, 6, 3});
  CHECK_THAT(
      config_error_message([] {
        seed({{"versions.torch", "2.0.1"}, {"memory.allocator.expandable_segments", "true"}});
      }),
      Catch::Contains("versions.torch") && Catch::Contains("expandable_segments") && Catch::Contains("2.1"));
  CHECK_NOTHROW(seed({{"versions.torch", "2.1.0"}, {"memory.allocator.expandable_segments", "true"}}));
  CHECK(seed({{"versions.torch", "2.0"}}).echo()["versions"]["torch"] == "2.0.0");
}

TEST_CASE("ZeRO-3 gathers at world size 1 only what parameter offload brings from the host",
          "[framework][zero3]") {
  CHECK_FALSE(framework_behaviour(seed({{"zero.stage", "3"}})).zero3_gathers);
  CHECK(framework_behaviour(seed({{"zero.stage", "3"}, {"cluster.gpus", "2"}})).zero3_gathers);
  CHECK(framework_behaviour(
            seed({{"zero.stage", "3"}, {"zero.offload_optimizer", "cpu"}, {"zero.offload_param", "cpu"}}))
            .zero3_gathers);
}

TEST_CASE("the stage-1/2 IPG bucket moved to the first gradient hook in DeepSpeed 0.17.2",
          "[framework][ipg]") {
  CHECK_FALSE(framework_behaviour(seed({{"zero.stage", "2"}, {"versions.deepspeed", "0.17.1"}}))
                  .ipg_bucket_at_first_gradient);
  CHECK(framework_behaviour(seed({{"zero.stage", "2"}, {"versions.deepspeed", "0.17.2"}}))
            .ipg_bucket_at_first_gradient);
}

TEST_CASE("train.engine, versions.peft, zero.zero3_init: bad values are refused naming the key",
          "[framework][config]") {
  CHECK_THAT(config_error_message([] {
               seed({{"train.engine", "accelerate"}});
             }),
             Catch::Contains("train.engine") && Catch::Contains("pytorch"));
  CHECK_THAT(config_error_message([] {
               seed({{"train.engine", "pytorch"}, {"zero.stage", "2"}});
             }),
             Catch::Contains("train.engine") && Catch::Contains("ZeRO stage 2"));
  check_releases_refused("versions.peft", {"0.4.0", "0.21.0", "latest"});
  CHECK(seed({{"versions.peft", "0.15.2.dev0"}}).versions.peft == Version{0, 15, 2});
  CHECK_THAT(config_error_message([] {
               seed({{"zero.zero3_init", "maybe"}});
             }),
             Catch::Contains("zero.zero3_init"));
  const nlohmann::json echo = seed({{"train.engine", "pytorch"}, {"versions.peft", "0.14"}}).echo();
  CHECK(echo["train"]["engine"] == "pytorch");
  CHECK(echo["versions"]["peft"] == "0.14.0");
  CHECK(echo["zero"]["zero3_init"] == true);
  CHECK(echo["peft"]["autocast_adapter_dtype"] == true);
}

// ---- the bytes -----------------------------------------------------------------------------------

TEST_CASE("ZeRO-3 keeps the input of every linear whose input requires grad, frozen or not",
          "[framework][zero3]") {
  Tiny tiny;
  // Stage 0 against stage 3 with DeepSpeed 0.19.1 and zero.Init: the wrapper on, the adapters still bf16.
  const StepProgram z0 = build_step_program(tiny.config());
  const StepProgram z3 =
      build_step_program(tiny.config({{"zero.stage", "3"}, {"versions.deepspeed", "0.19.1"}}));
  // Per layer: q, k, v read x, which lora_A of q already keeps (one storage, whoever saves it); o_proj's
  // input is flash-attn's saved output; the wrapper adds the post-attention norm's output read by gate and
  // up, 2·T·h = 2·32·64 = 4,096, and down's input, 2·T·i = 2·32·128 = 8,192: 12,288 bytes. Layer 0 too:
  // its gate/up/down inputs require grad once q and v are adapted.
  CHECK(saved_in_layer(z3, 0) - saved_in_layer(z0, 0) == 12'288);
  CHECK(saved_in_layer(z3, 1) - saved_in_layer(z0, 1) == 12'288);
  // The frozen lm_head keeps the final norm's output: 2·T·h = 4,096.
  CHECK(saved_outside_layers(z3) - saved_outside_layers(z0) == 4'096);
  // LLaMA-2-7B at T = 2048: 32 · 2·2048·(4096 + 11008) + 2·2048·4096 = 1,979,711,488 + 16,777,216
  // = 1,996,488,704 bytes (1.86 GiB) more at the loss, where every layer's tensors are live.
  const MemoryResult a = predict_memory(
      seed({{"zero.stage", "3"}, {"versions.deepspeed", "0.19.1"}, {"zero.zero3_init", "false"}}));
  const MemoryResult b = predict_memory(seed({{"zero.stage", "3"}, {"versions.deepspeed", "0.19.1"}}));
  CHECK(a.peak_at == "loss.cross_entropy_bwd");
  CHECK(b.peak_at == "loss.cross_entropy_bwd");
  CHECK(b.breakdown[MemComponent::activations] - a.breakdown[MemComponent::activations] == 1'996'488'704);
}

TEST_CASE("ZeRO-3 saves a tensor read by several linears once: q, k and v share x", "[framework][zero3]") {
  Tiny tiny;
  // DoRA on o_proj only: nothing before o_proj requires grad in layer 0, so its q/k/v keep nothing.
  const StepProgram z0 = build_step_program(tiny.config({}, "[o_proj]"));
  const StepProgram z3 =
      build_step_program(tiny.config({{"zero.stage", "3"}, {"versions.deepspeed", "0.19.1"}}, "[o_proj]"));
  // Layer 0: gate/up input 4,096 + down input 8,192 = 12,288.
  CHECK(saved_in_layer(z3, 0) - saved_in_layer(z0, 0) == 12'288);
  // Layer 1: its input requires grad, so q, k and v each save x under the wrapper, one 2·T·h = 4,096
  // storage for the three; + 12,288 = 16,384 (not 3·4,096 + 12,288).
  CHECK(saved_in_layer(z3, 1) - saved_in_layer(z0, 1) == 16'384);
}

TEST_CASE("ZeRO-3 on one GPU holds no gathered copies", "[framework][zero3]") {
  // Stage 0 and stage 3 at N = 1 (0.19.1, no wrapper, bf16 adapters) have the same temporaries at the
  // peak: the loss gradients 8·T·V = 8·2048·32000 = 524,288,000 bytes; the 1.89 GiB of gathered layers
  // of N > 1 is gone.
  const std::vector<Override> plain = {{"versions.deepspeed", "0.19.1"}, {"zero.zero3_init", "false"}};
  std::vector<Override> z3 = plain;
  z3.push_back({"zero.stage", "3"});
  const MemoryResult one = predict_memory(seed(z3));
  CHECK(one.breakdown[MemComponent::temporaries] == 524'288'000);
  CHECK(one.breakdown[MemComponent::temporaries] ==
        predict_memory(seed(plain)).breakdown[MemComponent::temporaries]);
  // Two GPUs, or parameter offload on one (NoGatherHandle copies the host partition to the GPU): gathered.
  z3.push_back({"cluster.gpus", "2"});
  CHECK(predict_memory(seed(z3)).breakdown[MemComponent::temporaries] > 524'288'000 + 1'000'000'000);
}

TEST_CASE("the IPG bucket is allocated at the first trainable gradient from DeepSpeed 0.17.2",
          "[framework][ipg]") {
  // Stage 2, N = 1: static states 2Ψf + 2Ψt (params) + 2Ψt (gradient partition) + 12Ψt (Adam)
  // = 13,476,831,232 + 17,301,504 + 17,301,504 + 103,809,024 = 13,615,243,264; bucket 2 · 5e8 = 1e9.
  const MemoryResult old = predict_memory(seed({{"zero.stage", "2"}, {"versions.deepspeed", "0.17.1"}}));
  const MemoryResult now = predict_memory(seed({{"zero.stage", "2"}, {"versions.deepspeed", "0.17.2"}}));
  // 0.17.1: the bucket from backward()'s start, live at the loss backward with every activation
  // (11,584,667,648) and the fp32 loss gradients (524,288,000): 13,615,243,264 + 13,108,955,648.
  CHECK(old.peak_at == "loss.cross_entropy_bwd");
  CHECK(old.peak_allocated_bytes == 26'724'198'912);
  // 0.17.2: the first trainable gradient is DoRA's magnitude in the last layer's v_proj combine backward;
  // by then the loss output (4·T·V = 262,144,000) and the final norm's tensors (33,562,624) are freed:
  // 11,288,961,024 activations + the combine's 2·2·T·4096 = 33,554,432 + 1e9 = 12,322,515,456.
  CHECK(now.peak_at == "L31.v_proj.dora_combine_bwd");
  CHECK(now.peak_allocated_bytes == 13'615'243'264 + 12'322'515'456);
}

TEST_CASE("fp32 adapters without autocast: peft's fp32 copy of x per module, fp32 h and lora_result",
          "[framework][dtype]") {
  Tiny tiny;
  const StepProgram bf16 = build_step_program(tiny.config());
  const RunConfig c = tiny.config({{"train.engine", "pytorch"}, {"train.precision", "bf16-pure"}});
  const StepProgram fp32 = build_step_program(c);
  // bf16, per layer: x 2·T·h = 4,096 once for q and v; q: h 2·T·r = 256, combine 4·T·64 + 6·64 = 8,576;
  // v: 256 + 4·T·32 + 6·32 = 4,288 → 17,472 bytes of adapter tensors.
  // fp32: q keeps its own fp32 x 4·T·h = 8,192, h 4·T·r = 512, combine (2 + 4)·T·64 + 12·64 = 13,056;
  // v: 8,192 + 512 + 6·T·32 + 12·32 = 15,232 → 36,992; 19,520 more per layer.
  CHECK(saved_in_layer(fp32, 0) - saved_in_layer(bf16, 0) == 19'520);
  CHECK(saved_in_layer(fp32, 1) - saved_in_layer(bf16, 1) == 19'520);
  // torch AdamW on the parameters as they are: Ψt = 2 · (q 256 + 256 + 64, v 256 + 128 + 32) = 1,984 fp32
  // elements → params 7,936, .grad 7,936 during backward, exp_avg + exp_avg_sq 15,872; no master copy.
  const ModelStates s = model_states(c, fp32);
  CHECK(s.trainable_params == 7'936);
  CHECK(s.gradients_in_backward == 7'936);
  CHECK(s.optimizer_states == 15'872);
  CHECK(s.optimizer_temporaries == 0);  // fused
  CHECK(s.frozen_params == 173'696);    // 2 · 86,848 bf16
  CHECK(s.backward_buffers + s.boundary_buffers + s.persistent_buffers == 0);
}

TEST_CASE("fp32 adapters under autocast: a bf16 cast of x per module and cached bf16 adapter weights",
          "[framework][dtype]") {
  Tiny tiny;
  const StepProgram bf16 = build_step_program(tiny.config());
  const StepProgram amp = build_step_program(tiny.config({{"train.engine", "pytorch"}}));
  // q: the bf16 cast of peft's fp32 x 2·T·h = 4,096, h 256, A and B in bf16 2·4·(64 + 64) = 1,024,
  // combine 4·T·64 + 3·4·64 = 8,960 → 14,336; v: 4,096 + 256 + 2·4·(64 + 32) + 4·T·32 + 12·32 = 9,600;
  // 23,936 against bf16's 17,472: 6,464 more per layer.
  CHECK(saved_in_layer(amp, 0) - saved_in_layer(bf16, 0) == 6'464);
  CHECK(saved_in_layer(amp, 1) - saved_in_layer(bf16, 1) == 6'464);
}

TEST_CASE("DoRA's weight-norm transients per adapter dtype", "[framework][dtype][dora]") {
  // LLaMA-2-7B q_proj, r = 16. bf16: 2·(4096² + 4096·16 + 3·4096²) = 134,348,800 (existing).
  CHECK(dora_weight_norm_transient_bytes(4096, 4096, 16) == 134'348'800);
  // fp32: eye, lora_A(eye), lora_weight, W0.to(fp32), the scaled copy and the sum:
  // 4·(16,777,216 + 65,536 + 4·16,777,216) = 4·83,951,616 = 335,806,464.
  CHECK(dora_weight_norm_transient_bytes(4096, 4096, 16, AdapterDtype::fp32) == 335'806'464);
  // fp32 under autocast: bf16 eye 2·16,777,216, bf16 lora_A(eye) 2·65,536, and four fp32 4096² tensors
  // 16·16,777,216: 33,554,432 + 131,072 + 268,435,456 = 302,120,960.
  CHECK(dora_weight_norm_transient_bytes(4096, 4096, 16, AdapterDtype::fp32_autocast) == 302'120'960);
}

TEST_CASE(
    "the seed case under ZeRO-3 at DeepSpeed 0.19.5: +1.86 GiB of linear inputs, +2.99 GiB of fp32 adapters",
    "[framework][seed]") {
  const MemoryResult bf16 =
      predict_memory(seed({{"zero.stage", "3"}, {"cluster.gpus", "4"}, {"versions.deepspeed", "0.19.1"}}));
  const MemoryResult fp32 = predict_memory(seed({{"zero.stage", "3"}, {"cluster.gpus", "4"}}));
  // Layers 1-31 (x requires grad; the wrapper keeps the bf16 x): q and v each add their fp32 x
  // 4·T·4096 = 33,554,432, h 2·T·16 more = 65,536, lora_result 2·T·4096 more = 16,777,216 and 3·2·4096 =
  // 24,576 of fp32 vectors: 2 · 50,421,760 = 100,843,520. Layer 0 (nobody needs the bf16 x): 2 · 4·T·4096
  // − 2·T·4096 + 2 · (65,536 + 16,777,216 + 24,576) = 84,066,304.
  // 31 · 100,843,520 + 84,066,304 = 3,210,215,424 bytes (2.99 GiB).
  CHECK(fp32.breakdown[MemComponent::activations] - bf16.breakdown[MemComponent::activations] ==
        3'210'215'424);
  // The adapters themselves: 4 B instead of 2 for Ψt = 8,650,752 (all persistent): 17,301,504 more.
  CHECK(fp32.states.trainable_params - bf16.states.trainable_params == 17'301'504);
  // ...and they are the fp32 master weights (stage3.py _create_fp32_partitions): Adam keeps m and v only,
  // 8 B instead of 12 B per element of the rank's partition Ψt/4 = 2,162,688: 25,952,256 → 17,301,504.
  CHECK(bf16.states.optimizer_states == 25'952'256);
  CHECK(fp32.states.optimizer_states == 17'301'504);
}

// ---- PyTorch AMP: fp32 weights under torch.autocast ---------------------------------------------

TEST_CASE(
    "AMP with fp32 weights: frozen linears keep autocast's bf16 weight copies once their input needs grad",
    "[framework][amp]") {
  Tiny tiny;
  const RunConfig bf16 = tiny.config({{"train.engine", "pytorch"}});  // autocast over bf16 weights
  const RunConfig amp = tiny.config({{"train.engine", "pytorch"}, {"train.precision", "amp-bf16"}});
  const StepProgram b = build_step_program(bf16), a = build_step_program(amp);
  // Layer 0: q, k, v read x, which needs no grad (nothing before them is trainable): no copies. From o_proj
  // on every input requires grad, and mm keeps the bf16 cast of each frozen weight for dX: o 2·64·64 =
  // 8,192, gate and up 2·64·128 = 16,384 each, down 16,384 → 57,344.
  CHECK(saved_in_layer(a, 0) - saved_in_layer(b, 0) == 57'344);
  // Layer 1: q 8,192, k and v 2·64·32 = 4,096 each, + 57,344 = 73,728.
  CHECK(saved_in_layer(a, 1) - saved_in_layer(b, 1) == 73'728);
  // lm_head: its bf16 cast 2·64·100 = 12,800.
  CHECK(saved_outside_layers(a) - saved_outside_layers(b) == 12'800);
  // Model states: the frozen base in fp32, 4 · 86,848 = 347,392; the adapters fp32 either way (7,936).
  const ModelStates s = model_states(amp, a);
  CHECK(s.frozen_params == 347'392);
  CHECK(s.trainable_params == 7'936);
  // The fp32 residual stream: a checkpointed layer keeps its fp32 input, 4·T·h = 8,192 (bf16: 4,096).
  CHECK(build_step_program(tiny.config({{"train.engine", "pytorch"},
                                        {"train.precision", "amp-bf16"},
                                        {"train.activation_checkpointing", "true"}}))
            .checkpoint_bytes_per_layer == 8'192);
  // DeepSpeed's engine never runs fp32 weights under autocast.
  CHECK_THAT(config_error_message([&] {
               tiny.config({{"train.precision", "amp-bf16"}});
             }),
             Catch::Contains("train.precision") && Catch::Contains("train.engine: pytorch"));
}

TEST_CASE("AMP full fine-tuning: every linear keeps its own bf16 cast of a norm's fp32 output",
          "[framework][amp]") {
  Tiny tiny;
  const std::vector<Override> full = {{"peft.method", "none"}, {"train.engine", "pytorch"}};
  std::vector<Override> full_amp = full;
  full_amp.push_back({"train.precision", "amp-bf16"});
  const StepProgram b = build_step_program(tiny.config(full));  // autocast over bf16 weights
  const StepProgram a = build_step_program(tiny.config(full_amp));
  // Per layer: both norms keep the normalised x in fp32 (+2·T·h = 4,096 each); q, k, v each keep their bf16
  // cast of the fp32 input (3 · 4,096 instead of one shared 4,096: +8,192), gate and up likewise (+4,096);
  // down's input is bf16 and kept once as before; the weight casts q 8,192 + k 4,096 + v 4,096 + o 8,192
  // + gate, up, down 3 · 16,384 = 73,728. 8,192 + 8,192 + 4,096 + 73,728 = 94,208.
  CHECK(saved_in_layer(a, 0) - saved_in_layer(b, 0) == 94'208);
  CHECK(saved_in_layer(a, 1) - saved_in_layer(b, 1) == 94'208);
  // Final norm's fp32 normalised x +4,096; lm_head's bf16 input cast 2·T·h = 4,096 and weight cast 12,800.
  CHECK(saved_outside_layers(a) - saved_outside_layers(b) == 20'992);
  // fp32 parameters, .grad and Adam's m and v: 4 + 4 + 8 B per element of 86,848.
  const ModelStates s = model_states(tiny.config(full_amp), a);
  CHECK(s.trainable_params == 347'392);
  CHECK(s.gradients_in_backward == 347'392);
  CHECK(s.optimizer_states == 694'784);
  CHECK(adam_step_bytes_per_param(Precision::amp_bf16, OptimizerImpl::foreach) == 72.0);
}

// ---- QLoRA: what bitsandbytes' MatMul4Bit keeps, per release ---------------------------------------

TEST_CASE("MatMul4Bit keeps its input up to bitsandbytes 0.43.1 and none from 0.43.2",
          "[framework][quantization]") {
  Tiny tiny;
  // NF4 under DeepSpeed's engine (bf16 residual stream), stage 0. 0.43.1: ctx.tensors = (A, B); 0.43.2
  // (#1270): (None, B). Per layer, as ZeRO-3's wrapper: q, k, v read x, which lora_A of q keeps anyway;
  // o_proj's input is flash-attn's saved output; the post-attention norm's output read by gate and up,
  // 2·T·h = 2·32·64 = 4,096, and down's input, 2·T·i = 2·32·128 = 8,192: 12,288 bytes per layer. The
  // lm_head stays 16-bit (transformers keeps the output layer unquantized): nothing changes outside.
  const StepProgram old_bnb =
      build_step_program(tiny.config({{"quantization.method", "nf4"}, {"versions.bitsandbytes", "0.43.1"}}));
  const StepProgram new_bnb =
      build_step_program(tiny.config({{"quantization.method", "nf4"}, {"versions.bitsandbytes", "0.43.2"}}));
  CHECK(saved_in_layer(old_bnb, 0) - saved_in_layer(new_bnb, 0) == 12'288);
  CHECK(saved_in_layer(old_bnb, 1) - saved_in_layer(new_bnb, 1) == 12'288);
  CHECK(saved_outside_layers(old_bnb) == saved_outside_layers(new_bnb));
  CHECK(
      framework_behaviour(tiny.config({{"quantization.method", "nf4"}, {"versions.bitsandbytes", "0.43.1"}}))
          .bnb_4bit_saves_input);
  CHECK_FALSE(framework_behaviour(tiny.config({{"quantization.method", "nf4"}})).bnb_4bit_saves_input);
  // Under ZeRO-3 its F.linear wrapper runs inside MatMul4Bit's forward, where autograd records nothing:
  // a 4-bit linear keeps what its bitsandbytes release keeps, none from 0.43.2.
  const StepProgram z3 = build_step_program(tiny.config(
      {{"quantization.method", "nf4"}, {"quantization.quant_storage", "bf16"}, {"zero.stage", "3"}}));
  CHECK(saved_in_layer(z3, 1) == saved_in_layer(new_bnb, 1));
}

TEST_CASE("MatMul4Bit's ctx.tensors outlive backward: a loop that keeps its outputs holds them a step longer",
          "[framework][quantization]") {
  Tiny tiny;
  // litgpt's loop (train.loss litgpt) keeps `logits` and `loss`, and with them the graph, until the next
  // loss rebinds them. bitsandbytes 0.43.1 keeps each 4-bit linear's A in ctx.tensors, which autograd's
  // release after backward does not clear. Every linear 4-bit (litgpt's plugin: skip_modules []), A kept
  // where it requires grad. Layer 0 (its input x needs no grad): o_proj's input 2·T·q_dim = 2·32·64 = 4,096,
  // gate/up's 2·T·h = 4,096, down's 2·T·i = 2·32·128 = 8,192 → 16,384; layer 1 adds q/k/v's x, 4,096 →
  // 20,480; the lm_head's input 2·T·h = 4,096: 40,960 bytes. The previous logits, Fabric's fp32 list
  // 4·T·V = 4·32·100 = 12,800, come first (the head's forward drops them).
  const std::vector<Override> qlora = {{"quantization.method", "nf4"},
                                       {"quantization.skip_modules", "[]"},
                                       {"train.loss", "litgpt"},
                                       {"train.precision", "bf16-pure"}};
  auto with = [&](std::vector<Override> more) {
    std::vector<Override> o = qlora;
    o.insert(o.end(), more.begin(), more.end());
    return build_step_program(tiny.config(o));
  };
  const StepProgram old_bnb = with({{"versions.bitsandbytes", "0.43.1"}});
  const StepProgram new_bnb = with({{"versions.bitsandbytes", "0.43.2"}});
  REQUIRE(old_bnb.forward.front().saved_tensors.size() >= 2);
  CHECK(old_bnb.forward.front().saved_tensors[0] == 12'800);
  CHECK(old_bnb.forward.front().saved_tensors[1] == 40'960);
  CHECK(old_bnb.forward.back().releases_oldest_bytes == 40'960);  // at the loss that rebinds `loss`
  CHECK(old_bnb.forward.front().saved_bytes - new_bnb.forward.front().saved_bytes == 40'960);
  CHECK(new_bnb.forward.front().saved_tensors.front() == 12'800);
  // HF Trainer drops the outputs before backward: nothing held over. Checkpointing: the layers' graphs are
  // the recompute's, gone with their backward; the head's input alone stays (2·T·h = 4,096).
  const StepProgram hf = with({{"versions.bitsandbytes", "0.43.1"}, {"train.loss", "hf"}});
  CHECK(hf.forward.back().releases_oldest_bytes == 0);
  const StepProgram ckpt =
      with({{"versions.bitsandbytes", "0.43.1"}, {"train.activation_checkpointing", "true"}});
  CHECK(ckpt.forward.back().releases_oldest_bytes == 4'096);
}

TEST_CASE("litgpt's model code: bf16 RMSNorm, v as a view of qkv, one dropout and index_copy for q/k/v LoRA",
          "[framework][loss]") {
  Tiny tiny;
  // LoRA r = 4 with dropout 0.05 on q_proj and v_proj, bf16 (DeepSpeed stage 0 casts the adapters). Layer 1
  // (its input requires grad), per token T = 32:
  //   RMSNorm, twice: transformers keeps the fp32 copy 4·T·h + rsqrt 4·T = 8,192 + 128; litgpt's bf16 norm
  //     keeps x 2·T·h + rsqrt 2·T = 4,096 + 64: 2 · −4,160 = −8,320.
  //   Attention: litgpt's v is a view of qkv, so SDPA's saved v holds 2·T·(q_dim + 2·kv_dim) = 2·32·128 =
  //     8,192 instead of 2·T·kv_dim = 2,048: +6,144.
  //   LoRA: one dropout for the fused q/k/v adapter, mask and output 3·T·h = 6,144, not one per module:
  //     −6,144; zero_pad's index_copy keeps its source 2·T·(64 + 32) = 6,144: +6,144.
  //   −8,320 + 6,144 − 6,144 + 6,144 = −2,176 bytes.
  const std::vector<Override> lora = {{"peft.method", "lora"}, {"peft.dropout", "0.05"}};
  auto with_loss = [&](const char* loss, const std::string& targets = "[q_proj, v_proj]") {
    std::vector<Override> o = lora;
    o.push_back({"train.loss", loss});
    return build_step_program(tiny.config(o, targets));
  };
  const StepProgram hf = with_loss("hf"), lit = with_loss("litgpt");
  CHECK(saved_in_layer(lit, 1) - saved_in_layer(hf, 1) == -2'176);
  // q, k and v all adapted: zero_pad returns the adapter output itself, no index_copy: −2,176 − 6,144 for
  // the source, and the third module's dropout is shared too (−6,144).
  const std::string qkv = "[q_proj, k_proj, v_proj]";
  CHECK(saved_in_layer(with_loss("litgpt", qkv), 1) - saved_in_layer(with_loss("hf", qkv), 1) ==
        -2'176 - 6'144 - 6'144);
}

// ---- QLoRA after prepare_model_for_kbit_training: the fp32 residual stream --------------------------

TEST_CASE("QLoRA with prepare_model_for_kbit_training: fp32 norms make the residual stream and the MLP fp32",
          "[framework][quantization]") {
  Tiny tiny;
  // bitsandbytes 0.43.1, whose MatMul4Bit keeps its (cast) input; from 0.43.2 it keeps none (next case).
  const std::vector<Override> qlora = {
      {"train.engine", "pytorch"}, {"quantization.method", "nf4"}, {"versions.bitsandbytes", "0.43.1"}};
  std::vector<Override> plain_kbit = qlora;
  plain_kbit.push_back({"quantization.prepare_kbit_training", "false"});
  const StepProgram k = build_step_program(tiny.config(qlora)),
                    p = build_step_program(tiny.config(plain_kbit));
  // fp32 norm weights times their input and Linear4bit's out.to(inp_dtype): every 4-bit linear reading a
  // norm's fp32 output casts it to bf16 itself (x.to(compute_dtype)) and MatMul4Bit keeps that cast, so
  // q, k, v keep three 2·T·h = 4,096 copies instead of one shared (+8,192) and gate and up two (+4,096);
  // gate's and up's outputs are fp32, so SwiGLU keeps gate, silu(gate) and up at 4 B: 3·(4 − 2)·T·i =
  // 3·2·32·128 = +24,576; down keeps its own bf16 cast of the fp32 product either way.
  // Layer 0: q, k, v read an input that needs no grad and keep nothing: 4,096 + 24,576 = 28,672.
  CHECK(saved_in_layer(k, 0) - saved_in_layer(p, 0) == 28'672);
  // Layer 1: 8,192 + 4,096 + 24,576 = 36,864.
  CHECK(saved_in_layer(k, 1) - saved_in_layer(p, 1) == 36'864);
  // lm_head (unquantized, fp32 after prepare_model_for_kbit_training) under autocast: mm keeps the bf16
  // cast of its weight for dX, 2·h·V = 2·64·100 = 12,800.
  CHECK(saved_outside_layers(k) - saved_outside_layers(p) == 12'800);
  // A checkpointed layer keeps its fp32 input: 4·T·h = 8,192 (bf16: 4,096).
  std::vector<Override> ckpt = qlora;
  ckpt.push_back({"train.activation_checkpointing", "true"});
  CHECK(build_step_program(tiny.config(ckpt)).checkpoint_bytes_per_layer == 8'192);
  plain_kbit.push_back({"train.activation_checkpointing", "true"});
  CHECK(build_step_program(tiny.config(plain_kbit)).checkpoint_bytes_per_layer == 4'096);
  // Under DeepSpeed's engine the module is cast back to bf16: prepare_kbit_training changes nothing.
  const StepProgram d = build_step_program(tiny.config({{"quantization.method", "nf4"}}));
  const StepProgram dp = build_step_program(
      tiny.config({{"quantization.method", "nf4"}, {"quantization.prepare_kbit_training", "false"}}));
  CHECK(saved_in_layer(d, 1) == saved_in_layer(dp, 1));
  CHECK(saved_outside_layers(d) == saved_outside_layers(dp));
}

// ---- 8-bit weights (LLM.int8()) ------------------------------------------------------------------

TEST_CASE("LLM.int8(): the input quantized, an int8 GEMM, the input kept; per bitsandbytes release",
          "[framework][quantization]") {
  Tiny tiny;
  const std::vector<Override> int8 = {{"train.engine", "pytorch"},
                                      {"quantization.method", "int8"},
                                      {"quantization.prepare_kbit_training", "false"}};
  const StepProgram p = build_step_program(tiny.config(int8));
  // Layer 1's q, k, v read an input that needs grad: the first keeps it (2·T·h = 2·32·64 = 4,096), shared.
  const ComputeOp& q = zerosim::testing::find_op(p, "L1.q_proj.linear_fwd");
  CHECK(q.op == "linear_fwd_int8");
  CHECK(q.cls == OpClass::gemm_int8);
  CHECK(q.saved_bytes == 4'096);
  CHECK(zerosim::testing::find_op(p, "L1.k_proj.linear_fwd").saved_bytes == 0);
  CHECK(q.transient_bytes == 4 * 32 * 64);  // the int32 result, 4·T·d_out
  // The default outlier threshold (6.0): the quantization reads the outlier count on the host.
  const ComputeOp& quant = zerosim::testing::find_op(p, "L1.q_proj.int8_quantize");
  CHECK(quant.host_sync);
  CHECK(quant.kernels == 7);
  CHECK(quant.saved_bytes == 0);
  // Before 0.45.0 double_quant also keeps the transposed int8 copy CAt: T·d_in = 2,048 per linear.
  std::vector<Override> old = int8;
  old.push_back({"versions.bitsandbytes", "0.43.0"});
  CHECK(zerosim::testing::find_op(build_step_program(tiny.config(old)), "L1.q_proj.int8_quantize")
            .saved_bytes == 2'048);
  // Without outlier decomposition nothing is read on the host.
  std::vector<Override> plain = int8;
  plain.push_back({"quantization.threshold", "0"});
  CHECK_FALSE(
      zerosim::testing::find_op(build_step_program(tiny.config(plain)), "L1.q_proj.int8_quantize").host_sync);
  // dX dequantizes the int8 weight into the input's dtype: 2·64·64 = 8,192 B transient for q.
  CHECK(zerosim::testing::find_op(p, "L1.q_proj.linear_dx").transient_bytes >= 8'192);
}
