// `zerosim import hf-trainer FILE` through the binary: the run config it writes loads in `simulate`,
// the fields with no effect are listed on stderr, and bad inputs exit 2 naming the file and the field.
// The examples are tests/data/import/hf-trainer/ (their sources: tests/unit/test_import_hf_trainer.cpp).
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "unit/test_support.h"

using zerosim::testing::read_file;
using zerosim::testing::run_zerosim;
using zerosim::testing::TempDir;

namespace {

const std::string kDir = "tests/data/import/hf-trainer/";

// Imports with -o into `dir`, then simulates the result.
zerosim::testing::CommandResult import_and_simulate(const TempDir& dir, const std::string& args) {
  const std::string out = dir.path("run.yaml");
  const auto imported = run_zerosim("import hf-trainer " + args + " -o " + out);
  REQUIRE(imported.exit_code == 0);
  INFO(read_file(out));
  const auto sim = run_zerosim("simulate --format json --config " + out);
  REQUIRE(sim.exit_code == 0);
  return imported;
}

}  // namespace

TEST_CASE("import hf-trainer: a ZeRO-2 TrainingArguments JSON simulates, no-effect fields on stderr",
          "[integration][import]") {
  TempDir dir;
  const auto r = import_and_simulate(dir, kDir + "zero2-bf16.json --model llama2-7b --seq-len 1024 --gpus 2");
  CHECK_THAT(r.err, Catch::Contains("no effect on time or memory: learning_rate:"));
  CHECK_THAT(r.err, Catch::Contains("no effect on time or memory: report_to:"));
  const std::string yaml = read_file(dir.path("run.yaml"));
  CHECK_THAT(yaml, Catch::Contains("micro_batch: 4  # from per_device_train_batch_size: 4"));
  CHECK_THAT(yaml, Catch::Contains("deepspeed: "));
  CHECK_THAT(yaml, Catch::Contains("gpus: 2  # from --gpus"));
}

TEST_CASE("import hf-trainer: AMP without DeepSpeed, with a peft adapter, simulates",
          "[integration][import]") {
  TempDir dir;
  const auto r = import_and_simulate(
      dir, kDir + "amp-bf16-liger.json --model meta-llama/Llama-2-7b-hf --seq-len 512 --peft " +
               "tests/data/adapters/llama2-7b-dora-rank-pattern/adapter_config.json");
  const std::string yaml = read_file(dir.path("run.yaml"));
  CHECK_THAT(yaml, Catch::Contains("precision: amp-bf16"));
  CHECK_THAT(yaml, Catch::Contains("engine: pytorch"));
  CHECK_THAT(yaml, Catch::Contains("model: llama2-7b"));
}

TEST_CASE("import hf-trainer: FSDP full_shard and an inline ds_config simulate", "[integration][import]") {
  TempDir dir;
  import_and_simulate(dir, kDir + "fsdp-full-shard.json --model llama2-7b --seq-len 1024 --gpus 4");
  CHECK_THAT(read_file(dir.path("run.yaml")), Catch::Contains("stage: 3"));
  TempDir dir2;
  import_and_simulate(dir2, kDir + "zero3-inline.json --model llama2-7b --seq-len 1024 --gpus 2");
  CHECK(std::filesystem::exists(dir2.path("zero3-inline.ds_config.json")));
}

TEST_CASE("import hf-trainer: stdout without -o", "[integration][import]") {
  const auto r =
      run_zerosim("import hf-trainer " + kDir + "zero2-bf16.json --model llama2-7b --seq-len 2048");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("precision: bf16-mixed  # from bf16: true with DeepSpeed"));
}

TEST_CASE("import hf-trainer: bad inputs exit 2 naming the file and the field", "[integration][import]") {
  TempDir dir;
  const std::string unknown =
      dir.write("unknown.json", R"({"per_device_train_batch_szie": 4, "bf16": true})");
  auto r = run_zerosim("import hf-trainer " + unknown + " --model llama2-7b --seq-len 2048");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains(unknown) && Catch::Contains("per_device_train_batch_szie") &&
                        Catch::Contains("did you mean"));

  const std::string compiled = dir.write("compiled.json", R"({"torch_compile": true, "bf16": true})");
  r = run_zerosim("import hf-trainer " + compiled + " --model llama2-7b --seq-len 2048");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains(compiled) && Catch::Contains("torch_compile"));

  r = run_zerosim("import hf-trainer " + kDir + "zero2-bf16.json --seq-len 2048");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("zero2-bf16.json") && Catch::Contains("--model"));

  r = run_zerosim("import hf-trainer " + kDir + "zero2-bf16.json --model llama2-7b");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--seq-len"));
}

TEST_CASE("import hf-trainer: --weights-dtype says how from_pretrained loaded the model",
          "[integration][import]") {
  const std::string base =
      "import hf-trainer " + kDir + "amp-bf16-liger.json --model llama2-7b --seq-len 1024";
  const std::string adapter = " --peft tests/data/adapters/llama2-7b-dora-rank-pattern/adapter_config.json";
  // Default fp32 (from_pretrained's default): AMP over fp32 weights.
  CHECK_THAT(run_zerosim(base).out, Catch::Contains("precision: amp-bf16"));
  // bf16-loaded: bf16 weights under autocast with peft's fp32 adapters; fully fine-tuned, bf16 AdamW states.
  CHECK_THAT(run_zerosim(base + " --weights-dtype bf16" + adapter).out,
             Catch::Contains("precision: bf16-mixed"));
  CHECK_THAT(run_zerosim(base + " --weights-dtype bf16").out, Catch::Contains("precision: bf16-pure"));
  // fp16 parameters: HF Trainer's GradScaler refuses them; other front-ends' files name the dtype themselves.
  const auto fp16 = run_zerosim(base + " --weights-dtype fp16");
  CHECK(fp16.exit_code == 2);
  CHECK_THAT(fp16.err, Catch::Contains("GradScaler"));
  const auto other = run_zerosim(
      "import llamafactory tests/data/import/llamafactory/llama3_lora_sft.yaml "
      "--weights-dtype bf16");
  CHECK(other.exit_code == 2);
  CHECK_THAT(other.err, Catch::Contains("--weights-dtype"));
}
