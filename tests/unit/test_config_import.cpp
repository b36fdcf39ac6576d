// The shared part of `zerosim import` (workloads/config_import.h): Hub ids to presets, model references,
// YAML scalars, the rendered run config with its origins, and the field rules' refusals.
#include <catch2/catch.hpp>
#include <fstream>

#include "test_support.h"
#include "workloads/config_error.h"
#include "workloads/config_import.h"
#include "workloads/run_config.h"

using namespace zerosim;

TEST_CASE("import: Hub ids name presets, re-uploads and point releases of the same shapes included",
          "[import]") {
  CHECK(preset_for_hub_id("meta-llama/Llama-2-7b-hf") == "llama2-7b");
  CHECK(preset_for_hub_id("meta-llama/Llama-2-7b-chat-hf") ==
        "llama2-7b");                                                     // fine-tuned weights, same shapes
  CHECK(preset_for_hub_id("META-LLAMA/LLAMA-2-13B-HF") == "llama2-13b");  // Hub ids are case-insensitive
  std::string note;
  CHECK(preset_for_hub_id("NousResearch/Llama-2-7b-hf", &note) == "llama2-7b");
  CHECK_THAT(note, Catch::Contains("NousResearch's re-upload of meta-llama/Llama-2-7b-hf"));
  CHECK(preset_for_hub_id("meta-llama/Llama-3.1-8B-Instruct") == "llama3-8b");  // Meta-Llama-3-8B's shapes
  CHECK(preset_for_hub_id("NousResearch/Meta-Llama-3.1-8B") == "llama3-8b");
  CHECK(preset_for_hub_id("Qwen/Qwen3-8B").empty());
  CHECK(preset_for_hub_id("meta-llama/Llama-2-7b-hf-extra-words").empty());
}

TEST_CASE("import: a model reference is a preset, a config.json (or its folder) or a Hub id", "[import]") {
  zerosim::testing::TempDir dir;
  std::filesystem::create_directories(dir.path("m"));
  std::ofstream(dir.path("m/config.json")) << "{}";
  std::string how;
  CHECK(resolve_model("mistral-7b", "", dir.path(""), how) == "mistral-7b");
  CHECK(how == "a zerosim preset");
  // A folder next to the source file: written relative to the output folder.
  CHECK(resolve_model("m", dir.path("train.yaml"), dir.path(""), how) == "m/config.json");
  CHECK(how == "its config.json");
  CHECK(resolve_model("meta-llama/Llama-2-7b-hf", "", "", how) == "llama2-7b");
  CHECK_THAT(how, Catch::Contains("Hub id"));
  CHECK(resolve_model("someone/unknown-model", "", "", how).empty());
}

TEST_CASE("import: the rendered run config nests keys, says where each came from, and loads", "[import]") {
  ImportBuilder b("hf-trainer", "args.json");
  b.set("model", "llama2-7b", "--model llama2-7b (a zerosim preset)");
  b.set("train.micro_batch", "4", "per_device_train_batch_size: 4");
  b.set("peft.method", "lora", "--peft");
  b.set("train.seq_len", "2048", "--seq-len");
  b.set("train.micro_batch", "8",
        "per_gpu_train_batch_size: 8 (wins when set)");  // replaces, keeps its place
  b.no_effect("learning_rate", "the optimizer's arithmetic, not its bytes or time");
  const ImportedConfig c = b.finish();
  const std::string text = render_run_config(c);
  CHECK_THAT(text, Catch::Contains("model: llama2-7b  # from --model llama2-7b (a zerosim preset)\n"
                                   "train:\n"
                                   "  micro_batch: 8  # from per_gpu_train_batch_size: 8 (wins when set)\n"
                                   "  seq_len: 2048  # from --seq-len\n"
                                   "peft:\n"
                                   "  method: lora  # from --peft\n"));
  REQUIRE(c.no_effect.size() == 1);
  CHECK(c.no_effect[0] == "learning_rate: the optimizer's arithmetic, not its bytes or time");
  const RunConfig run = run_config_from_yaml(YAML::Load(text), "");
  CHECK(run.train.micro_batch == 8);
  CHECK(run.train.seq_len == 2048);
}

TEST_CASE("import: YAML scalars are quoted where YAML would read another type", "[import]") {
  CHECK(yaml_scalar("llama2-7b") == "llama2-7b");
  CHECK(yaml_scalar("on") == "\"on\"");  // a bool to yaml-cpp's reader
  CHECK(yaml_scalar("null") == "\"null\"");
  CHECK(yaml_scalar("1e3") == "\"1e3\"");
  CHECK(YAML::Load(yaml_scalar("on")).as<std::string>() == "on");
  CHECK(yaml_list({"q_proj", "v_proj"}) == "[q_proj, v_proj]");
}

TEST_CASE("import: a field without a rule is refused with the nearest known one", "[import]") {
  ImportBuilder b("axolotl", "x.yml");
  std::map<std::string, FieldRule> rules;
  rules["micro_batch_size"] = FieldRule{[](const YAML::Node&) {}, "", ""};
  rules["torch_compile"] = FieldRule{{}, "", "torch.compile is not modelled"};
  try {
    apply_field_rules(b, YAML::Load("micro_batch_sise: 2"), rules, "axolotl");
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(e.file() == "x.yml");
    CHECK(e.key() == "micro_batch_sise");
    CHECK_THAT(e.message(), Catch::Contains("micro_batch_size"));
  }
  CHECK_THROWS_AS(apply_field_rules(b, YAML::Load("torch_compile: true"), rules, "axolotl"), ConfigError);
}
