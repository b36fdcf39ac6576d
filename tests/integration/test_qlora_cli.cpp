// QLoRA end to end (docs/memory-model.md §9): a bitsandbytes config.json read as 4-bit weights with the
// frozen bytes worked by hand, the run config's quantization key, and what is refused.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "run_command.h"

using zerosim::testing::run_zerosim;

namespace {

const std::string kTiny = "--config tests/data/tiny-llama-dora.yaml";

nlohmann::json run_json(const std::string& command) {
  const auto r = run_zerosim(command + " --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("a bitsandbytes 4-bit config.json is QLoRA: frozen bytes by hand", "[qlora]") {
  const auto j = run_json("memory " + kTiny +
                          " --set model=tests/data/models/llama-4bit.json --set train.engine=pytorch");
  const auto& q = j["config"]["quantization"];
  CHECK(q["method"] == "nf4");
  CHECK(q["double_quant"] == true);
  CHECK(q["compute_dtype"] == "bf16");
  CHECK(q["source"] == "tests/data/models/llama-4bit.json");
  // Hidden 256, MLP 688, 2 layers, vocab 1000. NF4 with double quantization per weight of n elements:
  // n/2 packed + n/64 uint8 absmax + 4·⌈n/64/256⌉ + 4 (offset):
  //   q, k, v, o (65,536): 32,768 + 1,024 + 16 + 4 = 33,812 B;  gate, up, down (176,128): 88,064 + 2,752 + 44
  //   + 4 = 90,864 B; per layer 4·33,812 + 3·90,864 = 407,840 B; two layers 815,680 B.
  // prepare_model_for_kbit_training: the rest in fp32: embedding and lm_head 256,000 each, norms 5·256:
  //   4·(256,000 + 256,000 + 1,280) = 2,053,120 B. Frozen: 2,868,800 B.
  CHECK(j["memory"]["breakdown"]["frozen_params"] == 2'868'800);
  // Under DeepSpeed's engine (the default) every floating parameter is cast back to bf16:
  //   815,680 + 2·513,280 = 1,842,240 B.
  const auto ds = run_json("memory " + kTiny + " --set model=tests/data/models/llama-4bit.json");
  CHECK(ds["memory"]["breakdown"]["frozen_params"] == 1'842'240);
  // The same model unquantized holds 2 B per weight: much more.
  const auto plain = run_json("memory " + kTiny);
  CHECK(plain["memory"]["breakdown"]["frozen_params"].get<int64_t>() > 2 * 2'868'800 / 2);
  CHECK_FALSE(plain["config"].contains("quantization"));
}

TEST_CASE("QLoRA costs a dequantization before every base GEMM and its input gradient", "[qlora]") {
  const auto plain = run_json("simulate " + kTiny);
  const auto q = run_json("simulate " + kTiny + " --set quantization.method=nf4");
  // 2 layers x 7 linears: a dequantize op before each forward GEMM and each dX (layer 0's q, k, v need no
  // dX: its input needs no gradient) plus DoRA's weight norms dequantizing q and v: more compute tasks.
  CHECK(q["time"]["compute_tasks_per_rank"].get<int64_t>() >
        plain["time"]["compute_tasks_per_rank"].get<int64_t>());
  CHECK(q["time"]["step_s"].get<double>() > plain["time"]["step_s"].get<double>());
  CHECK(q["memory"]["breakdown"]["frozen_params"].get<int64_t>() <
        plain["memory"]["breakdown"]["frozen_params"].get<int64_t>());
}

TEST_CASE("QLoRA: what the libraries refuse or zerosim does not model is exit 2", "[qlora][errors]") {
  auto r = run_zerosim("memory " + kTiny +
                       " --set model=tests/data/models/llama-4bit.json --set quantization.method=nf4");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("quantization") && Catch::Contains("quantization_config already"));
  r = run_zerosim("memory " + kTiny + " --set quantization.method=nf4 --set peft.method=none");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("full fine-tuning"));
  r = run_zerosim("memory " + kTiny + " --set quantization.method=nf4 --set zero.stage=3");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("ZeRO-3"));
  r = run_zerosim("memory " + kTiny + " --set quantization.method=int8 --set quantization.double_quant=true");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("quantization.double_quant") && Catch::Contains("8-bit"));
  const std::string gptq = "/tmp/zerosim-test-gptq-config.json";
  std::ofstream(gptq) << R"({"model_type": "llama", "hidden_size": 256, "intermediate_size": 688,
    "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 1000,
    "quantization_config": {"quant_method": "gptq", "bits": 4}})";
  r = run_zerosim("memory " + kTiny + " --set model=" + gptq);
  std::remove(gptq.c_str());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains(gptq) && Catch::Contains("quant_method") && Catch::Contains("gptq"));
}

TEST_CASE("an 8-bit config.json is LLM.int8(): frozen bytes by hand, echoed, timed", "[qlora][int8]") {
  const auto j = run_json("simulate " + kTiny + " --set model=tests/data/models/llama-8bit.json");
  const auto& q = j["config"]["quantization"];
  CHECK(q["method"] == "int8");
  CHECK(q["threshold"] == 6.0);
  CHECK(j["config"]["versions"]["bitsandbytes"] == "0.48.1");
  // Hidden 256, MLP 688, 2 layers, vocab 1000. int8 weights and one fp32 scale per output row:
  //   q, k, v, o: 65,536 + 4·256 = 66,560 B; gate, up: 176,128 + 4·688 = 178,880 B; down: 176,128 + 4·256 =
  //   177,152 B; per layer 4·66,560 + 2·178,880 + 177,152 = 801,152 B; two layers 1,602,304 B.
  // Under DeepSpeed's engine (the default) the rest is bf16: embedding, lm_head (skip_modules null: the
  // default, lm_head kept) and 5 norms of 256, 2·(256,000 + 256,000 + 1,280) = 1,026,560 B. Frozen
  // 2,628,864 B.
  CHECK(j["memory"]["breakdown"]["frozen_params"] == 2'628'864);
  CHECK(j["time"]["step_s"].get<double>() > 0);
  // bitsandbytes releases outside the modelled range are refused with the key named.
  const auto r =
      run_zerosim("memory " + kTiny +
                  " --set model=tests/data/models/llama-8bit.json --set versions.bitsandbytes=0.39.0");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("versions.bitsandbytes") && Catch::Contains("0.41.0"));
}
