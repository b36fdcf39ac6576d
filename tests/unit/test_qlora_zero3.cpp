// QLoRA under ZeRO-3 (docs/memory-model.md §9): DeepSpeed partitions each 4-bit weight as the 16-bit tensor
// bitsandbytes packed it into (bnb_4bit_quant_storage), keeps its quant state whole on every rank, and
// gathers the packed bytes; transformers builds the model outside zero.Init. Counted by hand on the tiny
// model.
#include <catch2/catch.hpp>

#include "test_support.h"
#include "tiny_llama.h"
#include "workloads/framework_behaviour.h"
#include "workloads/memory_model.h"
#include "workloads/zero3_schedule.h"

using namespace zerosim;
using zerosim::testing::config_error_message;

namespace {

const ParamModule& module_named(const StepProgram& p, const std::string& name) {
  for (const auto& m : p.modules)
    if (m.name == name) return m;
  FAIL("no module " << name);
  return p.modules.front();
}

// NF4 without double quantization, bf16 storage, ZeRO-3 on 2 GPUs with nothing persistent.
RunConfig nf4_zero3_on_two(const zerosim::testing::TinyLlama& tiny) {
  return tiny.config({{"quantization.method", "nf4"},
                      {"quantization.quant_storage", "bf16"},
                      {"zero.stage", "3"},
                      {"zero.stage3_param_persistence_threshold", "0"},
                      {"cluster.gpus", "2"}});
}

}  // namespace

TEST_CASE("QLoRA under ZeRO-3: packed 16-bit storage partitioned, quant state kept whole", "[qlora][zero3]") {
  zerosim::testing::TinyLlama tiny;
  const RunConfig c = nf4_zero3_on_two(tiny);
  const StepProgram p = build_step_program(c);
  const FrameworkBehaviour fw = framework_behaviour(c);
  // q_proj 64 x 64 = 4,096 weights: bitsandbytes packs them into (4,096 + 1) // 4 = 1,024 bf16 elements;
  // ZeRO-3 keeps ⌈1,024 / 2⌉ = 512 of them (1,024 B) and the quant state whole: 4,096 / 64 = 64 blocks,
  // an fp32 absmax each, 256 B. 1,024 + 256 = 1,280 B.
  const ParamModule& q = module_named(p, "layers.0.q_proj");
  CHECK(q.packed_weight == 1'024);
  CHECK(zero3_gathered_numel(q, 0) == 1'024);
  CHECK(quant_state_bytes(q, c) == 256);
  CHECK(resident_param_numel(q, c) == 512);
  CHECK(resident_param_bytes(q, c, fw) == 1'280);
  // gate_proj 64 x 128 = 8,192: 2,048 elements, 1,024 kept (2,048 B), 128 blocks (512 B) = 2,560 B.
  const ParamModule& gate = module_named(p, "layers.0.gate_proj");
  CHECK(gate.packed_weight == 2'048);
  CHECK(resident_param_bytes(gate, c, fw) == 2'560);
  // The unquantized lm_head (transformers skips it) and the adapters are partitioned as 16-bit tensors.
  CHECK(module_named(p, "lm_head").packed_weight == 0);
  // Every rank gathers the packed bytes: q_proj's all-gather moves 2 B x 1,024 = 2,048 B, a quarter of its
  // bf16 weight (8,192 B).
  const Zero3Schedule plan = plan_zero3(p, c.zero);
  for (size_t i = 0; i < p.modules.size(); ++i)
    if (p.modules[i].name == "layers.0.q_proj") CHECK(plan.gathered_numel[i] == 1'024);
  // transformers never builds a quantized model inside zero.Init.
  CHECK(c.zero.zero3_init);
  CHECK_FALSE(built_in_zero_init(c));
}

TEST_CASE("QLoRA under ZeRO-3: the frozen bytes are the modules' resident bytes", "[qlora][zero3][memory]") {
  zerosim::testing::TinyLlama tiny;
  const RunConfig c = nf4_zero3_on_two(tiny);
  const StepProgram p = build_step_program(c);
  // Per layer: q 1,280, k and v 512 elements -> 256 kept (512 B) + 32 blocks (128 B) = 640 each, o 1,280,
  // gate, up, down 2,560 each: 11,520 B; two layers 23,040. The embedding (100 x 64) and lm_head (64 x 100)
  // in bf16: 3,200 elements kept each, 6,400 B each; five norms of 64: 32 kept, 64 B each, 320.
  // 23,040 + 12,800 + 320 = 36,160 B.
  CHECK(model_states(c, p).frozen_params == 36'160);
  const MemoryResult m = predict_memory(c, p);
  CHECK(m.peak_at != "model loading (before ZeRO-3 partitions the parameters)");
}

TEST_CASE("QLoRA under ZeRO-3: what is not modelled is exit 2", "[qlora][zero3][errors]") {
  zerosim::testing::TinyLlama tiny;
  const auto refused = [&](std::vector<Override> more) {
    more.push_back({"zero.stage", "3"});
    return config_error_message([&] { tiny.config(more); });
  };
  CHECK_THAT(refused({{"quantization.method", "nf4"}}),
             Catch::Contains("quant_storage uint8") && Catch::Contains("bf16, fp16"));
  CHECK_THAT(refused({{"quantization.method", "nf4"}, {"quantization.quant_storage", "fp32"}}),
             Catch::Contains("quant_storage fp32"));
  CHECK_THAT(refused({{"quantization.method", "int8"}}), Catch::Contains("LLM.int8() under ZeRO-3"));
  CHECK_THAT(refused({{"quantization.method", "nf4"},
                      {"quantization.quant_storage", "bf16"},
                      {"versions.bitsandbytes", "0.42.0"}}),
             Catch::Contains("versions.bitsandbytes") && Catch::Contains("0.43.0"));
  CHECK_THAT(refused({{"quantization.method", "nf4"},
                      {"quantization.quant_storage", "bf16"},
                      {"versions.transformers", "4.38.2"}}),
             Catch::Contains("versions.transformers") && Catch::Contains("4.39"));
  CHECK_THAT(config_error_message([&] {
               tiny.config({{"quantization.method", "int8"}, {"quantization.quant_storage", "bf16"}});
             }),
             Catch::Contains("quantization.quant_storage"));
  CHECK_THAT(config_error_message([&] {
               tiny.config({{"quantization.method", "nf4"}, {"quantization.quant_storage", "int4"}});
             }),
             Catch::Contains("quantization.quant_storage") && Catch::Contains("uint8, bf16, fp16, fp32"));
}
