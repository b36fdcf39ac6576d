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
  // ZeRO-3 partitions the packed weight as a tensor of the storage dtype: bitsandbytes' default uint8 is
  // not what the ZeRO-3 recipes use (bf16 or fp16 is, below).
  r = run_zerosim("memory " + kTiny + " --set quantization.method=nf4 --set zero.stage=3");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("ZeRO-3") && Catch::Contains("quant_storage uint8"));
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

TEST_CASE("QLoRA under ZeRO-3: peft's Llama-2-70B recipe on 2 x 40 GB, packed gathers", "[qlora][zero3]") {
  // examples/sft/run_peft_qlora_deepspeed_stage3.sh: NF4 with double quantization in bf16 storage, LoRA r8
  // on every linear, 2 x 2048 tokens with checkpointing, ZeRO-3 on two GPUs.
  const std::string run =
      "simulate --config workloads/configs/seed-dora-7b.yaml --set model=llama2-70b --set peft.method=lora "
      "--set peft.r=8 --set peft.alpha=16 "
      "--set peft.target_modules=[q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj] "
      "--set train.micro_batch=2 --set train.activation_checkpointing=true --set zero.stage=3 "
      "--set cluster.gpus=2 --set cluster.gpu=a100-40gb-sxm --set quantization.method=nf4 "
      "--set quantization.double_quant=true";
  const nlohmann::json q = run_json(run + " --set quantization.quant_storage=bf16");
  CHECK(q["memory"]["fits"] == true);
  // The 4-bit weights come to the GPU only as partitions (transformers moves each packed weight to the CPU
  // while loading under ZeRO-3): the peak is in the step, and ZeRO-3 holds about half of the 34.7 GB of
  // packed weights plus every quant state.
  CHECK(q["memory"]["peak_at"] != "model loading (before ZeRO-3 partitions the parameters)");
  const double frozen_gb = q["memory"]["breakdown"]["frozen_params"].get<double>() / 1e9;
  CHECK(frozen_gb > 17.0);
  CHECK(frozen_gb < 19.5);
  // The all-gathers move the packed bytes, exactly a quarter of each quantized linear's bf16 weight; the
  // embedding, norms, lm_head and the adapters' gradient reduce-scatters are 16-bit in both runs. In all,
  // about a quarter of the bf16 run's traffic.
  const nlohmann::json bf16 =
      run_json(run + " --set quantization.method=none --set cluster.gpu=a100-80gb-sxm");
  const double ratio =
      q["time"]["comm_bytes_per_rank"].get<double>() / bf16["time"]["comm_bytes_per_rank"].get<double>();
  CHECK(ratio > 0.20);
  CHECK(ratio < 0.30);
}

TEST_CASE("QLoRA under ZeRO-3 from a config.json's bnb_4bit_quant_storage", "[qlora][zero3]") {
  const std::string path = "/tmp/zerosim-test-llama-4bit-bf16-storage.json";
  std::ofstream(path) << R"({"model_type": "llama", "hidden_size": 256, "intermediate_size": 688,
    "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 1000,
    "quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": true, "bnb_4bit_quant_type": "nf4",
      "bnb_4bit_compute_dtype": "bfloat16", "bnb_4bit_quant_storage": "bfloat16"}})";
  const auto r =
      run_zerosim("memory " + kTiny + " --set model=" + path + " --set zero.stage=3 --format json");
  const auto bad =
      run_zerosim("memory " + kTiny + " --set model=tests/data/models/llama-4bit.json --set zero.stage=3");
  std::remove(path.c_str());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.out)["config"]["quantization"]["quant_storage"] == "bf16");
  // The same model with bitsandbytes' default uint8 storage.
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("quant_storage uint8"));
}
