// `zerosim import axolotl` through the binary: each example under tests/data/import/axolotl/ (written from
// axolotl v0.18.0's examples/) becomes a run config that `zerosim simulate` loads; no-effect fields go to
// stderr; bad inputs exit 2 naming the file and the field.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "unit/test_support.h"

using zerosim::testing::read_file;
using zerosim::testing::run_zerosim;
using zerosim::testing::source_path;
using zerosim::testing::TempDir;

namespace {

const std::string kDir = "tests/data/import/axolotl/";

}  // namespace

TEST_CASE("zerosim import axolotl: each example simulates", "[import]") {
  TempDir dir;
  for (const std::string name : {"lora-8b.yml", "qlora.yml", "fft-8b-zero3.yaml", "fft-8b-liger-fsdp.yaml"}) {
    INFO(name);
    const std::string out = dir.path(name + ".run.yaml");
    const auto r = run_zerosim("import axolotl " + kDir + name + " -o " + out +
                               " --gpu h100-80gb-sxm --gpus 8 --gpus-per-node 8");
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("zerosim import: no effect on time or memory: datasets: "));
    const std::string text = read_file(out);
    CHECK_THAT(text, Catch::Contains("# from "));
    const auto sim = run_zerosim("simulate --config " + out);
    INFO(sim.err);
    CHECK(sim.exit_code == 0);
  }
}

TEST_CASE("zerosim import axolotl: stdout, origins and the ds_config path", "[import]") {
  const auto r = run_zerosim("import axolotl " + kDir + "fft-8b-zero3.yaml");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("model: llama3-8b  # from base_model: NousResearch/Meta-Llama-3.1-8B"));
  CHECK_THAT(r.out,
             Catch::Contains("engine: deepspeed  # from deepspeed: deepspeed_configs/zero3_bf16.json"));
  CHECK_THAT(r.out, Catch::Contains("deepspeed: " + kDir + "deepspeed_configs/zero3_bf16.json"));
  CHECK_THAT(r.out, Catch::Contains("seq_len: 8192  # from sequence_len: 8192 (sample_packing: true"));
  CHECK_THAT(r.err, Catch::Contains("no effect on time or memory: learning_rate: "));
}

TEST_CASE("zerosim import axolotl: bad inputs exit 2 naming the file and the field", "[import]") {
  TempDir dir;
  const auto unknown =
      run_zerosim("import axolotl " + dir.write("typo.yml",
                                                "base_model: meta-llama/Llama-2-7b-hf\nmicro_batch_size: 1\n"
                                                "gradient_accumulation_steps: 1\nlora_alpah: 16\n"));
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("typo.yml") && Catch::Contains("key 'lora_alpah'") &&
                              Catch::Contains("did you mean 'lora_alpha'"));

  const auto refused =
      run_zerosim("import axolotl " + dir.write("lion.yml",
                                                "base_model: meta-llama/Llama-2-7b-hf\nmicro_batch_size: 1\n"
                                                "gradient_accumulation_steps: 1\noptimizer: lion_8bit\n"));
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("lion.yml") && Catch::Contains("key 'optimizer'"));
  CHECK(refused.out.empty());

  const auto model =
      run_zerosim("import axolotl " + dir.write("model.yml",
                                                "base_model: some-org/some-model\nmicro_batch_size: 1\n"
                                                "gradient_accumulation_steps: 1\n"));
  CHECK(model.exit_code == 2);
  CHECK_THAT(model.err, Catch::Contains("model.yml") && Catch::Contains("key 'base_model'") &&
                            Catch::Contains("--model"));
  const auto with_model = run_zerosim("import axolotl " +
                                      dir.write("model2.yml",
                                                "base_model: some-org/some-model\n"
                                                "micro_batch_size: 1\n"
                                                "gradient_accumulation_steps: 1\n"
                                                "attn_implementation: flash_attention_2\n") +
                                      " --model llama2-7b");
  CHECK(with_model.exit_code == 0);
  CHECK_THAT(with_model.out, Catch::Contains("model: llama2-7b  # from --model"));
}

TEST_CASE("axolotl's stock ZeRO-3 ds_config (sub_group_size 0) runs, stepping one tensor at a time",
          "[import][axolotl]") {
  TempDir dir;
  auto run = [&](const std::string& ds) {
    const std::string cfg = dir.path("run-" + ds + ".yaml");
    std::ofstream(cfg) << "model: llama2-7b\npeft: {method: none}\ntrain: {micro_batch: 1, seq_len: 64}\n"
                       << "deepspeed: " << source_path(kDir + "deepspeed_configs/" + ds) << "\n"
                       << "cluster: {gpu: h100-80gb-sxm, gpus: 8}\n";
    const auto r = run_zerosim("memory --config " + cfg + " --format json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out);
  };
  const auto stock = run("zero3_bf16_stock.json");
  const auto one_group = run("zero3_bf16.json");
  CHECK(stock["config"]["zero"]["sub_group_size"] == 0);
  // 64 tokens: the optimizer step is the peak with one sub-group. 6.74e9 / 8 = 842M elements fit DeepSpeed's
  // default 1e9 sub-group: 6 B x 842M = 5.05 GB of fp32 gradients (and their bf16 flat copy) at once. One
  // tensor per group steps at most the largest tensor's partition (the embedding, 32000 x 4096 / 8 = 16.4M
  // elements), so the peak moves back to the loss's backward, 4.4 GB lower.
  CHECK(one_group["memory"]["peak_at"] == "optimizer step");
  CHECK(one_group["memory"]["breakdown"]["temporaries"].get<int64_t>() == 5'053'811'712);
  CHECK(stock["memory"]["peak_at"] != "optimizer step");
  CHECK(stock["memory"]["peak_allocated_bytes"].get<int64_t>() <
        one_group["memory"]["peak_allocated_bytes"].get<int64_t>() - 4'000'000'000);
}
