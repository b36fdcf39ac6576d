// QLoRA's storage and inputs (workloads/quantization.h, docs/memory-model.md §9), worked by hand.
#include <catch2/catch.hpp>

#include "test_support.h"
#include "workloads/framework_behaviour.h"
#include "workloads/quantization.h"
#include "workloads/run_config.h"

using namespace zerosim;
using zerosim::testing::config_error_message;

TEST_CASE("4-bit storage: half a byte per weight plus the block constants", "[quantization]") {
  QuantSpec q;
  q.method = QuantMethod::nf4;
  // 4096 x 4096 = 16,777,216 weights: 8,388,608 B packed; 262,144 blocks of 64 with an fp32 absmax each:
  // 1,048,576 B. Total 9,437,184 B = 0.5625 B per weight.
  CHECK(quantized_weight_bytes(4096 * 4096, 4096, q) == 8'388'608 + 1'048'576);
  // Double quantization: the 262,144 absmax as uint8 (262,144 B), 1,024 fp32 absmax of 256 of them
  // (4,096 B) and one fp32 offset (4 B): 8,388,608 + 262,144 + 4,096 + 4 = 8,654,852 B.
  q.double_quant = true;
  CHECK(quantized_weight_bytes(4096 * 4096, 4096, q) == 8'654'852);
  // An odd count rounds up: 65 weights are 33 packed bytes and 2 blocks.
  q.double_quant = false;
  CHECK(quantized_weight_bytes(65, 1, q) == 33 + 8);
}

TEST_CASE("quantization key: values and errors name the key", "[quantization][config]") {
  const auto q = parse_quantization(YAML::Load("{method: nf4, double_quant: true, skip_modules: [], "
                                               "prepare_kbit_training: false, compute_dtype: fp16}"),
                                    "run.yaml");
  CHECK(q.method == QuantMethod::nf4);
  CHECK(q.double_quant);
  CHECK(q.skip_modules.empty());
  CHECK_FALSE(q.prepare_kbit_training);
  CHECK(q.compute_dtype == "fp16");
  // Defaults: transformers keeps lm_head unquantized; peft's prepare_model_for_kbit_training is called.
  const auto d = parse_quantization(YAML::Load("{method: fp4}"), "run.yaml");
  CHECK(d.skips("lm_head"));
  CHECK(d.prepare_kbit_training);
  for (const auto& [text, expect] : std::vector<std::pair<std::string, std::string>>{
           {"{method: q4}", "allowed: none, nf4, fp4, int8"},
           {"{method: int8, double_quant: true}", "quantization.double_quant"},
           {"{method: nf4, threshold: 6.0}", "quantization.threshold"},
           {"{method: int8, threshold: -1}", "quantization.threshold"},
           {"{method: nf4, compute_dtype: fp32}", "quantization.compute_dtype"},
           {"{method: nf4, blocksize: 32}", "quantization.blocksize"}}) {
    INFO(text);
    CHECK_THAT(config_error_message([&] { parse_quantization(YAML::Load(text), "run.yaml"); }),
               Catch::Contains(expect) && Catch::Contains("run.yaml"));
  }
}

TEST_CASE("a config.json quantization_config: transformers' defaults and what is refused", "[quantization]") {
  const auto q = quantization_from_hf(YAML::Load(R"({"quant_method": "bitsandbytes", "load_in_4bit": true,
      "bnb_4bit_quant_type": "nf4", "bnb_4bit_compute_dtype": "bfloat16", "bnb_4bit_use_double_quant": true,
      "bnb_4bit_quant_storage": "uint8", "llm_int8_threshold": 6.0})"),
                                      "config.json");
  CHECK(q.method == QuantMethod::nf4);
  CHECK(q.double_quant);
  CHECK(q.compute_dtype == "bf16");
  // BitsAndBytesConfig's default compute dtype is float32: refused, with the key named.
  CHECK_THAT(config_error_message([] {
               quantization_from_hf(YAML::Load(R"({"load_in_4bit": true, "bnb_4bit_quant_type": "nf4"})"),
                                    "config.json");
             }),
             Catch::Contains("bnb_4bit_compute_dtype"));
  CHECK_THAT(config_error_message([] {
               quantization_from_hf(YAML::Load(R"({"quant_method": "gptq", "bits": 4})"), "config.json");
             }),
             Catch::Contains("quant_method") && Catch::Contains("gptq"));
  CHECK_THAT(config_error_message([] {
               quantization_from_hf(YAML::Load(R"({"load_in_8bit": true, "load_in_4bit": true})"),
                                    "config.json");
             }),
             Catch::Contains("load_in_8bit"));
}

TEST_CASE("8-bit (LLM.int8()): one byte per weight and a scale per row; the config.json keys",
          "[quantization]") {
  QuantSpec q;
  q.method = QuantMethod::int8;
  // 4096 x 4096: 16,777,216 int8 weights (Int8Params' CB) and 4,096 fp32 row scales (SCB): 16,793,600 B.
  CHECK(quantized_weight_bytes(4096 * 4096, 4096, q) == 16'777'216 + 16'384);
  const auto h = quantization_from_hf(
      YAML::Load(R"({"quant_method": "bitsandbytes", "load_in_8bit": true, "llm_int8_threshold": 5.0,
          "llm_int8_skip_modules": ["lm_head", "gate"], "bnb_4bit_quant_type": "fp4"})"),
      "config.json");
  CHECK(h.int8());
  CHECK(h.int8_threshold == 5.0);
  CHECK(h.skips("gate"));
  const auto r = parse_quantization(YAML::Load("{method: int8, threshold: 0}"), "run.yaml");
  CHECK(r.int8());
  CHECK(r.int8_threshold == 0.0);
  CHECK(parse_quantization(YAML::Load("{method: int8}"), "run.yaml").int8_threshold == 6.0);
  for (const char* flag : {"llm_int8_has_fp16_weight", "llm_int8_enable_fp32_cpu_offload"}) {
    INFO(flag);
    CHECK_THAT(config_error_message([&] {
                 quantization_from_hf(
                     YAML::Load(std::string(R"({"load_in_8bit": true, ")") + flag + R"(": true})"),
                     "config.json");
               }),
               Catch::Contains(flag) && Catch::Contains("config.json"));
  }
}

TEST_CASE("module bytes under QLoRA: packed linears, fp32 for the rest with prepare_kbit_training",
          "[quantization][memory]") {
  // Without DeepSpeed (train.engine pytorch): nothing casts prepare_model_for_kbit_training's fp32 back.
  RunConfig c = run_config_from_yaml(
      YAML::Load(
          "model: llama2-7b\npeft: {method: lora}\nquantization: {method: nf4}\ntrain: {engine: pytorch}\n"),
      "run.yaml");
  const FrameworkBehaviour fw = framework_behaviour(c);
  CHECK(fw.kbit_fp32_params);
  CHECK(fw.fp32_residual);
  ParamModule q_proj{"layers.0.q_proj", ModuleKind::linear, 0, 0, 4096 * 4096, 4096 * 4096, false};
  CHECK(quantized_module(q_proj, c));
  CHECK(module_param_bytes(q_proj, q_proj.numel, c, fw) == 9'437'184);
  // The embedding (32000 x 4096) is no Linear: kept, and cast to fp32 by prepare_model_for_kbit_training.
  ParamModule embed{"embed_tokens", ModuleKind::embedding, -1, -1, 32000 * 4096, 32000 * 4096, false};
  CHECK_FALSE(quantized_module(embed, c));
  CHECK(module_param_bytes(embed, embed.numel, c, fw) == 4LL * 32000 * 4096);
  SECTION("DeepSpeed's engine casts every floating parameter back to bf16; the packed weights stay") {
    RunConfig d = c;
    d.train.engine = TrainingEngine::deepspeed;
    const FrameworkBehaviour dfw = framework_behaviour(d);
    CHECK_FALSE(dfw.kbit_fp32_params);
    CHECK_FALSE(dfw.fp32_residual);
    CHECK(module_param_bytes(embed, embed.numel, d, dfw) == 2LL * 32000 * 4096);
    CHECK(module_param_bytes(q_proj, q_proj.numel, d, dfw) == 9'437'184);
  }
  SECTION("prepare_kbit_training false: the 16-bit parameters stay 16-bit") {
    RunConfig d = c;
    d.quantization.prepare_kbit_training = false;
    CHECK(module_param_bytes(embed, embed.numel, d, framework_behaviour(d)) == 2LL * 32000 * 4096);
  }
  // lm_head is skipped by default (transformers' llm_int8_skip_modules), quantized when the list is empty.
  ParamModule head{"lm_head", ModuleKind::lm_head, -1, -1, 32000 * 4096, 32000 * 4096, false};
  CHECK_FALSE(quantized_module(head, c));
  c.quantization.skip_modules.clear();
  CHECK(quantized_module(head, c));
  CHECK(module_param_bytes(head, head.numel, c, fw) == 32000 * 4096 / 2 + 4 * (32000 * 4096 / 64));
}
