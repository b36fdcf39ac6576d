// `zerosim import llamafactory`: LLaMA-Factory training YAMLs (tests/data/import/llamafactory/, copied
// from LLaMA-Factory's examples/: the file heads say which) turned into run-config settings, each with its
// origin; LLaMA-Factory's defaults applied; no-effect fields listed; refusals naming the field.
#include <algorithm>
#include <string>

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

std::string data(const std::string& name) { return test_data("import/llamafactory/" + name); }

ImportedConfig import_file(const std::string& path, ImportOptions o = {}) {
  return zerosim::import_llamafactory(path, o);
}

// A minimal training file plus `extra` lines.
std::string write_config(const TempDir& dir, const std::string& extra) {
  return dir.write("train.yaml",
                   "model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct\ndo_train: true\n"
                   "bf16: true\n" +
                       extra);
}

std::string refusal(const std::string& path, const ImportOptions& o = {}) {
  return config_error_message([&] { import_file(path, o); });
}

}  // namespace

TEST_CASE("llamafactory: examples/train_lora/llama3_lora_sft.yaml", "[import]") {
  const ImportedConfig c = import_file(data("llama3_lora_sft.yaml"));
  CHECK(c.tool == "llamafactory");
  CHECK(value(c, "model") == "llama3-8b");
  CHECK(origin(c, "model").find("model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct") == 0);
  CHECK(value(c, "peft.method") == "lora");
  CHECK(value(c, "peft.r") == "8");
  CHECK(origin(c, "peft.r") == "lora_rank: 8");
  // lora_alpha unset: lora_rank x 2 (FinetuningArguments.__post_init__).
  CHECK(value(c, "peft.alpha") == "16");
  CHECK(origin(c, "peft.alpha").find("lora_rank x 2") != std::string::npos);
  CHECK(value(c, "peft.target_modules") == "all-linear");
  CHECK(origin(c, "peft.target_modules").find("find_all_linear_modules") != std::string::npos);
  CHECK(value(c, "peft.dropout") == "0");
  CHECK(value(c, "train.micro_batch") == "1");
  CHECK(value(c, "train.grad_accum") == "8");
  CHECK(value(c, "train.seq_len") == "2048");
  // Gradient checkpointing is on unless disable_gradient_checkpointing.
  CHECK(value(c, "train.activation_checkpointing") == "true");
  CHECK(origin(c, "train.activation_checkpointing").find("prepare_model_for_training") != std::string::npos);
  CHECK(value(c, "train.flash_attention") == "true");
  // No DeepSpeed: HF Trainer with torch.autocast over bf16 base weights.
  CHECK(value(c, "train.engine") == "pytorch");
  CHECK(value(c, "train.precision") == "bf16-mixed");
  CHECK(value(c, "train.loss") == "hf");
  CHECK(value(c, "train.optimizer") == "fused");
  CHECK(zerosim::testing::find_setting(c, "deepspeed") == nullptr);
  CHECK(zerosim::testing::find_setting(c, "quantization.method") == nullptr);
  for (const char* f :
       {"trust_remote_code", "dataset", "template", "max_samples", "learning_rate", "warmup_ratio",
        "report_to", "ddp_timeout", "resume_from_checkpoint", "plot_loss", "output_dir"})
    CHECK(lists_no_effect(c, f));
}

TEST_CASE("llamafactory: QLoRA examples/train_qlora/llama3_lora_sft_otfq.yaml", "[import]") {
  const ImportedConfig c = import_file(data("llama3_lora_sft_otfq.yaml"));
  CHECK(value(c, "quantization.method") == "nf4");         // quantization_type default nf4
  CHECK(value(c, "quantization.double_quant") == "true");  // double_quantization default true
  CHECK(origin(c, "quantization.double_quant").find("default") != std::string::npos);
  CHECK(value(c, "quantization.compute_dtype") == "bf16");
  CHECK(value(c, "quantization.prepare_kbit_training") == "false");
  CHECK(origin(c, "quantization.method").find("quantization_bit: 4") != std::string::npos);
  CHECK(value(c, "peft.method") == "lora");
  CHECK(value(c, "train.precision") == "bf16-mixed");
}

TEST_CASE("llamafactory: full fine-tuning under ZeRO-3 (examples/train_full/llama3_full_sft.yaml)",
          "[import]") {
  ImportOptions o;
  o.out_dir = data("");
  const ImportedConfig c = import_file(data("llama3_full_sft_ds3.yaml"), o);
  CHECK(value(c, "peft.method") == "none");
  CHECK(origin(c, "peft.method") == "finetuning_type: full");
  CHECK(value(c, "deepspeed") == "examples/deepspeed/ds_z3_config.json");
  CHECK(value(c, "train.engine") == "deepspeed");
  CHECK(value(c, "train.precision") == "bf16-mixed");
  CHECK(value(c, "train.grad_accum") == "2");
}

TEST_CASE("llamafactory: DoRA, ZeRO-2, Liger and packing", "[import]") {
  ImportOptions o;
  o.out_dir = data("");
  const ImportedConfig c = import_file(data("llama3_dora_sft_ds2.yaml"), o);
  CHECK(value(c, "peft.method") == "dora");
  CHECK(value(c, "peft.r") == "16");
  CHECK(value(c, "peft.alpha") == "32");
  CHECK(value(c, "peft.dropout") == "0.05");
  CHECK(value(c, "peft.target_modules") == "[q_proj, v_proj]");
  CHECK(value(c, "train.loss") == "fused-linear-ce");
  CHECK(value(c, "train.seq_len") == "4096");  // packed samples are cutoff_len tokens
  CHECK(value(c, "train.micro_batch") == "2");
  CHECK(value(c, "deepspeed") == "examples/deepspeed/ds_z2_config.json");
  CHECK(value(c, "train.engine") == "deepspeed");
}

TEST_CASE("llamafactory: a Hub id with no preset needs --model (examples/train_lora/qwen3_lora_sft_ds3.yaml)",
          "[import]") {
  const std::string msg = refusal(data("qwen3_lora_sft_ds3.yaml"));
  CHECK(msg.find("model_name_or_path") != std::string::npos);
  CHECK(msg.find("--model") != std::string::npos);
  ImportOptions o;
  o.model = "llama3-8b";
  const ImportedConfig c = import_file(data("qwen3_lora_sft_ds3.yaml"), o);
  CHECK(value(c, "model") == "llama3-8b");
  CHECK(origin(c, "model") == "--model llama3-8b (a zerosim preset)");
}

TEST_CASE("llamafactory: defaults of an almost empty file", "[import]") {
  TempDir dir;
  const ImportedConfig c = import_file(write_config(dir, ""));
  CHECK(value(c, "peft.method") == "lora");  // finetuning_type default lora
  CHECK(value(c, "peft.r") == "8");
  CHECK(value(c, "peft.alpha") == "16");
  CHECK(value(c, "peft.target_modules") == "all-linear");
  CHECK(value(c, "train.micro_batch") == "8");  // transformers' per_device_train_batch_size
  CHECK(origin(c, "train.micro_batch").find("transformers") != std::string::npos);
  CHECK(value(c, "train.seq_len") == "2048");  // cutoff_len
  CHECK(value(c, "train.grad_accum") == "1");
}

TEST_CASE("llamafactory: precision, checkpointing, attention and packing rules", "[import]") {
  TempDir dir;
  // Full fine-tuning without DeepSpeed: fp32 trainable parameters under autocast.
  CHECK(value(import_file(write_config(dir, "finetuning_type: full\n")), "train.precision") == "amp-bf16");
  CHECK(value(import_file(write_config(dir, "pure_bf16: true\n")), "train.precision") == "bf16-pure");
  const ImportedConfig fp16 =
      import_file(dir.write("fp16.yaml",
                            "model_name_or_path: meta-llama/Llama-2-7b-hf\ndo_train: true\n"
                            "fp16: true\nquantization_bit: 4\n"));
  CHECK(value(fp16, "model") == "llama2-7b");
  CHECK(value(fp16, "train.precision") == "fp16-mixed");
  CHECK(value(fp16, "quantization.compute_dtype") == "fp16");
  // quantization_bit 8: BitsAndBytesConfig(load_in_8bit=True), LLM.int8() with the default threshold.
  const ImportedConfig eight = import_file(write_config(dir, "quantization_bit: 8\n"));
  CHECK(value(eight, "quantization.method") == "int8");
  CHECK(value(eight, "quantization.threshold") == "6.0");
  CHECK(value(import_file(write_config(dir, "disable_gradient_checkpointing: true\n")),
              "train.activation_checkpointing") == "false");
  CHECK(value(import_file(write_config(dir, "flash_attn: disabled\n")), "train.flash_attention") == "false");
  CHECK(value(import_file(write_config(dir, "optim: adamw_torch\n")), "train.optimizer") == "foreach");
  // LLaMA-Factory hands optim to HF's TrainingArguments: bitsandbytes' AdamW by its HF names.
  CHECK(value(import_file(write_config(dir, "optim: paged_adamw_8bit\n")), "train.optimizer") ==
        "bnb-paged-8bit");
  CHECK(value(import_file(write_config(dir, "lora_alpha: 64\nuse_rslora: true\n")), "peft.alpha") == "64");
  CHECK(value(import_file(write_config(dir, "additional_target: embed_tokens,lm_head\n")),
              "peft.modules_to_save") == "[embed_tokens, lm_head]");
  // Unpacked SFT batches are padded to a multiple of 8 (pad_to_multiple_of=8).
  CHECK(value(import_file(write_config(dir, "cutoff_len: 1001\n")), "train.seq_len") == "1008");
  // Stage pt packs by default into blocks of cutoff_len; an explicit packing: true takes one off first.
  CHECK(value(import_file(write_config(dir, "stage: pt\ncutoff_len: 1024\n")), "train.seq_len") == "1024");
  CHECK(value(import_file(write_config(dir, "stage: pt\ncutoff_len: 1024\npacking: true\n")),
              "train.seq_len") == "1023");
  // A LoRA field with finetuning_type full is read by nothing.
  const ImportedConfig full = import_file(write_config(dir, "finetuning_type: full\nlora_rank: 64\n"));
  CHECK(lists_no_effect(full, "lora_rank"));
  CHECK(zerosim::testing::find_setting(full, "peft.r") == nullptr);
}

TEST_CASE("llamafactory: the command line overrides the file", "[import]") {
  TempDir dir;
  ImportOptions o;
  o.seq_len = 512;
  o.gpus = 8;
  o.gpu = "h100-80gb-sxm";
  const ImportedConfig c = import_file(write_config(dir, "cutoff_len: 4096\n"), o);
  CHECK(value(c, "train.seq_len") == "512");
  CHECK(origin(c, "train.seq_len") == "--seq-len");
  CHECK(value(c, "cluster.gpus") == "8");
  CHECK(value(c, "cluster.gpu") == "h100-80gb-sxm");
}

TEST_CASE("llamafactory: refusals name the field and say why", "[import]") {
  TempDir dir;
  const auto refused = [&](const std::string& extra, const std::string& field, const std::string& why) {
    const std::string msg = refusal(write_config(dir, extra));
    INFO(msg);
    CHECK(msg.find("'" + field + "'") != std::string::npos);
    CHECK(msg.find(why) != std::string::npos);
  };
  refused("stage: dpo\n", "stage", "chosen and rejected");
  refused("stage: rm\n", "stage", "value head");
  refused("finetuning_type: freeze\n", "finetuning_type", "freeze_trainable_layers");
  refused("use_unsloth: true\n", "use_unsloth", "unsloth");
  refused("neat_packing: true\n", "neat_packing", "block-diagonal");
  refused("quantization_bit: 2\n", "quantization_bit", "allowed: 4, 8");
  refused("quantization_bit: 4\nquantization_method: hqq\n", "quantization_method", "bitsandbytes");
  refused("use_galore: true\n", "use_galore", "AdamW");
  refused("optim: adafactor\n", "optim", "adamw_torch");
  refused("torch_compile: true\n", "torch_compile", "torch.compile");
  refused("label_smoothing_factor: 0.1\n", "label_smoothing_factor", "label smoothing");
  refused("fsdp: full_shard auto_wrap\n", "fsdp", "FSDP");
  refused("fp16: true\n", "fp16", "at most one");
  refused("upcast_layernorm: true\n", "upcast_layernorm", "fp32");
  refused("deepspeed: missing.json\n", "deepspeed", "not a file");
  refused("lora_rank: many\n", "lora_rank", "integer");
  refused("lora_rnak: 8\n", "lora_rnak", "did you mean 'lora_rank'");
  // No do_train: LLaMA-Factory trains nothing.
  CHECK(refusal(dir.write("eval.yaml", "model_name_or_path: meta-llama/Meta-Llama-3-8B\nbf16: true\n"))
            .find("'do_train'") != std::string::npos);
  // Neither bf16 nor fp16 nor pure_bf16.
  CHECK(refusal(dir.write("fp32.yaml", "model_name_or_path: meta-llama/Meta-Llama-3-8B\ndo_train: true\n"))
            .find("'bf16'") != std::string::npos);
  // 8-bit under ZeRO-3 (LLaMA-Factory refuses it; 4-bit imports, below).
  dir.write("ds3.json", "{\"zero_optimization\": {\"stage\": 3}, \"bf16\": {\"enabled\": \"auto\"}}");
  refused("quantization_bit: 8\ndeepspeed: ds3.json\n", "quantization_bit", "Only 4-bit");
  refused("pure_bf16: true\ndeepspeed: ds3.json\n", "pure_bf16", "ZeRO-3");
  // Pre-quantized checkpoints.
  CHECK(refusal(dir.write("awq.yaml",
                          "model_name_or_path: TechxGenus/Meta-Llama-3-8B-Instruct-AWQ\ndo_train: true\n"
                          "bf16: true\n"))
            .find("pre-quantized") != std::string::npos);
  // No model at all.
  CHECK(refusal(dir.write("nomodel.yaml", "do_train: true\nbf16: true\n")).find("'model_name_or_path'") !=
        std::string::npos);
}

TEST_CASE("llamafactory: a local model directory is read through its config.json", "[import]") {
  TempDir dir;
  dir.write("models/tiny/config.json", "{}");
  const std::string path =
      dir.write("train.yaml", "model_name_or_path: models/tiny\ndo_train: true\nbf16: true\n");
  ImportOptions o;
  o.out_dir = dir.path("");
  const ImportedConfig c = import_file(path, o);
  CHECK(value(c, "model") == "models/tiny/config.json");
}

TEST_CASE("llamafactory: QLoRA under ZeRO-3 stores the 4-bit weights in the compute dtype", "[import]") {
  TempDir dir;
  dir.write("ds3.json", "{\"zero_optimization\": {\"stage\": 3}, \"bf16\": {\"enabled\": \"auto\"}}");
  // model_utils/quantization.py: BitsAndBytesConfig(..., bnb_4bit_quant_storage=model_args.compute_dtype).
  const ImportedConfig c = import_file(write_config(dir, "quantization_bit: 4\ndeepspeed: ds3.json\n"));
  CHECK(value(c, "quantization.quant_storage") == "bf16");
  CHECK_THAT(origin(c, "quantization.quant_storage"), Catch::Contains("crucial for fsdp+qlora"));
  const std::string out = dir.write("run.yaml", zerosim::render_run_config(c));
  const zerosim::RunConfig r = zerosim::run_config_from_yaml(YAML::LoadFile(out), out);
  CHECK(r.zero.stage == 3);
  CHECK(r.quantization.storage == "bf16");
}

TEST_CASE("llamafactory: HF Trainer's loop, with logging_nan_inf_filter read", "[import][loop]") {
  // CustomSeq2SeqTrainer is HF Trainer's loop; transformers' default tests each micro-step's loss on the
  // host.
  const ImportedConfig c = import_file(data("llama3_lora_sft.yaml"));
  CHECK(value(c, "train.loop") == "hf-trainer");
  CHECK(value(c, "train.loss_sync") == "true");
  TempDir dir;
  const ImportedConfig off =
      import_file(write_config(dir, "stage: sft\nfinetuning_type: lora\nlogging_nan_inf_filter: false\n"));
  CHECK(value(off, "train.loss_sync") == "false");
  CHECK(origin(off, "train.loss_sync").find("logging_nan_inf_filter: false") == 0);
}

TEST_CASE("llamafactory: max_grad_norm is HF Trainer's clip (default 1.0, 0: none)", "[import][clip]") {
  const ImportedConfig c = import_file(data("llama3_lora_sft.yaml"));
  CHECK(value(c, "train.max_grad_norm") == "1");
  CHECK(origin(c, "train.max_grad_norm").find("max_grad_norm: 1.0 (transformers default)") == 0);
  TempDir dir;
  const ImportedConfig off =
      import_file(write_config(dir, "stage: sft\nfinetuning_type: lora\nmax_grad_norm: 0\n"));
  CHECK(value(off, "train.max_grad_norm") == "0");
  CHECK(origin(off, "train.max_grad_norm").find("max_grad_norm: 0") == 0);
}
