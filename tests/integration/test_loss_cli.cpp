// train.loss and versions.transformers through the binary (docs/memory-model.md §4.1): bad values exit 2
// naming the key and the allowed values; each loss runs through `memory` and `simulate` (Liger's head
// gradients in forward under ZeRO-3 included) and is echoed in the JSON.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "run_command.h"

using zerosim::testing::run_zerosim;

namespace {

const std::string kSeed = "workloads/configs/seed-dora-7b.yaml";

nlohmann::json memory_json(const std::string& sets) {
  const auto r = run_zerosim("memory --config " + kSeed + " --format json " + sets);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("train.loss: an unknown trainer is refused with the allowed values",
          "[integration][loss][errors]") {
  const auto r = run_zerosim("memory --config " + kSeed + " --set train.loss=liger");
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::StartsWith("zerosim: error: --set: key 'train.loss': 'liger' is not allowed"));
  CHECK_THAT(r.err, Catch::Contains("(allowed: hf, hf-keep-outputs, chunked, fused-linear-ce, litgpt)"));
}

TEST_CASE("versions.transformers outside the releases read is refused", "[integration][loss][errors]") {
  for (const char* bad : {"4.30.2", "4.57.0", "five"}) {
    INFO(bad);
    const auto r = run_zerosim("memory --config " + kSeed + " --set versions.transformers=" + bad);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("key 'versions.transformers'"));
  }
}

TEST_CASE("each train.loss runs and is echoed, the fused loss holds no T x V tensor", "[integration][loss]") {
  // Seed: LLaMA-2-7B, T = 2048, V = 32,000. HF's loss backward holds 8·T·V = 524,288,000 B of fp32
  // gradients above the saved log-softmax; Liger holds one chunk of logits.
  const auto hf = memory_json("");
  CHECK(hf["config"]["train"]["loss"] == "hf");
  CHECK(hf["config"]["versions"]["transformers"] == "4.56.0");
  for (const char* loss : {"hf-keep-outputs", "chunked", "litgpt", "fused-linear-ce"}) {
    INFO(loss);
    const auto j = memory_json(std::string("--set train.loss=") + loss);
    CHECK(j["config"]["train"]["loss"] == loss);
    const int64_t peak = j["memory"]["peak_allocated_bytes"].get<int64_t>();
    // litgpt is litgpt's model code too: on the seed (DoRA on q and v, dropout 0) its bf16 norms keep 4h per
    // token and layer less, v's view of qkv 4h and zero_pad's index_copy source 4h more, and Fabric's logits
    // are fp32: more than transformers' code with its own loss.
    if (std::string(loss) == "hf-keep-outputs" || std::string(loss) == "litgpt")
      CHECK(peak > hf["memory"]["peak_allocated_bytes"].get<int64_t>());
    else
      CHECK(peak < hf["memory"]["peak_allocated_bytes"].get<int64_t>());
  }
  // 4.46-4.48 shift a contiguous fp32 copy while the bf16 logits are still held: 14 B per logit, not 10.
  const auto old = memory_json("--set versions.transformers=4.47.1");
  CHECK(old["memory"]["peak_allocated_bytes"].get<int64_t>() >
        hf["memory"]["peak_allocated_bytes"].get<int64_t>());

  // Liger under ZeRO-3 with a trainable head: the head's gradient GEMMs run in forward; the step simulates.
  const auto r = run_zerosim("simulate --config " + kSeed +
                             " --format json --set train.loss=fused-linear-ce --set peft.method=none"
                             " --set zero.stage=3 --set cluster.gpus=2");
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.out)["time"]["step_s"].get<double>() > 0);
}
