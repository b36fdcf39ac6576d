// `zerosim import axolotl`: the example files under tests/data/import/axolotl/ (written from axolotl
// v0.18.0's examples/, each cites its source) translated key by key, with axolotl's defaults, the Hub id ->
// preset mapping, FSDP -> ZeRO stage, and refusals naming the field.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "imported_settings.h"
#include "test_support.h"
#include "workloads/config_error.h"
#include "workloads/config_import.h"
#include "workloads/run_config.h"
#include "workloads/yaml_read.h"

using zerosim::import_axolotl;
using zerosim::ImportedConfig;
using zerosim::ImportOptions;
using zerosim::testing::config_error_message;
using zerosim::testing::TempDir;
using zerosim::testing::test_data;

using zerosim::testing::lists_no_effect;
using zerosim::testing::origin;
using zerosim::testing::value;

namespace {

std::string example(const std::string& name) { return test_data("import/axolotl/" + name); }

// A variant of an example: its text with `from` replaced by `to` (or appended), in a temp dir.
// `name` is an example, or a path an earlier variant wrote.
std::string variant(const TempDir& dir, const std::string& name, const std::string& from,
                    const std::string& to) {
  const bool path = name.front() == '/';
  std::string text = zerosim::read_text_file(path ? name : example(name));
  if (from.empty()) {
    text += "\n" + to + "\n";
  } else {
    const size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  }
  static int written = 0;  // each variant its own folder, so an earlier one can be varied again
  const std::string folder = "v" + std::to_string(++written) + "/";
  dir.write(folder + "deepspeed_configs/zero3_bf16.json",
            zerosim::read_text_file(example("deepspeed_configs/zero3_bf16.json")));
  return dir.write(folder + std::filesystem::path(name).filename().string(), text);
}

}  // namespace

TEST_CASE("axolotl LoRA example: adapter, batch, precision and attention", "[import]") {
  const ImportedConfig c = import_axolotl(example("lora-8b.yml"), {});
  CHECK(c.tool == "axolotl");
  CHECK(value(c, "model") == "llama3-8b");
  CHECK_THAT(origin(c, "model"),
             Catch::Contains("base_model: NousResearch/Meta-Llama-3-8B") &&
                 Catch::Contains("NousResearch's re-upload of meta-llama/Meta-Llama-3-8B"));
  CHECK(value(c, "peft.method") == "lora");
  CHECK(value(c, "peft.r") == "32");
  CHECK(value(c, "peft.alpha") == "16");
  CHECK(value(c, "peft.dropout") == "0.05");
  CHECK(value(c, "peft.target_modules") == "all-linear");
  CHECK_THAT(origin(c, "peft.target_modules"), Catch::Contains("lora_target_linear: true"));
  CHECK(value(c, "peft.modules_to_save") == "[embed_tokens, lm_head]");
  CHECK(value(c, "peft.bias") == "none");
  CHECK(value(c, "train.micro_batch") == "2");
  CHECK(origin(c, "train.micro_batch") == "micro_batch_size: 2");
  CHECK(value(c, "train.grad_accum") == "4");
  CHECK(value(c, "train.seq_len") == "4096");
  CHECK_THAT(origin(c, "train.seq_len"), Catch::Contains("sample_packing: true"));
  CHECK(value(c, "train.precision") == "bf16-mixed");
  CHECK_THAT(origin(c, "train.precision"),
             Catch::StartsWith("bf16: auto") && Catch::Contains("resolve_dtype"));
  CHECK(value(c, "train.engine") == "pytorch");
  CHECK(value(c, "train.activation_checkpointing") == "true");
  CHECK(value(c, "train.flash_attention") == "true");
  CHECK(value(c, "train.optimizer") == "fused");
  CHECK(value(c, "train.loss") == "hf");
  CHECK(zerosim::testing::find_setting(c, "quantization.method") == nullptr);
  for (const char* f : {"datasets", "learning_rate", "wandb_project", "output_dir", "tf32", "special_tokens",
                        "model_type", "lora_model_dir", "lora_mlp_kernel", "eval_sample_packing"})
    CHECK(lists_no_effect(c, f));
}

TEST_CASE("axolotl QLoRA example: nf4 with axolotl's bitsandbytes defaults", "[import]") {
  const ImportedConfig c = import_axolotl(example("qlora.yml"), {});
  CHECK(value(c, "model") == "llama2-7b");
  CHECK(value(c, "peft.method") == "lora");
  CHECK(value(c, "quantization.method") == "nf4");
  CHECK(value(c, "quantization.double_quant") == "true");
  CHECK_THAT(origin(c, "quantization.double_quant"), Catch::Contains("_set_quantization_config"));
  CHECK(value(c, "quantization.compute_dtype") == "bf16");
  // loaders/model.py _set_quantization_config: bnb_4bit_quant_storage torch.bfloat16 by default.
  CHECK(value(c, "quantization.quant_storage") == "bf16");
  CHECK(value(c, "quantization.prepare_kbit_training") == "false");
  CHECK(value(c, "train.optimizer") == "foreach");
  CHECK(value(c, "peft.dropout") == "0.05");
  // The run config loads: QLoRA with the pytorch engine and bf16-mixed is a combination zerosim models.
  TempDir dir;
  const std::string out = dir.write("run.yaml", zerosim::render_run_config(c));
  CHECK_NOTHROW(zerosim::run_config_from_yaml(YAML::LoadFile(out), out));
}

TEST_CASE("axolotl's stock 8-bit LoRA example imports unchanged: LLM.int8() and bitsandbytes' 8-bit AdamW",
          "[import]") {
  const ImportedConfig c = import_axolotl(example("stock-lora-8bit.yml"), {});
  CHECK(value(c, "quantization.method") == "int8");
  CHECK(value(c, "train.optimizer") == "bnb-8bit");
  CHECK_THAT(origin(c, "train.optimizer"),
             Catch::Contains("optimizer: adamw_bnb_8bit") && Catch::Contains("optim_bits=8"));
  CHECK(value(c, "train.engine") == "pytorch");
  TempDir dir;
  const std::string out = dir.write("run.yaml", zerosim::render_run_config(c));
  const zerosim::RunConfig r = zerosim::run_config_from_yaml(YAML::LoadFile(out), out);
  CHECK(r.train.optimizer == zerosim::OptimizerImpl::bnb_8bit);
  // The QLoRA example's own paged_adamw_32bit (qlora.yml replaced it with adamw_torch).
  const ImportedConfig q =
      import_axolotl(variant(dir, "qlora.yml", "optimizer: adamw_torch", "optimizer: paged_adamw_32bit"), {});
  CHECK(value(q, "train.optimizer") == "bnb-paged-32bit");
}

TEST_CASE("axolotl 8-bit LoRA (the stock example with a 16-bit optimizer): LLM.int8()", "[import]") {
  TempDir dir;
  const ImportedConfig c = import_axolotl(
      variant(dir, "stock-lora-8bit.yml", "optimizer: adamw_bnb_8bit", "optimizer: adamw_torch"), {});
  CHECK(value(c, "peft.method") == "lora");
  CHECK(value(c, "quantization.method") == "int8");
  CHECK_THAT(origin(c, "quantization.method"), Catch::Contains("BitsAndBytesConfig(load_in_8bit=True)"));
  CHECK(value(c, "quantization.threshold") == "6.0");
  CHECK(value(c, "quantization.prepare_kbit_training") == "false");
  const std::string out = dir.write("run.yaml", zerosim::render_run_config(c));
  const zerosim::RunConfig r = zerosim::run_config_from_yaml(YAML::LoadFile(out), out);
  CHECK(r.quantization.int8());
}

TEST_CASE("axolotl full fine-tune with DeepSpeed ZeRO-3: the ds_config is passed on", "[import]") {
  ImportOptions o;
  o.gpus = 8;
  const ImportedConfig c = import_axolotl(example("fft-8b-zero3.yaml"), o);
  CHECK(value(c, "model") == "llama3-8b");
  CHECK_THAT(origin(c, "model"), Catch::Contains("Llama 3.1 has Llama 3's shapes"));
  CHECK(value(c, "peft.method") == "none");
  CHECK(value(c, "train.engine") == "deepspeed");
  CHECK_THAT(value(c, "deepspeed"), Catch::EndsWith("import/axolotl/deepspeed_configs/zero3_bf16.json"));
  CHECK(value(c, "train.seq_len") == "8192");
  CHECK(value(c, "train.grad_accum") == "8");
  CHECK(value(c, "cluster.gpus") == "8");
  CHECK(origin(c, "cluster.gpus") == "--gpus");
  CHECK(lists_no_effect(c, "gradient_checkpointing_kwargs"));
}

TEST_CASE("axolotl FSDP example: FULL_SHARD is ZeRO stage 3, Liger's fused linear CE the loss", "[import]") {
  const ImportedConfig c = import_axolotl(example("fft-8b-liger-fsdp.yaml"), {});
  CHECK(value(c, "zero.stage") == "3");
  CHECK_THAT(origin(c, "zero.stage"), Catch::StartsWith("fsdp: [full_shard, auto_wrap]"));
  CHECK(value(c, "train.engine") == "deepspeed");
  CHECK(value(c, "train.loss") == "fused-linear-ce");
  CHECK(value(c, "peft.method") == "none");
  for (const char* f : {"fsdp_config.limit_all_gathers", "fsdp_config.sync_module_states",
                        "fsdp_config.sharding_strategy", "fsdp_config.backward_prefetch", "liger_rope"})
    CHECK(lists_no_effect(c, f));
}

TEST_CASE("axolotl FSDP sharding strategies map to ZeRO stages or are refused", "[import]") {
  TempDir dir;
  const std::string base = "fft-8b-liger-fsdp.yaml";
  const std::string strategy = "  fsdp_sharding_strategy: FULL_SHARD\n";
  auto stage_of = [&](const std::string& from, const std::string& to) {
    return value(import_axolotl(variant(dir, base, from, to), {}), "zero.stage");
  };
  CHECK(stage_of(
            strategy + "  fsdp_backward_prefetch: BACKWARD_PRE\n",
            "  fsdp_backward_prefetch: BACKWARD_PRE\n  reshard_after_forward: false\n  fsdp_version: 2\n") ==
        "2");
  CHECK(stage_of("  fsdp_sharding_strategy: FULL_SHARD\n", "") == "3");
  const std::string no_strategy = variant(dir, base, strategy, "");
  CHECK(value(import_axolotl(variant(dir, no_strategy, "  - full_shard\n", "  - shard_grad_op\n"), {}),
              "zero.stage") == "2");
  CHECK(value(import_axolotl(variant(dir, no_strategy, "  - full_shard\n", "  - no_shard\n"), {}),
              "zero.stage") == "0");

  CHECK_THAT(config_error_message(
                 [&] { import_axolotl(variant(dir, base, "  - full_shard", "  - hybrid_shard"), {}); }),
             Catch::Contains("key 'fsdp'") && Catch::Contains("hybrid_shard"));
  CHECK_THAT(config_error_message([&] {
               import_axolotl(variant(dir, base, "fsdp_offload_params: false", "fsdp_offload_params: true"),
                              {});
             }),
             Catch::Contains("key 'fsdp_config.offload_params'"));
  // axolotl drops sharding_strategy; one that disagrees with `fsdp:` is refused rather than believed.
  CHECK_THAT(config_error_message([&] {
               import_axolotl(variant(dir, base, "fsdp_sharding_strategy: FULL_SHARD",
                                      "fsdp_sharding_strategy: SHARD_GRAD_OP"),
                              {});
             }),
             Catch::Contains("key 'fsdp_config.sharding_strategy'") && Catch::Contains("drops this key"));
  CHECK_THAT(config_error_message([&] {
               import_axolotl(variant(dir, base, "fsdp_use_orig_params: false", "fsdp_use_orig_param: false"),
                              {});
             }),
             Catch::Contains("key 'fsdp_config.use_orig_param'") &&
                 Catch::Contains("did you mean 'fsdp_config.use_orig_params'"));
  // QLoRA under FSDP shards bitsandbytes' packed storage.
  CHECK_THAT(config_error_message([&] {
               import_axolotl(variant(dir, "qlora.yml", "", "fsdp: [full_shard, auto_wrap]\nfsdp_config: {}"),
                              {});
             }),
             Catch::Contains("key 'fsdp'") && Catch::Contains("4-bit"));
}

TEST_CASE("axolotl defaults: the schema's and normalize_config's values, with their origin", "[import]") {
  TempDir dir;
  const std::string minimal = dir.write("min.yml",
                                        "base_model: meta-llama/Llama-2-7b-hf\n"
                                        "micro_batch_size: 4\n"
                                        "gradient_accumulation_steps: 2\n"
                                        "attn_implementation: flash_attention_2\n");
  const ImportedConfig c = import_axolotl(minimal, {});
  CHECK(value(c, "model") == "llama2-7b");
  CHECK(value(c, "train.seq_len") == "512");
  CHECK_THAT(origin(c, "train.seq_len"), Catch::Contains("default: sequence_len 512"));
  CHECK(value(c, "train.optimizer") == "fused");
  CHECK_THAT(origin(c, "train.optimizer"), Catch::Contains("default: optimizer adamw_torch_fused"));
  CHECK(value(c, "train.precision") == "bf16-mixed");
  CHECK_THAT(origin(c, "train.precision"), Catch::Contains("default: bf16: auto"));
  CHECK(value(c, "train.activation_checkpointing") == "false");
  CHECK(value(c, "peft.method") == "none");
  CHECK(value(c, "train.engine") == "pytorch");

  SECTION("fp16: true is fp16-mixed; bf16: false alone is fp32, with tf32's default auto on") {
    CHECK(value(import_axolotl(variant(dir, minimal, "", "fp16: true"), {}), "train.precision") ==
          "fp16-mixed");
    const ImportedConfig fp32 = import_axolotl(variant(dir, minimal, "", "bf16: false"), {});
    CHECK(value(fp32, "train.precision") == "fp32");
    CHECK_THAT(origin(fp32, "train.precision"), Catch::Contains("no autocast"));
    CHECK(value(fp32, "train.tf32") == "true");
    CHECK_THAT(origin(fp32, "train.tf32"), Catch::Contains("is_torch_tf32_available"));
    const ImportedConfig ieee = import_axolotl(variant(dir, minimal, "", "bf16: false\ntf32: false"), {});
    CHECK(zerosim::testing::find_setting(ieee, "train.tf32") == nullptr);
    // With bf16 the flag changes no GEMM: listed as no effect.
    CHECK(lists_no_effect(import_axolotl(variant(dir, minimal, "", "tf32: true"), {}), "tf32"));
  }
  SECTION("--model and --seq-len override the file") {
    ImportOptions o;
    o.model = "mistral-7b";
    o.seq_len = 1024;
    const ImportedConfig m = import_axolotl(minimal, o);
    CHECK(value(m, "model") == "mistral-7b");
    CHECK(origin(m, "model") == "--model mistral-7b (a zerosim preset)");
    CHECK(value(m, "train.seq_len") == "1024");
    CHECK(lists_no_effect(m, "base_model"));
  }
}

TEST_CASE("axolotl refusals name the file and the field", "[import]") {
  TempDir dir;
  auto refused = [&](const std::string& name, const std::string& from, const std::string& to) {
    const std::string path = variant(dir, name, from, to);
    return config_error_message([&] { import_axolotl(path, {}); });
  };
  const std::string sixteen =
      variant(dir, "stock-lora-8bit.yml", "optimizer: adamw_bnb_8bit", "optimizer: adamw_torch");
  CHECK_THAT(refused(sixteen, "adapter: lora", "adapter: qlora"), Catch::Contains("key 'load_in_8bit'"));
  // Optimizers whose states zerosim does not model: bitsandbytes' Lion, torchao's 8-bit AdamW.
  CHECK_THAT(refused("lora-8b.yml", "optimizer: adamw_torch_fused", "optimizer: lion_8bit"),
             Catch::Contains("key 'optimizer'") && Catch::Contains("lion_8bit") &&
                 Catch::Contains("paged_adamw_32bit"));
  CHECK_THAT(refused("qlora.yml", "optimizer: adamw_torch", "optimizer: ao_adamw_8bit"),
             Catch::Contains("key 'optimizer'") && Catch::Contains("ao_adamw_8bit"));
  // bitsandbytes' AdamW over FSDP's flat shards is not modelled.
  CHECK_THAT(refused("fft-8b-liger-fsdp.yaml", "optimizer: adamw_torch_fused", "optimizer: paged_adamw_8bit"),
             Catch::Contains("key 'optimizer'") && Catch::Contains("fsdp"));
  CHECK_THAT(refused("lora-8b.yml",
                     "lora_mlp_kernel: false\nlora_qkv_kernel: false\nlora_o_kernel: false\n"
                     "lora_embedding_kernel: false\n",
                     ""),
             Catch::Contains("key 'lora_mlp_kernel'") && Catch::Contains("check_auto_enable_lora_kernels"));
  CHECK_THAT(refused("lora-8b.yml", "lora_mlp_kernel: false", "lora_mlp_kernel: true"),
             Catch::Contains("key 'lora_mlp_kernel'"));
  CHECK_THAT(refused("lora-8b.yml", "sequence_len: 4096", "sequence_lenght: 4096"),
             Catch::Contains("key 'sequence_lenght'") && Catch::Contains("did you mean 'sequence_len'"));
  CHECK_THAT(refused("lora-8b.yml", "NousResearch/Meta-Llama-3-8B", "some-org/unknown-model"),
             Catch::Contains("key 'base_model'") && Catch::Contains("--model"));
  CHECK_THAT(refused("lora-8b.yml", "base_model: NousResearch/Meta-Llama-3-8B\n", ""),
             Catch::Contains("key 'base_model'") && Catch::Contains("missing"));
  CHECK_THAT(refused("lora-8b.yml", "", "torch_compile: true"), Catch::Contains("key 'torch_compile'"));
  CHECK_THAT(refused("lora-8b.yml", "", "unsloth_lora_mlp: true"), Catch::Contains("key 'unsloth_lora_mlp'"));
  CHECK_THAT(refused("lora-8b.yml", "gradient_checkpointing: true", "gradient_checkpointing: offload"),
             Catch::Contains("key 'gradient_checkpointing'"));
  CHECK_THAT(
      refused("lora-8b.yml", "attn_implementation: flash_attention_2", "attn_implementation: flex_attention"),
      Catch::Contains("key 'attn_implementation'"));
  CHECK_THAT(refused("fft-8b-liger-fsdp.yaml", "liger_rms_norm: false", "liger_rms_norm: true"),
             Catch::Contains("key 'liger_rms_norm'"));
  CHECK_THAT(
      refused("fft-8b-liger-fsdp.yaml", "  - axolotl.integrations.liger.LigerPlugin\n", "  - x.Other\n"),
      Catch::Contains("key 'plugins'"));
  CHECK_THAT(refused("fft-8b-zero3.yaml", "gradient_accumulation_steps: 8", "batch_size: 8"),
             Catch::Contains("key 'batch_size'"));
  CHECK_THAT(
      refused("fft-8b-zero3.yaml", "deepspeed: deepspeed_configs/zero3_bf16.json", "deepspeed: missing.json"),
      Catch::Contains("key 'deepspeed'") && Catch::Contains("not found"));
  // Full fine-tuning without deepspeed or fsdp under sdpa keeps fp32 embeddings and norms.
  const std::string sdpa = dir.write("sdpa.yml",
                                     "base_model: meta-llama/Llama-2-7b-hf\nmicro_batch_size: 1\n"
                                     "gradient_accumulation_steps: 1\nattn_implementation: sdpa\n");
  CHECK_THAT(config_error_message([&] { import_axolotl(sdpa, {}); }),
             Catch::Contains("key 'attn_implementation'") && Catch::Contains("fp32"));
}

TEST_CASE("axolotl: AxolotlTrainer is HF Trainer's loop, with its loss read", "[import][loop]") {
  const ImportedConfig c = import_axolotl(example("lora-8b.yml"), {});
  CHECK(value(c, "train.loop") == "hf-trainer");
  CHECK(value(c, "train.loss_sync") == "true");
  CHECK_THAT(origin(c, "train.loss_sync"), Catch::Contains("logging_nan_inf_filter"));
}

TEST_CASE("axolotl: max_grad_norm goes to TrainingArguments when set; torch_empty_cache_steps refused",
          "[import][clip]") {
  const ImportedConfig c = import_axolotl(example("lora-8b.yml"), {});
  CHECK(value(c, "train.max_grad_norm") == "1.0");
  CHECK_THAT(origin(c, "train.max_grad_norm"), Catch::Contains("1.0"));
  TempDir dir;
  const std::string base =
      "base_model: meta-llama/Llama-2-7b-hf\nmicro_batch_size: 1\n"
      "gradient_accumulation_steps: 1\nattn_implementation: flash_attention_2\n";
  const ImportedConfig off = import_axolotl(dir.write("clip0.yml", base + "max_grad_norm: 0\n"), {});
  CHECK(value(off, "train.max_grad_norm") == "0");
  CHECK_THAT(config_error_message(
                 [&] { import_axolotl(dir.write("empty.yml", base + "torch_empty_cache_steps: 10\n"), {}); }),
             Catch::Contains("key 'torch_empty_cache_steps'") && Catch::Contains("cudaMalloc"));
}
