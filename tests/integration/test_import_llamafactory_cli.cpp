// `zerosim import llamafactory` through the binary: LLaMA-Factory's example YAMLs
// (tests/data/import/llamafactory/) become run configs that `zerosim simulate` loads; no-effect fields go to
// stderr; bad inputs exit 2 naming the file and the field.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "run_command.h"
#include "unit/test_support.h"

using zerosim::testing::read_file;
using zerosim::testing::run_zerosim;
using zerosim::testing::TempDir;

namespace {

const std::string kData = "tests/data/import/llamafactory/";

// Imports `file` into a TempDir with -o, then simulates the result on `gpus` H100s.
nlohmann::json import_and_simulate(const TempDir& dir, const std::string& file,
                                   const std::string& flags = "") {
  const std::string out = dir.path("run.yaml");
  const auto imported = run_zerosim("import llamafactory " + kData + file + " -o " + out + flags);
  INFO(imported.err);
  REQUIRE(imported.exit_code == 0);
  CHECK(imported.out.empty());
  const auto sim = run_zerosim("simulate --format json --config " + out);
  INFO(sim.err);
  REQUIRE(sim.exit_code == 0);
  return nlohmann::json::parse(sim.out);
}

}  // namespace

TEST_CASE("import llamafactory: LoRA SFT example simulates, no-effect fields on stderr", "[import]") {
  const auto r = run_zerosim("import llamafactory " + kData + "llama3_lora_sft.yaml --gpu h100-80gb-sxm");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("model: llama3-8b  # from model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct") !=
        std::string::npos);
  CHECK(r.out.find("target_modules: all-linear") != std::string::npos);
  CHECK(r.err.find("no effect on time or memory: learning_rate:") != std::string::npos);
  CHECK(r.err.find("no effect on time or memory: dataset:") != std::string::npos);

  TempDir dir;
  const auto j = import_and_simulate(dir, "llama3_lora_sft.yaml", " --gpu h100-80gb-sxm");
  CHECK(j["config"]["model"] == "llama3-8b");
  CHECK(j["config"]["train"]["engine"] == "pytorch");
  CHECK(j["config"]["train"]["activation_checkpointing"] == true);
  CHECK(j["config"]["train"]["grad_accum"] == 8);
  CHECK(j["config"]["peft"]["r"] == 8);
}

TEST_CASE("import llamafactory: QLoRA, full ZeRO-3 and DoRA ZeRO-2 examples simulate", "[import]") {
  TempDir dir;
  const auto q = import_and_simulate(dir, "llama3_lora_sft_otfq.yaml", " --gpu a100-80gb-sxm");
  CHECK(q["config"]["quantization"]["method"] == "nf4");
  CHECK(q["config"]["quantization"]["prepare_kbit_training"] == false);
  // The ds_config path is written relative to the output file and read from there.
  const auto full = import_and_simulate(dir, "llama3_full_sft_ds3.yaml", " --gpus 8 --gpu h100-80gb-sxm");
  CHECK(full["config"]["zero"]["stage"] == 3);
  CHECK(full["config"]["peft"]["method"] == "none");
  const auto dora = import_and_simulate(dir, "llama3_dora_sft_ds2.yaml", " --gpus 4 --gpu h100-80gb-sxm");
  CHECK(dora["config"]["zero"]["stage"] == 2);
  CHECK(dora["config"]["peft"]["method"] == "dora");
  CHECK(dora["config"]["train"]["loss"] == "fused-linear-ce");
  CHECK(dora["config"]["train"]["seq_len"] == 4096);
}

TEST_CASE("import llamafactory: --model for a Hub id without a preset", "[import]") {
  const auto missing = run_zerosim("import llamafactory " + kData + "qwen3_lora_sft_ds3.yaml");
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("qwen3_lora_sft_ds3.yaml") != std::string::npos);
  CHECK(missing.err.find("model_name_or_path") != std::string::npos);
  CHECK(missing.err.find("--model") != std::string::npos);
  TempDir dir;
  const auto j = import_and_simulate(dir, "qwen3_lora_sft_ds3.yaml", " --model llama3-8b --gpus 2");
  CHECK(j["config"]["model"] == "llama3-8b");
  CHECK(j["config"]["zero"]["stage"] == 3);
}

TEST_CASE("import llamafactory: bad inputs exit 2 naming the file and the field", "[import]") {
  TempDir dir;
  const auto bad = [&](const std::string& text, const std::string& field) {
    const std::string path = dir.write("bad.yaml", text);
    const auto r = run_zerosim("import llamafactory " + path);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(path) != std::string::npos);
    CHECK(r.err.find("'" + field + "'") != std::string::npos);
    CHECK(r.out.empty());
  };
  const std::string head =
      "model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct\ndo_train: true\nbf16: true\n";
  bad(head + "per_device_train_batchsize: 2\n", "per_device_train_batchsize");  // unknown field
  bad(head + "stage: ppo\n", "stage");                                          // refused
  bad(head + "finetuning_type: freeze\n", "finetuning_type");
  bad("do_train: true\nbf16: true\n", "model_name_or_path");  // no model
}

TEST_CASE("import llamafactory: the written file's comments say where each key came from", "[import]") {
  TempDir dir;
  const std::string out = dir.path("run.yaml");
  const auto r = run_zerosim("import llamafactory " + kData + "llama3_full_sft_ds3.yaml -o " + out);
  REQUIRE(r.exit_code == 0);
  const std::string text = read_file(out);
  CHECK(text.find("method: none  # from finetuning_type: full") != std::string::npos);
  CHECK(text.find("deepspeed: ") != std::string::npos);
  CHECK(text.find("ds_z3_config.json  # from deepspeed: examples/deepspeed/ds_z3_config.json") !=
        std::string::npos);
}
