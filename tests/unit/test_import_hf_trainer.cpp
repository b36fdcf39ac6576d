// `zerosim import hf-trainer`: TrainingArguments JSON (trainer.args.to_json_string()) to run-config
// settings. The files under tests/data/import/hf-trainer/ carry every field of a 4.5x TrainingArguments
// at its default except the ones each example sets: zero2-bf16.json follows the project's HF Trainer
// ds_config (tests/data/deepspeed/hf-zero2-bf16.json, copied beside it as ds_zero2.json),
// amp-bf16-liger.json HF Trainer --bf16 without DeepSpeed (docs/memory-model.md §8.6), fsdp-full-shard.json
// FSDP FULL_SHARD per decoder layer (docs/reference/offload-measurements.md §9), zero3-inline.json a
// ZeRO-3 ds_config given as a dict.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "imported_settings.h"
#include "test_support.h"
#include "workloads/config_import.h"
#include "workloads/run_config.h"

using zerosim::ImportedConfig;
using zerosim::ImportOptions;
using zerosim::testing::config_error_message;
using zerosim::testing::TempDir;
using zerosim::testing::test_data;

using zerosim::testing::lists_no_effect;
using zerosim::testing::origin;
using zerosim::testing::value;

namespace {

std::string example(const std::string& name) { return test_data("import/hf-trainer/" + name); }

ImportOptions llama(int64_t seq_len = 2048) {
  ImportOptions o;
  o.model = "llama2-7b";
  o.seq_len = seq_len;
  return o;
}

// A copy of a full example with some fields replaced (the rest at their 4.5x defaults).
std::string variant(const TempDir& dir, const std::string& base, const nlohmann::json& changes) {
  std::ifstream in(example(base));
  nlohmann::json j = nlohmann::json::parse(in);
  for (auto it = changes.begin(); it != changes.end(); ++it) j[it.key()] = *it;
  return dir.write("args.json", j.dump(2));
}

}  // namespace

TEST_CASE("hf-trainer: DeepSpeed ZeRO-2 with auto fields: batch, accumulation, precision and the ds_config",
          "[import]") {
  const ImportedConfig c = zerosim::import_hf_trainer(example("zero2-bf16.json"), llama());
  CHECK(value(c, "train.micro_batch") == "4");
  CHECK(origin(c, "train.micro_batch") == "per_device_train_batch_size: 4");
  CHECK(value(c, "train.grad_accum") == "4");
  CHECK(value(c, "train.activation_checkpointing") == "true");
  CHECK(value(c, "train.precision") == "bf16-mixed");
  CHECK(value(c, "train.engine") == "deepspeed");
  CHECK(value(c, "train.optimizer") == "foreach");
  CHECK(origin(c, "train.optimizer").find("optim: adamw_torch") == 0);
  CHECK(value(c, "deepspeed").find("ds_zero2.json") != std::string::npos);
  CHECK(value(c, "peft.method") == "none");
  CHECK(value(c, "model") == "llama2-7b");
  CHECK(value(c, "train.seq_len") == "2048");
  CHECK(origin(c, "train.seq_len") == "--seq-len");
  CHECK(lists_no_effect(c, "learning_rate"));
  CHECK(lists_no_effect(c, "report_to"));
  CHECK(lists_no_effect(c, "hub_token"));
  // max_grad_norm is modelled (the clip's passes without DeepSpeed; under it the ds_config governs).
  CHECK_FALSE(lists_no_effect(c, "max_grad_norm"));
  CHECK(value(c, "train.max_grad_norm") == "1");
  CHECK(origin(c, "train.max_grad_norm").find("max_grad_norm: 1.0") == 0);
  CHECK_FALSE(lists_no_effect(c, "bf16"));
}

TEST_CASE("hf-trainer: --bf16 without DeepSpeed is PyTorch AMP over fp32 weights; Liger, fused AdamW",
          "[import]") {
  const ImportedConfig c = zerosim::import_hf_trainer(example("amp-bf16-liger.json"), llama());
  CHECK(value(c, "train.engine") == "pytorch");
  CHECK(value(c, "train.precision") == "amp-bf16");
  CHECK(value(c, "train.optimizer") == "fused");
  CHECK(value(c, "train.loss") == "fused-linear-ce");
  CHECK(origin(c, "train.loss") == "use_liger_kernel: true (LigerFusedLinearCrossEntropy)");
  CHECK(value(c, "train.micro_batch") == "2");
  CHECK(value(c, "train.grad_accum") == "8");
  CHECK(lists_no_effect(c, "gradient_checkpointing_kwargs"));
  CHECK(lists_no_effect(c, "tf32"));
  CHECK(zerosim::testing::find_setting(c, "deepspeed") == nullptr);
  CHECK(zerosim::testing::find_setting(c, "zero.stage") == nullptr);
}

TEST_CASE("hf-trainer: fp16 without DeepSpeed is amp-fp16", "[import]") {
  TempDir dir;
  const auto f = variant(dir, "amp-bf16-liger.json", {{"bf16", false}, {"fp16", true}});
  CHECK(value(zerosim::import_hf_trainer(f, llama()), "train.precision") == "amp-fp16");
}

TEST_CASE("hf-trainer: neither bf16 nor fp16 is fp32 training; tf32: true is train.tf32", "[import][fp32]") {
  TempDir dir;
  // Without DeepSpeed: from_pretrained's fp32 weights, no autocast.
  const ImportedConfig plain = zerosim::import_hf_trainer(
      variant(dir, "amp-bf16-liger.json", {{"bf16", false}, {"use_liger_kernel", false}, {"tf32", true}}),
      llama());
  CHECK(value(plain, "train.precision") == "fp32");
  CHECK(origin(plain, "train.precision").find("no autocast") != std::string::npos);
  CHECK(value(plain, "train.tf32") == "true");
  CHECK(origin(plain, "train.tf32").find("allow_tf32") != std::string::npos);
  // tf32 false: fp32 matmuls, PyTorch's default, and said so.
  const ImportedConfig no_tf32 = zerosim::import_hf_trainer(
      variant(dir, "amp-bf16-liger.json", {{"bf16", false}, {"use_liger_kernel", false}, {"tf32", false}}),
      llama());
  CHECK(zerosim::testing::find_setting(no_tf32, "train.tf32") == nullptr);
  CHECK(lists_no_effect(no_tf32, "tf32"));
  // With a ds_config whose bf16 is "auto" (filled from bf16: false): DeepSpeed's fp32 training.
  const ImportedConfig ds = zerosim::import_hf_trainer(
      variant(dir, "zero2-bf16.json", {{"bf16", false}, {"deepspeed", example("ds_zero2.json")}}), llama());
  CHECK(value(ds, "train.precision") == "fp32");
  CHECK(origin(ds, "train.precision").find("DeepSpeed trains in fp32") != std::string::npos);
}

TEST_CASE("hf-trainer: fields left out take TrainingArguments' defaults", "[import]") {
  TempDir dir;
  const auto f = dir.write("args.json", R"({"bf16": true})");
  const ImportedConfig c = zerosim::import_hf_trainer(f, llama());
  CHECK(value(c, "train.micro_batch") == "8");
  CHECK(origin(c, "train.micro_batch").find("default per_device_train_batch_size=8") != std::string::npos);
  CHECK(value(c, "train.grad_accum") == "1");
  CHECK(value(c, "train.activation_checkpointing") == "false");
  CHECK(value(c, "train.optimizer") == "foreach");
  CHECK(origin(c, "train.optimizer").find("default optim=\"adamw_torch\"") != std::string::npos);
  CHECK(c.no_effect.empty());
}

TEST_CASE("hf-trainer: FSDP FULL_SHARD per layer maps to ZeRO-3 for full fine-tuning", "[import]") {
  const ImportedConfig c = zerosim::import_hf_trainer(example("fsdp-full-shard.json"), llama());
  CHECK(value(c, "zero.stage") == "3");
  CHECK(origin(c, "zero.stage").find("fsdp: [full_shard, auto_wrap]") == 0);
  CHECK(value(c, "train.engine") == "deepspeed");
  CHECK(value(c, "train.precision") == "bf16-mixed");
  CHECK(value(c, "train.activation_checkpointing") == "true");
  CHECK(origin(c, "train.activation_checkpointing") == "fsdp_config.activation_checkpointing: true");
  CHECK(lists_no_effect(c, "fsdp_config.transformer_layer_cls_to_wrap"));
}

TEST_CASE("hf-trainer: SHARD_GRAD_OP is stage 2, NO_SHARD stage 0", "[import]") {
  TempDir dir;
  CHECK(value(zerosim::import_hf_trainer(
                  variant(dir, "fsdp-full-shard.json", {{"fsdp", "shard_grad_op auto_wrap"}}), llama()),
              "zero.stage") == "2");
  CHECK(value(zerosim::import_hf_trainer(variant(dir, "fsdp-full-shard.json", {{"fsdp", {"no_shard"}}}),
                                         llama()),
              "zero.stage") == "0");
}

TEST_CASE("hf-trainer: FSDP where it is no ZeRO stage is refused, naming the field", "[import]") {
  TempDir dir;
  const auto refused = [&](const nlohmann::json& changes, const ImportOptions& o = llama()) {
    const auto f = variant(dir, "fsdp-full-shard.json", changes);
    return config_error_message([&] { zerosim::import_hf_trainer(f, o); });
  };
  CHECK_THAT(refused({{"fsdp", "full_shard"}}), Catch::Contains("fsdp") && Catch::Contains("one FSDP unit"));
  CHECK_THAT(refused({{"fsdp", "full_shard auto_wrap offload"}}), Catch::Contains("CPU offload"));
  CHECK_THAT(refused({{"fsdp", "hybrid_shard auto_wrap"}}), Catch::Contains("not a ZeRO stage"));
  ImportOptions with_adapter = llama();
  with_adapter.peft_adapter = test_data("adapters/llama2-7b-dora-rank-pattern/adapter_config.json");
  CHECK_THAT(refused({}, with_adapter), Catch::Contains("fsdp") && Catch::Contains("frozen base weights"));
  CHECK_THAT(refused({{"fsdp_config", {{"version", 2}}}}), Catch::Contains("fsdp_config.version"));
  CHECK_THAT(refused({{"fsdp_config", {{"min_num_params", 100000}}}}), Catch::Contains("size-based"));
}

TEST_CASE("hf-trainer: an inline deepspeed dict is written beside the run config", "[import]") {
  TempDir dir;
  ImportOptions o = llama();
  o.out_dir = dir.path("");
  const ImportedConfig c = zerosim::import_hf_trainer(example("zero3-inline.json"), o);
  CHECK(value(c, "deepspeed") == "zero3-inline.ds_config.json");
  CHECK(std::filesystem::exists(dir.path("zero3-inline.ds_config.json")));
  CHECK(value(c, "train.precision") == "bf16-mixed");
  // Without -o there is nowhere to write it.
  CHECK_THAT(config_error_message([&] { zerosim::import_hf_trainer(example("zero3-inline.json"), llama()); }),
             Catch::Contains("deepspeed") && Catch::Contains("-o"));
}

TEST_CASE("hf-trainer: the base model from --model: preset, Hub id, or refused", "[import]") {
  ImportOptions o = llama();
  o.model = "meta-llama/Llama-2-7b-hf";
  const ImportedConfig c = zerosim::import_hf_trainer(example("zero2-bf16.json"), o);
  CHECK(value(c, "model") == "llama2-7b");
  CHECK(origin(c, "model").find("--model meta-llama/Llama-2-7b-hf") == 0);
  o.model = "";
  CHECK_THAT(config_error_message([&] { zerosim::import_hf_trainer(example("zero2-bf16.json"), o); }),
             Catch::Contains("names no model") && Catch::Contains("--model"));
  o.model = "someone/unknown-13b";
  CHECK_THAT(config_error_message([&] { zerosim::import_hf_trainer(example("zero2-bf16.json"), o); }),
             Catch::Contains("config.json"));
  CHECK_THAT(config_error_message([&] { zerosim::import_hf_trainer(example("zero2-bf16.json"), llama(0)); }),
             Catch::Contains("--seq-len"));
}

TEST_CASE("hf-trainer: --peft gives the adapter, otherwise full fine-tuning", "[import]") {
  ImportOptions o = llama();
  o.peft_adapter = test_data("adapters/llama2-7b-dora-rank-pattern/adapter_config.json");
  const ImportedConfig c = zerosim::import_hf_trainer(example("amp-bf16-liger.json"), o);
  CHECK(value(c, "peft.adapter").find("adapter_config.json") != std::string::npos);
  CHECK(origin(c, "peft.adapter") == "--peft");
  CHECK(zerosim::testing::find_setting(c, "peft.method") == nullptr);
}

TEST_CASE("hf-trainer: refusals name the field", "[import]") {
  TempDir dir;
  const auto refused = [&](const nlohmann::json& changes) {
    const auto f = variant(dir, "zero2-bf16.json", changes);
    return config_error_message([&] { zerosim::import_hf_trainer(f, llama()); });
  };
  CHECK_THAT(refused({{"torch_compile", true}}),
             Catch::Contains("torch_compile") && Catch::Contains("torch.compile"));
  CHECK_THAT(refused({{"torch_compile_mode", "reduce-overhead"}}), Catch::Contains("torch_compile_mode"));
  CHECK_THAT(refused({{"label_smoothing_factor", 0.1}}), Catch::Contains("label_smoothing_factor"));
  CHECK_THAT(refused({{"auto_find_batch_size", true}}), Catch::Contains("auto_find_batch_size"));
  CHECK_THAT(refused({{"torch_empty_cache_steps", 4}}), Catch::Contains("torch_empty_cache_steps"));
  // bitsandbytes' AdamW over FSDP's flat shards is not modelled.
  CHECK_THAT(refused({{"optim", "adamw_bnb_8bit"}, {"fsdp", "full_shard auto_wrap"}}),
             Catch::Contains("optim") && Catch::Contains("adamw_bnb_8bit") && Catch::Contains("fsdp"));
  CHECK_THAT(refused({{"optim", "lion_8bit"}}),
             Catch::Contains("optim") && Catch::Contains("lion_8bit") && Catch::Contains("paged_adamw_8bit"));
  CHECK_THAT(
      refused({{"per_device_train_batch_szie", 4}}),
      Catch::Contains("per_device_train_batch_szie") && Catch::Contains("per_device_train_batch_size"));
  CHECK_THAT(refused({{"deepspeed", "missing.json"}}),
             Catch::Contains("deepspeed") && Catch::Contains("not found"));
  CHECK_THAT(refused({{"accelerator_config", {{"split_batches", true}}}}),
             Catch::Contains("accelerator_config.split_batches"));
  CHECK_THAT(refused({{"use_cpu", true}}), Catch::Contains("use_cpu"));
}

TEST_CASE("hf-trainer: bitsandbytes' AdamW optim names without DeepSpeed", "[import]") {
  TempDir dir;
  const auto imported = [&](const std::string& optim) {
    return zerosim::import_hf_trainer(variant(dir, "amp-bf16-liger.json", {{"optim", optim}}), llama());
  };
  // transformers trainer.py get_optimizer_cls_and_kwargs: optim_bits 8 when the name has "8bit", is_paged
  // when it has "paged".
  CHECK(value(imported("adamw_bnb_8bit"), "train.optimizer") == "bnb-8bit");
  CHECK(value(imported("adamw_8bit"), "train.optimizer") == "bnb-8bit");
  CHECK(value(imported("paged_adamw_8bit"), "train.optimizer") == "bnb-paged-8bit");
  const ImportedConfig c = imported("paged_adamw_32bit");
  CHECK(value(c, "train.optimizer") == "bnb-paged-32bit");
  CHECK_THAT(origin(c, "train.optimizer"),
             Catch::Contains("optim: paged_adamw_32bit") && Catch::Contains("is_paged=True"));
  CHECK(value(c, "train.engine") == "pytorch");
}

TEST_CASE("hf-trainer: bitsandbytes' AdamW under DeepSpeed is ZeRO's client optimizer", "[import]") {
  TempDir dir;
  const ImportedConfig c = zerosim::import_hf_trainer(
      variant(dir, "zero2-bf16.json",
              {{"optim", "paged_adamw_8bit"}, {"deepspeed", example("ds_zero2.json")}}),
      llama());
  CHECK(value(c, "train.optimizer") == "bnb-paged-8bit");
  CHECK(value(c, "train.engine") == "deepspeed");
  // But its ds_zero2.json names an optimizer, which DeepSpeed builds instead of HF's: the run config says so.
  const std::string out = dir.write("run.yaml", zerosim::render_run_config(c));
  CHECK_THAT(config_error_message([&] { zerosim::run_config_from_yaml(YAML::LoadFile(out), out); }),
             Catch::Contains("ds_zero2.json") && Catch::Contains("'optimizer'") &&
                 Catch::Contains("bnb-paged-8bit"));
}

TEST_CASE("hf-trainer: the loop is HF Trainer's, and logging_nan_inf_filter decides the loss read",
          "[import][loop]") {
  // Every example has logging_nan_inf_filter at its default, true: each micro-step's loss is tested on the
  // host (docs/time-model.md, "The training loop").
  const ImportedConfig c = zerosim::import_hf_trainer(example("zero2-bf16.json"), llama());
  CHECK(value(c, "train.loop") == "hf-trainer");
  CHECK(value(c, "train.loss_sync") == "true");
  CHECK(origin(c, "train.loss_sync").find("logging_nan_inf_filter: true") == 0);
  TempDir dir;
  const ImportedConfig off = zerosim::import_hf_trainer(
      variant(dir, "amp-bf16-liger.json", {{"logging_nan_inf_filter", false}}), llama());
  CHECK(value(off, "train.loss_sync") == "false");
  CHECK(origin(off, "train.loss_sync").find("logging_nan_inf_filter: false") == 0);
  // Modelled now, so not among the fields listed as having no effect.
  CHECK_FALSE(lists_no_effect(off, "logging_nan_inf_filter"));
}

TEST_CASE("hf-trainer: max_grad_norm decides the clip (0 and null: none)", "[import][clip]") {
  // Trainer._inner_training_loop clips when max_grad_norm is not None and > 0 (accelerate's
  // clip_grad_norm_: torch.nn.utils.clip_grad_norm_ without DeepSpeed).
  TempDir dir;
  const ImportedConfig off =
      zerosim::import_hf_trainer(variant(dir, "amp-bf16-liger.json", {{"max_grad_norm", 0.0}}), llama());
  CHECK(value(off, "train.max_grad_norm") == "0");
  CHECK(origin(off, "train.max_grad_norm").find("max_grad_norm: 0") == 0);
  const ImportedConfig none =
      zerosim::import_hf_trainer(variant(dir, "amp-bf16-liger.json", {{"max_grad_norm", nullptr}}), llama());
  CHECK(value(none, "train.max_grad_norm") == "0");
  const ImportedConfig half =
      zerosim::import_hf_trainer(variant(dir, "amp-bf16-liger.json", {{"max_grad_norm", 0.5}}), llama());
  CHECK(value(half, "train.max_grad_norm") == "0.5");
}
