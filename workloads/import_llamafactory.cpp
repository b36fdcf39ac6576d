// `zerosim import llamafactory FILE`: a LLaMA-Factory training YAML (what `llamafactory-cli train FILE`
// reads) as a zerosim run config. Fields and defaults are LLaMA-Factory v0.9.5's (commit 7af9095:
// src/llamafactory/hparams/{model,data,finetuning,training,generating}_args.py, parser.py get_train_args,
// and the model code that reads them), over transformers' Seq2SeqTrainingArguments (4.56 and 5.x field
// sets). Every field is translated, listed as having no effect, or refused: docs/import/llamafactory.md.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "workloads/config_error.h"
#include "workloads/config_import.h"
#include "workloads/model_spec.h"

namespace zerosim {
namespace {

const char* const kLf = "LLaMA-Factory v0.9.5";

// The fields whose values decide what other fields mean, with LLaMA-Factory's and transformers' defaults.
struct Args {
  std::string model;  // model_name_or_path
  std::string stage = "sft";
  std::string finetuning_type = "lora";
  int64_t lora_rank = 8;
  std::optional<double> lora_alpha;  // None: 2 x lora_rank (FinetuningArguments.__post_init__)
  double lora_dropout = 0.0;
  std::vector<std::string> lora_target = {"all"};
  std::vector<std::string> additional_target;
  bool use_dora = false;
  bool use_rslora = false;
  std::optional<int64_t> quantization_bit;
  std::string quantization_method = "bnb";
  std::string quantization_type = "nf4";
  bool double_quantization = true;
  int64_t cutoff_len = 2048;
  std::optional<bool> packing;  // None: on for stage pt (parser.py get_train_args)
  std::optional<int64_t> per_device_train_batch_size;
  std::optional<int64_t> per_gpu_train_batch_size;
  int64_t gradient_accumulation_steps = 1;
  bool do_train = false;
  bool bf16 = false;
  bool fp16 = false;
  bool pure_bf16 = false;
  bool disable_gradient_checkpointing = false;
  bool gradient_checkpointing = false;
  bool logging_nan_inf_filter = true;  // transformers TrainingArguments default
  double max_grad_norm = 1.0;          // transformers TrainingArguments default; None or 0: no clipping
  std::string flash_attn = "auto";
  bool enable_liger_kernel = false;
  bool use_liger_kernel = false;
  std::string deepspeed;
  int ds_stage = -1;                         // zero_optimization.stage of the ds_config (-1: unread)
  std::string optim;                         // "": transformers' default
  std::map<std::string, std::string> given;  // field -> its value as written, for the origin comments
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool is_null(const YAML::Node& v) { return !v || v.IsNull(); }

std::string text_of(const YAML::Node& v) {
  if (v.IsScalar()) return v.Scalar();
  YAML::Emitter e;
  e << YAML::Flow << v;
  return e.c_str();
}

// "field: value" as the file wrote it: the origin of what the field becomes.
std::string from(const Args& a, const std::string& field) {
  const auto it = a.given.find(field);
  return it == a.given.end() ? field : field + ": " + it->second;
}

bool read_flag(const ImportBuilder& b, const std::string& field, const YAML::Node& v) {
  if (v.IsScalar()) {
    const std::string s = lower(v.Scalar());
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  b.refuse(field, "expects true or false, not '" + text_of(v) + "'");
}

int64_t read_count(const ImportBuilder& b, const std::string& field, const YAML::Node& v, int64_t min) {
  try {
    const double d = v.as<double>();
    if (d >= static_cast<double>(min) && d <= 1e12 && d == static_cast<double>(static_cast<int64_t>(d)))
      return static_cast<int64_t>(d);
  } catch (const YAML::Exception&) {
  }
  b.refuse(field, "expects an integer >= " + std::to_string(min) + ", not '" + text_of(v) + "'");
}

double read_real(const ImportBuilder& b, const std::string& field, const YAML::Node& v) {
  try {
    return v.as<double>();
  } catch (const YAML::Exception&) {
    b.refuse(field, "expects a number, not '" + text_of(v) + "'");
  }
}

std::string read_text(const ImportBuilder& b, const std::string& field, const YAML::Node& v) {
  if (!v.IsScalar()) b.refuse(field, "expects a string, not '" + text_of(v) + "'");
  return v.Scalar();
}

// "q_proj, v_proj" or [q_proj, v_proj]: LLaMA-Factory splits its list fields on commas (split_arg).
std::vector<std::string> read_names(const ImportBuilder& b, const std::string& field, const YAML::Node& v) {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    size_t start = 0;
    for (size_t comma; start <= s.size(); start = comma + 1) {
      comma = s.find(',', start);
      if (comma == std::string::npos) comma = s.size();
      std::string item = s.substr(start, comma - start);
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      if (!item.empty()) out.push_back(item);
    }
  };
  if (v.IsSequence()) {
    for (const auto& item : v) add(read_text(b, field, item));
  } else {
    add(read_text(b, field, v));
  }
  return out;
}

// The value a field holds at its default: null, or the default written the same way.
bool at_default(const YAML::Node& v, const std::string& def) {
  if (is_null(v)) return true;
  if (v.IsSequence() || v.IsMap()) return v.size() == 0 && (def.empty() || def == "[]");
  const std::string s = lower(v.Scalar());
  if (def == "false") return s == "false" || s == "no" || s == "off";
  if (def == "true") return s == "true" || s == "yes" || s == "on";
  if (s == lower(def)) return true;
  try {
    return !def.empty() && std::stod(s) == std::stod(def);
  } catch (const std::exception&) {
    return false;
  }
}

// Rules. `none`: no effect at any value. `only_default`: no effect at the default, refused otherwise.
FieldRule none(const std::string& why) { return {{}, why, ""}; }

FieldRule only_default(ImportBuilder& b, const std::string& field, const std::string& def,
                       const std::string& refused, const std::string& at_def = "") {
  return {[&b, field, def, refused, at_def](const YAML::Node& v) {
            if (!at_default(v, def)) b.refuse(field, "'" + text_of(v) + "': " + refused);
            b.no_effect(field,
                        at_def.empty() ? "at its default (" + (def.empty() ? "None" : def) + ")" : at_def);
          },
          "", ""};
}

// A translated field: the handler reads it into Args (null keeps the default) and records how it was written.
FieldRule read_into(Args& a, const std::string& field, std::function<void(const YAML::Node&)> read) {
  return {[&a, field, read](const YAML::Node& v) {
            if (is_null(v)) return;
            a.given[field] = text_of(v);
            read(v);
          },
          "", ""};
}

// ---- the fields -----------------------------------------------------------------------------------

const char* const kInference = "inference, export and chat only; `llamafactory-cli train` never reads it";
const char* const kData =
    "which samples are read and how they are templated, not how long a step is "
    "(train.seq_len comes from cutoff_len)";
const char* const kBookkeeping = "logging, saving, evaluation or bookkeeping between steps, outside the step";
const char* const kRlhf = "read only by stages rm, ppo, dpo and kto, which are refused";
const char* const kOptimSchedule = "the optimizer's hyperparameters change values, not tensors or kernels";
const char* const kMultimodal = "image, video and audio inputs: zerosim's models are text-only";

void model_rules(std::map<std::string, FieldRule>& r, Args& a, ImportBuilder& b) {
  r["model_name_or_path"] = read_into(
      a, "model_name_or_path", [&](const YAML::Node& v) { a.model = read_text(b, "model_name_or_path", v); });
  r["adapter_name_or_path"] = only_default(
      b, "adapter_name_or_path", "",
      "resuming or merging existing adapters (model/adapter.py _setup_lora_tuning): the resumed "
      "adapter's own LoraConfig decides r and the targets; give zerosim that adapter_config.json "
      "as peft: {adapter: ...} in a run config instead");
  for (const char* f : {"adapter_folder", "cache_dir", "model_revision", "hf_hub_token", "ms_hub_token",
                        "om_hub_token", "offload_folder"})
    r[f] = none("where files are downloaded from or kept");
  for (const char* f : {"use_fast_tokenizer", "split_special_tokens", "init_special_tokens",
                        "trust_remote_code", "print_param_status", "low_cpu_mem_usage"})
    r[f] = none("loading and tokenizing only; the trained model's shapes are the same");
  r["train_from_scratch"] = none("random initial weights instead of the checkpoint's: values, not shapes");
  for (const char* f : {"resize_vocab", "add_tokens", "add_special_tokens", "new_special_tokens_config"})
    r[f] = only_default(
        b, f, f == std::string("resize_vocab") ? "false" : "",
        "new tokens resize the embedding and lm_head (model/patcher.py patch_tokenizer, "
        "resize_embedding_layer) and LoRA then trains them (additional_target): the new vocabulary "
        "is not modelled; use --model with a config.json of the resized vocab_size");
  r["rope_scaling"] = none("RoPE scaling changes the rotary frequencies, not a shape or a kernel");
  r["flash_attn"] = read_into(a, "flash_attn", [&](const YAML::Node& v) {
    a.flash_attn = lower(read_text(b, "flash_attn", v));
    if (a.flash_attn != "auto" && a.flash_attn != "disabled" && a.flash_attn != "sdpa" &&
        a.flash_attn != "fa2")
      b.refuse("flash_attn", "'" + a.flash_attn +
                                 "' is not modelled (allowed: auto, disabled, sdpa, fa2; extras/constants.py "
                                 "AttentionFunction)");
  });
  r["shift_attn"] = only_default(b, "shift_attn", "false",
                                 "LongLoRA's shifted sparse attention (S^2-Attn) is not modelled");
  r["mixture_of_depths"] =
      only_default(b, "mixture_of_depths", "", "mixture-of-depths routes tokens around layers: not modelled");
  r["use_unsloth"] = only_default(b, "use_unsloth", "false",
                                  "unsloth replaces the model's kernels and its LoRA layers with its own "
                                  "(model/model_utils/unsloth.py): not modelled");
  r["use_unsloth_gc"] =
      only_default(b, "use_unsloth_gc", "false",
                   "unsloth's checkpointing copies each layer's input to the CPU "
                   "(checkpointing.py get_unsloth_gradient_checkpointing_func): not modelled");
  r["enable_liger_kernel"] = read_into(a, "enable_liger_kernel", [&](const YAML::Node& v) {
    a.enable_liger_kernel = read_flag(b, "enable_liger_kernel", v);
  });
  r["moe_aux_loss_coef"] = none("mixture-of-experts router loss: zerosim's models are dense");
  r["disable_gradient_checkpointing"] =
      read_into(a, "disable_gradient_checkpointing", [&](const YAML::Node& v) {
        a.disable_gradient_checkpointing = read_flag(b, "disable_gradient_checkpointing", v);
      });
  r["use_reentrant_gc"] = none(
      "reentrant or not, torch.utils.checkpoint keeps each checkpointed layer's input and recomputes the "
      "layer");
  r["upcast_layernorm"] = only_default(b, "upcast_layernorm", "false",
                                       "fp32 norm weights make the norms' outputs fp32 (checkpointing.py "
                                       "prepare_model_for_training): not modelled");
  r["upcast_lmhead_output"] = only_default(b, "upcast_lmhead_output", "false",
                                           "fp32 lm_head outputs (an extra logits-sized fp32 tensor, "
                                           "_fp32_forward_post_hook) are not modelled");
  for (const char* f : {"infer_backend", "use_kv_cache", "infer_dtype"}) r[f] = none(kInference);
  r["use_v1_kernels"] = only_default(b, "use_v1_kernels", "false",
                                     "LLaMA-Factory's v1 kernels replace the model's ops: not modelled");
  // Quantization (model_args.py QuantizationArguments, model_utils/quantization.py configure_quantization).
  r["quantization_method"] = read_into(a, "quantization_method", [&](const YAML::Node& v) {
    a.quantization_method = lower(read_text(b, "quantization_method", v));
  });
  r["quantization_bit"] = read_into(a, "quantization_bit", [&](const YAML::Node& v) {
    a.quantization_bit = read_count(b, "quantization_bit", v, 1);
  });
  r["quantization_type"] = read_into(a, "quantization_type", [&](const YAML::Node& v) {
    a.quantization_type = lower(read_text(b, "quantization_type", v));
    if (a.quantization_type != "nf4" && a.quantization_type != "fp4")
      b.refuse("quantization_type", "'" + a.quantization_type + "' (allowed: nf4, fp4)");
  });
  r["double_quantization"] = read_into(a, "double_quantization", [&](const YAML::Node& v) {
    a.double_quantization = read_flag(b, "double_quantization", v);
  });
  r["quantization_device_map"] = none("inference only (get_train_args refuses \"auto\" in training)");
  for (const char* f : {"image_max_pixels", "image_min_pixels", "image_do_pan_and_scan", "crop_to_patches",
                        "video_max_pixels", "video_min_pixels", "video_fps", "video_maxlen",
                        "use_audio_in_video", "audio_sampling_rate"})
    r[f] = none(kMultimodal);
  for (const char* f :
       {"export_dir", "export_size", "export_device", "export_quantization_bit",
        "export_quantization_dataset", "export_quantization_nsamples", "export_quantization_maxlen",
        "export_legacy_format", "export_hub_model_id", "vllm_maxlen", "vllm_gpu_util", "vllm_enforce_eager",
        "vllm_max_lora_rank", "vllm_config", "sglang_maxlen", "sglang_mem_fraction", "sglang_tp_size",
        "sglang_config", "sglang_lora_backend"})
    r[f] = none(kInference);
  r["use_kt"] = only_default(b, "use_kt", "false", "KTransformers' CPU experts are not modelled");
  for (const char* f : {"kt_weight_path", "kt_expert_checkpoint_path", "kt_use_lora_experts",
                        "kt_lora_expert_num", "kt_lora_expert_intermediate_size"})
    r[f] = none("read only with use_kt: true, which is refused");
}

void data_rules(std::map<std::string, FieldRule>& r, Args& a, ImportBuilder& b) {
  for (const char* f : {"template",
                        "dataset",
                        "eval_dataset",
                        "dataset_dir",
                        "media_dir",
                        "train_on_prompt",
                        "mask_history",
                        "streaming",
                        "buffer_size",
                        "mix_strategy",
                        "interleave_probs",
                        "overwrite_cache",
                        "preprocessing_batch_size",
                        "preprocessing_num_workers",
                        "max_samples",
                        "ignore_pad_token_for_loss",
                        "tool_format",
                        "default_system",
                        "enable_thinking",
                        "preserve_thinking",
                        "tokenized_path",
                        "data_shared_file_system"})
    r[f] = none(kData);
  for (const char* f : {"eval_num_beams", "val_size", "eval_on_each_dataset"}) r[f] = none(kBookkeeping);
  r["cutoff_len"] = read_into(a, "cutoff_len",
                              [&](const YAML::Node& v) { a.cutoff_len = read_count(b, "cutoff_len", v, 2); });
  r["packing"] =
      read_into(a, "packing", [&](const YAML::Node& v) { a.packing = read_flag(b, "packing", v); });
  r["neat_packing"] = only_default(
      b, "neat_packing", "false",
      "packing without cross-attention runs varlen flash-attention over each packed sample (fa2) or builds a "
      "micro_batch x cutoff_len^2 block-diagonal mask (data/collator.py): neither is one causal sequence of "
      "cutoff_len, which is what zerosim models; use packing: true");
}

void finetuning_rules(std::map<std::string, FieldRule>& r, Args& a, ImportBuilder& b) {
  r["stage"] = read_into(a, "stage", [&](const YAML::Node& v) {
    a.stage = lower(read_text(b, "stage", v));
    if (a.stage == "sft" || a.stage == "pt") return;
    if (a.stage == "rm" || a.stage == "ppo" || a.stage == "dpo" || a.stage == "kto")
      b.refuse("stage",
               "'" + a.stage +
                   "': zerosim models one causal-LM forward, backward and optimizer step per micro-batch "
                   "(stages sft and pt); reward modelling adds a value head, PPO generates and runs "
                   "reward and value models, DPO/KTO run chosen and rejected sequences and a reference "
                   "model: not modelled");
    b.refuse("stage", "'" + a.stage + "' (allowed: pt, sft, rm, ppo, dpo, kto; zerosim models pt and sft)");
  });
  r["finetuning_type"] = read_into(a, "finetuning_type", [&](const YAML::Node& v) {
    a.finetuning_type = lower(read_text(b, "finetuning_type", v));
    if (a.finetuning_type == "lora" || a.finetuning_type == "full") return;
    if (a.finetuning_type == "freeze")
      b.refuse("finetuning_type",
               "'freeze' trains the full weights of the last freeze_trainable_layers layers only "
               "(model/adapter.py _setup_freeze_tuning): zerosim has no partial full fine-tuning (peft's "
               "layers_to_transform selects LoRA layers, not full ones)");
    if (a.finetuning_type == "oft")
      b.refuse("finetuning_type",
               "'oft': orthogonal fine-tuning adapters are not modelled (LoRA and DoRA are)");
    b.refuse("finetuning_type", "'" + a.finetuning_type + "' (allowed: lora, full, freeze, oft)");
  });
  r["pure_bf16"] =
      read_into(a, "pure_bf16", [&](const YAML::Node& v) { a.pure_bf16 = read_flag(b, "pure_bf16", v); });
  // LoRA (finetuning_args.py LoraArguments; model/adapter.py _setup_lora_tuning).
  r["lora_rank"] =
      read_into(a, "lora_rank", [&](const YAML::Node& v) { a.lora_rank = read_count(b, "lora_rank", v, 1); });
  r["lora_alpha"] = read_into(a, "lora_alpha", [&](const YAML::Node& v) {
    a.lora_alpha = read_real(b, "lora_alpha", v);
    if (*a.lora_alpha == 0) a.lora_alpha.reset();  // `self.lora_alpha or self.lora_rank * 2`
  });
  r["lora_dropout"] = read_into(
      a, "lora_dropout", [&](const YAML::Node& v) { a.lora_dropout = read_real(b, "lora_dropout", v); });
  r["lora_target"] = read_into(a, "lora_target", [&](const YAML::Node& v) {
    a.lora_target = read_names(b, "lora_target", v);
    if (a.lora_target.empty()) b.refuse("lora_target", "names no module");
  });
  r["additional_target"] = read_into(a, "additional_target", [&](const YAML::Node& v) {
    a.additional_target = read_names(b, "additional_target", v);
  });
  r["use_dora"] =
      read_into(a, "use_dora", [&](const YAML::Node& v) { a.use_dora = read_flag(b, "use_dora", v); });
  r["use_rslora"] =
      read_into(a, "use_rslora", [&](const YAML::Node& v) { a.use_rslora = read_flag(b, "use_rslora", v); });
  r["loraplus_lr_ratio"] = none("LoRA+ gives lora_B its own learning rate: values, not tensors");
  r["loraplus_lr_embedding"] = none("LoRA+ learning rate of embedding adapters: values, not tensors");
  r["pissa_init"] = none("PiSSA initialises the adapters from an SVD of the weights once, before training");
  r["pissa_iter"] = none("PiSSA's SVD iterations, before training");
  r["pissa_convert"] = none("converts a PiSSA adapter when it is saved");
  r["create_new_adapter"] = none("read only with adapter_name_or_path, which is refused");
  for (const char* f : {"freeze_trainable_layers", "freeze_trainable_modules", "freeze_extra_modules"})
    r[f] = none("read only with finetuning_type: freeze, which is refused");
  for (const char* f : {"module_dropout", "oft_rank", "oft_block_size", "oft_target"})
    r[f] = none("read only with finetuning_type: oft, which is refused");
  for (const char* f : {"pref_beta",
                        "pref_ftx",
                        "pref_bco_weight",
                        "pref_loss",
                        "dpo_label_smoothing",
                        "kto_chosen_weight",
                        "kto_rejected_weight",
                        "simpo_gamma",
                        "ppo_buffer_size",
                        "ppo_epochs",
                        "ppo_score_norm",
                        "ppo_target",
                        "ppo_whiten_rewards",
                        "ref_model",
                        "ref_model_adapters",
                        "ref_model_quantization_bit",
                        "reward_model",
                        "reward_model_adapters",
                        "reward_model_quantization_bit",
                        "reward_model_type",
                        "ld_alpha"})
    r[f] = none(kRlhf);
  const std::string other_optimizer = "replaces AdamW's states and update with its own: not modelled";
  for (const char* f : {"use_galore", "use_apollo", "use_badam", "use_adam_mini", "use_muon"})
    r[f] = only_default(b, f, "false", other_optimizer);
  for (const char* f : {"galore_target", "galore_rank", "galore_update_interval", "galore_scale",
                        "galore_proj_type", "galore_layerwise"})
    r[f] = none("read only with use_galore: true, which is refused");
  for (const char* f :
       {"apollo_target", "apollo_rank", "apollo_update_interval", "apollo_scale", "apollo_proj",
        "apollo_proj_type", "apollo_scale_type", "apollo_layerwise", "apollo_scale_front"})
    r[f] = none("read only with use_apollo: true, which is refused");
  for (const char* f : {"badam_mode", "badam_start_block", "badam_switch_mode", "badam_switch_interval",
                        "badam_update_ratio", "badam_mask_mode", "badam_verbose"})
    r[f] = none("read only with use_badam: true, which is refused");
  for (const char* f :
       {"use_swanlab", "swanlab_project", "swanlab_workspace", "swanlab_run_name", "swanlab_mode",
        "swanlab_api_key", "swanlab_logdir", "swanlab_lark_webhook_url", "swanlab_lark_secret"})
    r[f] = none(kBookkeeping);
  r["use_llama_pro"] =
      only_default(b, "use_llama_pro", "false",
                   "LLaMA Pro trains only the expanded blocks (find_expanded_modules): not modelled");
  r["use_mca"] = only_default(b, "use_mca", "false", "Megatron-Core training (USE_MCA) is not modelled");
  r["use_hyper_parallel"] =
      only_default(b, "use_hyper_parallel", "false", "the HyperParallel FSDP/TP backend is not modelled");
  r["hyper_parallel_args"] = none("read only with use_hyper_parallel: true, which is refused");
  const std::string own_loss =
      "replaces the causal-LM loss with its own computation over the logits, whose temporaries zerosim does "
      "not model (train.loss models transformers', Liger's, torchtune's and litgpt's)";
  for (const char* f : {"use_dft_loss", "use_asft_loss", "use_eaft_loss"})
    r[f] = only_default(b, f, "false", own_loss);
  r["asft_alpha"] = none("read only with use_asft_loss: true, which is refused");
  r["eaft_alpha"] = none("read only with use_eaft_loss: true, which is refused");
  for (const char* f : {"freeze_vision_tower", "freeze_multi_modal_projector", "freeze_language_model"})
    r[f] = none(kMultimodal);
  for (const char* f : {"compute_accuracy", "disable_shuffling", "early_stopping_steps", "plot_loss",
                        "include_effective_tokens_per_second"})
    r[f] = none(kBookkeeping);
}

// LLaMA-Factory's own TrainingArguments fields (hparams/training_args.py) and Seq2SeqTrainingArguments'.
void llamafactory_training_rules(std::map<std::string, FieldRule>& r, ImportBuilder& b) {
  for (const char* f : {"ray_num_workers", "ray_init_kwargs", "master_addr", "master_port"})
    r[f] = none("how the job is launched (Ray, USE_RAY=1); the GPUs are --gpus");
  for (const char* f : {"profiler_output_dir", "profiler_wait_steps", "profiler_warmup_steps",
                        "profiler_active_steps", "profiler_repeat", "profiler_record_shapes",
                        "profiler_profile_memory", "profiler_with_stack", "profile_modules"})
    r[f] = none("profiler settings: read only with enable_torch_profiler: true, which is refused");
  r["enable_torch_profiler"] = only_default(b, "enable_torch_profiler", "false",
                                            "the torch profiler's recording slows the steps it records");
  r["fp8"] = only_default(b, "fp8", "false", "FP8 training is not modelled (bf16/fp16 GEMMs are)");
  r["fp8_enable_fsdp_float8_all_gather"] =
      only_default(b, "fp8_enable_fsdp_float8_all_gather", "false", "turns fp8 on (parser.py), not modelled");
  r["fp8_backend"] = none("read only with fp8: true, which is refused");
  r["overwrite_output_dir"] = none(kBookkeeping);
  for (const char* f : {"sortish_sampler", "predict_with_generate", "generation_max_length",
                        "generation_num_beams", "generation_config"})
    r[f] = none("generation at evaluation or prediction, outside the training step");
  for (const char* f : {"do_sample", "temperature", "top_p", "top_k", "num_beams", "max_length",
                        "max_new_tokens", "repetition_penalty", "length_penalty", "skip_special_tokens"})
    r[f] = none("GeneratingArguments: generation at evaluation or prediction, outside the training step");
}

// transformers' TrainingArguments (4.56's fields and those 5.x added; LLaMA-Factory v0.9.5 accepts
// transformers 4.55-5.6, pyproject.toml).
void hf_training_rules(std::map<std::string, FieldRule>& r, Args& a, ImportBuilder& b) {
  r["do_train"] =
      read_into(a, "do_train", [&](const YAML::Node& v) { a.do_train = read_flag(b, "do_train", v); });
  r["per_device_train_batch_size"] = read_into(a, "per_device_train_batch_size", [&](const YAML::Node& v) {
    a.per_device_train_batch_size = read_count(b, "per_device_train_batch_size", v, 1);
  });
  r["per_gpu_train_batch_size"] = read_into(a, "per_gpu_train_batch_size", [&](const YAML::Node& v) {
    a.per_gpu_train_batch_size = read_count(b, "per_gpu_train_batch_size", v, 1);
  });
  r["gradient_accumulation_steps"] = read_into(a, "gradient_accumulation_steps", [&](const YAML::Node& v) {
    a.gradient_accumulation_steps = read_count(b, "gradient_accumulation_steps", v, 1);
  });
  r["logging_nan_inf_filter"] = read_into(a, "logging_nan_inf_filter", [&](const YAML::Node& v) {
    a.logging_nan_inf_filter = read_flag(b, "logging_nan_inf_filter", v);
  });
  r["bf16"] = read_into(a, "bf16", [&](const YAML::Node& v) { a.bf16 = read_flag(b, "bf16", v); });
  r["fp16"] = read_into(a, "fp16", [&](const YAML::Node& v) { a.fp16 = read_flag(b, "fp16", v); });
  r["gradient_checkpointing"] = read_into(a, "gradient_checkpointing", [&](const YAML::Node& v) {
    a.gradient_checkpointing = read_flag(b, "gradient_checkpointing", v);
  });
  r["gradient_checkpointing_kwargs"] = none(
      "use_reentrant: either way torch.utils.checkpoint keeps each layer's input and recomputes the layer");
  r["deepspeed"] = read_into(a, "deepspeed", [&](const YAML::Node& v) {
    if (!v.IsScalar())
      b.refuse("deepspeed", "an inline ds_config is not read: write it to a .json file and name that file");
    a.deepspeed = v.Scalar();
  });
  r["optim"] = read_into(a, "optim", [&](const YAML::Node& v) {
    a.optim = lower(read_text(b, "optim", v));
    if (!hf_optimizer(a.optim))
      b.refuse("optim", "'" + a.optim +
                            "': its states or update are not modelled (allowed: " + kHfOptimsModelled + ")");
  });
  r["use_liger_kernel"] = read_into(a, "use_liger_kernel", [&](const YAML::Node& v) {
    a.use_liger_kernel = read_flag(b, "use_liger_kernel", v);
  });
  r["liger_kernel_config"] =
      only_default(b, "liger_kernel_config", "",
                   "a chosen subset of Liger's kernels is not modelled (the default set: "
                   "use_liger_kernel or enable_liger_kernel)");
  for (const char* f : {"fsdp", "fsdp_config", "fsdp_transformer_layer_cls_to_wrap"})
    r[f] = only_default(
        b, f, "",
        "FSDP is not modelled: LLaMA-Factory casts the trainable parameters to fp32 (model/adapter.py "
        "init_adapter) and FSDP shards and gathers those flat fp32 parameters per wrapped unit under its own "
        "MixedPrecision policy, with no fp32 master copy; zerosim's ZeRO stages model DeepSpeed's engine "
        "(bf16 "
        "parameters, fp32 master in the optimizer, its buckets and prefetch), and train.engine: pytorch "
        "allows "
        "zero.stage 0 only. Use deepspeed: with the matching ZeRO stage (full_shard ~ 3, shard_grad_op ~ 2, "
        "no_shard ~ 0)");
  r["fsdp_min_num_params"] = only_default(b, "fsdp_min_num_params", "0", "FSDP is not modelled");
  r["parallelism_config"] =
      only_default(b, "parallelism_config", "", "tensor, context or sequence parallelism is not modelled");
  r["accelerator_config"] =
      only_default(b, "accelerator_config", "",
                   "accelerate's options (split_batches changes the per-GPU batch) are not read");
  r["label_smoothing_factor"] = only_default(b, "label_smoothing_factor", "0",
                                             "label smoothing runs its own loss over log-softmaxed logits "
                                             "(trainer_pt_utils.py LabelSmoother): not modelled");
  r["torch_compile"] =
      only_default(b, "torch_compile", "false", "torch.compile's fused kernels are not modelled");
  for (const char* f : {"torch_compile_backend", "torch_compile_mode", "torchdynamo"})
    r[f] = only_default(b, f, "", "turns torch_compile on (training_args.py __post_init__): not modelled");
  r["torch_empty_cache_steps"] = only_default(
      b, "torch_empty_cache_steps", "",
      "emptying the CUDA cache every N steps returns reserved memory and re-allocates it: not modelled");
  r["auto_find_batch_size"] = only_default(b, "auto_find_batch_size", "false",
                                           "the batch size would be found by trial on the GPU: give "
                                           "per_device_train_batch_size");
  r["full_determinism"] =
      only_default(b, "full_determinism", "false",
                   "enable_full_determinism sets CUDA_LAUNCH_BLOCKING=1 and deterministic "
                   "kernels: not modelled");
  r["adafactor"] = only_default(b, "adafactor", "false", "Adafactor's states are not modelled");
  for (const char* f : {"use_cpu", "no_cuda", "use_mps_device"})
    r[f] = only_default(b, f, "false", "zerosim models CUDA GPUs");
  r["half_precision_backend"] = only_default(b, "half_precision_backend", "auto",
                                             "apex or CPU AMP is not modelled (auto: torch.autocast)");
  r["fp16_backend"] = only_default(b, "fp16_backend", "auto", "apex or CPU AMP is not modelled");
  r["fp16_opt_level"] = none("apex only (half_precision_backend: apex), which is refused");
  r["tf32"] = none("TF32 speeds fp32 matmuls; the step's GEMMs run in bf16/fp16");
  r["ddp_backend"] = only_default(b, "ddp_backend", "nccl", "collectives other than NCCL's are not modelled");
  r["ddp_bucket_cap_mb"] =
      only_default(b, "ddp_bucket_cap_mb", "",
                   "DDP's buckets are not modelled (without DeepSpeed zerosim runs the "
                   "gradient all-reduce as DeepSpeed stage 0's: docs/inputs.md train.engine)");
  r["ddp_find_unused_parameters"] =
      only_default(b, "ddp_find_unused_parameters", "false",
                   "DDP's search of the autograd graph every step is not modelled",
                   "no unused-parameter search (LLaMA-Factory sets false for LoRA)");
  r["ddp_broadcast_buffers"] = none("the model's only buffer is RoPE's inv_freq (head_dim/2 floats)");
  r["debug"] =
      only_default(b, "debug", "", "debug hooks on every module (underflow_overflow) are not modelled");
  r["past_index"] =
      only_default(b, "past_index", "-1", "keeping model outputs as memory (XLNet) is not modelled");
  r["optim_args"] = none("arguments of optimizers other than AdamW, which are refused");
  r["optim_target_modules"] = none("read only by the GaLore and APOLLO optimizers, which are refused");
  r["neftune_noise_alpha"] =
      none("NEFTune adds noise to the embeddings' output: one elementwise op per forward");
  for (const char* f :
       {"learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "num_train_epochs",
        "max_steps", "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_ratio", "warmup_steps"})
    r[f] = none(kOptimSchedule);
  r["max_grad_norm"] = read_into(
      a, "max_grad_norm", [&](const YAML::Node& v) { a.max_grad_norm = hf_max_grad_norm(v, b.file()); });
  for (const char* f : {"group_by_length", "length_column_name", "train_sampling_strategy"})
    r[f] = none("the order of samples; zerosim simulates every micro-batch at train.seq_len");
  for (const char* f :
       {"dataloader_drop_last", "dataloader_num_workers", "dataloader_prefetch_factor",
        "dataloader_pin_memory", "dataloader_persistent_workers", "remove_unused_columns", "label_names"})
    r[f] = none("the data loader's host side, which the step does not wait for");
  for (const char* f :
       {"average_tokens_across_devices", "include_num_input_tokens_seen", "include_tokens_per_second"})
    r[f] = none("one scalar all-reduce per step");
  for (const char* f : {"output_dir",
                        "do_eval",
                        "do_predict",
                        "eval_strategy",
                        "prediction_loss_only",
                        "per_device_eval_batch_size",
                        "per_gpu_eval_batch_size",
                        "eval_accumulation_steps",
                        "eval_delay",
                        "eval_steps",
                        "eval_on_start",
                        "eval_do_concat_batches",
                        "eval_use_gather_object",
                        "batch_eval_metrics",
                        "include_for_metrics",
                        "include_inputs_for_metrics",
                        "jit_mode_eval",
                        "bf16_full_eval",
                        "fp16_full_eval",
                        "use_legacy_prediction_loop",
                        "metric_for_best_model",
                        "greater_is_better",
                        "load_best_model_at_end",
                        "log_level",
                        "log_level_replica",
                        "log_on_each_node",
                        "logging_dir",
                        "logging_strategy",
                        "logging_first_step",
                        "logging_steps",
                        "save_strategy",
                        "save_steps",
                        "save_total_limit",
                        "save_safetensors",
                        "save_on_each_node",
                        "save_only_model",
                        "enable_jit_checkpoint",
                        "restore_callback_states_from_checkpoint",
                        "resume_from_checkpoint",
                        "ignore_data_skip",
                        "seed",
                        "data_seed",
                        "report_to",
                        "run_name",
                        "project",
                        "trackio_space_id",
                        "disable_tqdm",
                        "skip_memory_metrics",
                        "push_to_hub",
                        "hub_model_id",
                        "hub_strategy",
                        "hub_token",
                        "hub_private_repo",
                        "hub_always_push",
                        "hub_revision",
                        "push_to_hub_model_id",
                        "push_to_hub_organization",
                        "push_to_hub_token",
                        "mp_parameters",
                        "ray_scope",
                        "ddp_timeout",
                        "local_rank",
                        "tpu_num_cores",
                        "tpu_metrics_debug",
                        "use_cache"})
    r[f] = none(kBookkeeping);
  r["use_cache"] = none("LLaMA-Factory turns the KV cache off for training (patcher.py configure_kv_cache)");
}

// ---- what the fields become --------------------------------------------------------------------

// A checkpoint quantized before training (GPTQ, AWQ, AQLM, ...): its linears are not bitsandbytes' 4-bit.
bool pre_quantized(const std::string& model) {
  const std::string m = lower(model);
  for (const char* tag : {"gptq", "awq", "aqlm", "hqq", "eetq", "exl2", "fp8", "mxfp4"})
    if (m.find(tag) != std::string::npos) return true;
  return false;
}

void set_model(ImportBuilder& b, const Args& a, const ImportOptions& o) {
  if (a.model.empty()) {
    if (o.model.empty())
      b.refuse("model_name_or_path",
               "is missing (LLaMA-Factory refuses that too: model_args.py BaseModelArguments.__post_init__); "
               "give the model with --model PRESET or --model path/config.json");
    return;
  }
  if (pre_quantized(a.model))
    b.refuse("model_name_or_path", "'" + a.model +
                                       "' names a pre-quantized checkpoint (GPTQ, AWQ, AQLM, ...): only "
                                       "bitsandbytes 4-bit (quantization_bit: 4) is modelled");
  // LLaMA-Factory resolves a local directory from the working directory; zerosim also tries next to the file.
  std::string how;
  if (const std::string model = resolve_model(a.model, b.file(), o.out_dir, how); !model.empty()) {
    b.set("model", model, from(a, "model_name_or_path") + " (" + how + ")");
    return;
  }
  if (o.model.empty())
    b.refuse("model_name_or_path", "'" + a.model + "' is neither a Hub id of a zerosim preset (" +
                                       join(preset_names()) +
                                       ") nor a directory with a config.json: give the model with --model "
                                       "PRESET or --model path/config.json");
}

std::string number(double x) {
  std::string s = std::to_string(x);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

void set_peft(ImportBuilder& b, const Args& a) {
  const std::string ft = a.given.count("finetuning_type")
                             ? from(a, "finetuning_type")
                             : std::string(kLf) + " default finetuning_type: lora";
  if (a.finetuning_type == "full") {
    b.set("peft.method", "none", ft);
    for (const char* f : {"lora_rank", "lora_alpha", "lora_dropout", "lora_target", "additional_target",
                          "use_dora", "use_rslora"})
      if (a.given.count(f)) b.no_effect(f, "read only with finetuning_type: lora");
    return;
  }
  const std::string defaults = std::string(kLf) + " default (finetuning_args.py LoraArguments)";
  b.set("peft.method", a.use_dora ? "dora" : "lora",
        a.given.count("use_dora") ? from(a, "use_dora") + ", " + ft
                                  : ft + " (use_dora: false, " + defaults + ")");
  b.set("peft.r", std::to_string(a.lora_rank),
        a.given.count("lora_rank") ? from(a, "lora_rank") : "lora_rank: 8, " + defaults);
  b.set("peft.alpha", number(a.lora_alpha ? *a.lora_alpha : 2.0 * static_cast<double>(a.lora_rank)),
        a.lora_alpha
            ? from(a, "lora_alpha")
            : "lora_alpha unset: lora_rank x 2 (finetuning_args.py FinetuningArguments.__post_init__)");
  b.set("peft.dropout", number(a.lora_dropout),
        a.given.count("lora_dropout") ? from(a, "lora_dropout") : "lora_dropout: 0.0, " + defaults);
  const bool all = a.lora_target.size() == 1 && lower(a.lora_target[0]) == "all";
  const std::string target_origin =
      a.given.count("lora_target") ? from(a, "lora_target") : "lora_target: all, " + defaults;
  b.set("peft.target_modules", all ? "all-linear" : yaml_list(a.lora_target),
        all ? target_origin +
                  ": every linear layer but lm_head (model/model_utils/misc.py find_all_linear_modules)"
            : target_origin);
  b.set("peft.use_rslora", a.use_rslora ? "true" : "false",
        a.given.count("use_rslora") ? from(a, "use_rslora") : "use_rslora: false, " + defaults);
  if (!a.additional_target.empty())
    b.set("peft.modules_to_save", yaml_list(a.additional_target),
          from(a, "additional_target") + " (LoraConfig modules_to_save, model/adapter.py)");
}

// Tokens per micro-batch: packed samples fill cutoff_len exactly; unpacked batches are padded to their
// longest sample, which zerosim takes at its bound.
void set_seq_len(ImportBuilder& b, const Args& a) {
  const bool packed = a.packing ? *a.packing : a.stage == "pt";
  const std::string cut = a.given.count("cutoff_len")
                              ? from(a, "cutoff_len")
                              : "cutoff_len: 2048 (" + std::string(kLf) + " default, data_args.py)";
  if (a.stage == "pt" && packed) {
    // pretrain.py cuts the text into blocks of cutoff_len; an explicit `packing: true` first takes one off
    // (DataArguments.__post_init__: "avoid pad_to_multiple_of").
    const bool minus_one = a.packing.has_value();
    b.set("train.seq_len", std::to_string(a.cutoff_len - (minus_one ? 1 : 0)),
          cut + (minus_one ? ", packing: true: blocks of cutoff_len - 1 (data_args.py __post_init__, "
                             "data/processor/pretrain.py)"
                           : ", stage pt packs by default: blocks of cutoff_len (parser.py get_train_args, "
                             "data/processor/pretrain.py)"));
    return;
  }
  if (packed) {
    b.set("train.seq_len", std::to_string(a.cutoff_len),
          cut + ", packing: true: every packed sample is cutoff_len tokens (data/processor/supervised.py)");
    return;
  }
  const int64_t len = a.stage == "sft" ? (a.cutoff_len + 7) / 8 * 8 : a.cutoff_len;
  b.set("train.seq_len", std::to_string(len),
        cut + (a.stage == "sft"
                   ? ", no packing: batches padded to their longest sample, a multiple of 8 "
                     "(train/sft/workflow.py pad_to_multiple_of=8); zerosim takes the longest"
                   : ", no packing: batches padded to their longest sample; zerosim takes the longest"));
}

bool uses_zero3(const Args& a) { return a.ds_stage == 3; }

// The precision of the step (docs/inputs.md train.precision, train.engine) from bf16/fp16/pure_bf16 and
// whether DeepSpeed wraps the model.
void set_precision(ImportBuilder& b, const Args& a) {
  if (a.bf16 && a.fp16)
    b.refuse("fp16", "true with bf16: true (transformers refuses both: at most one of them)");
  const bool half = a.bf16 || a.fp16;
  const std::string mixed = a.bf16 ? "bf16" : "fp16";
  if (!a.deepspeed.empty()) {
    if (a.pure_bf16)
      b.refuse("pure_bf16",
               uses_zero3(a) ? "true with ZeRO-3 (LLaMA-Factory refuses it: parser.py get_train_args)"
                             : "true with DeepSpeed: the engine's precision is the ds_config's bf16 block, "
                               "which HF Trainer fills from bf16 (false here): DeepSpeed's fp32 mode over "
                               "bf16 weights, not modelled");
    if (!half)
      b.refuse("bf16",
               "neither bf16 nor fp16 is true: DeepSpeed would run its fp32 mode (HF Trainer fills the "
               "ds_config's \"auto\" precision from them) over weights loaded in infer_optim_dtype of the "
               "checkpoint (model/patcher.py patch_config: bf16 on a bf16 checkpoint), a mix not modelled");
    b.set("train.engine", "deepspeed",
          from(a, "deepspeed") + " (HF Trainer hands the model to deepspeed.initialize)");
    b.set("train.precision", mixed + "-mixed",
          from(a, mixed) + " (DeepSpeed casts the model to " + mixed +
              " and keeps an fp32 master in its optimizer)");
    return;
  }
  b.set("train.engine", "pytorch", "no deepspeed: HF Trainer without DeepSpeed (torch DDP, torch.autocast)");
  if (a.pure_bf16) {
    b.set("train.precision", "bf16-pure",
          from(a, "pure_bf16") +
              " (model loaded in bf16, trainable parameters not upcast: model/adapter.py "
              "init_adapter)" +
              (a.bf16 ? "; bf16: true only adds autocast over the bf16 weights" : ""));
    return;
  }
  if (!half)
    b.refuse("bf16",
             "neither bf16, fp16 nor pure_bf16 is true: the model is loaded in infer_optim_dtype of the "
             "checkpoint and the GPU (model/patcher.py patch_config) and trained without autocast: not "
             "modelled; set bf16: true (or pure_bf16: true)");
  if (a.finetuning_type == "full") {
    b.set("train.precision", "amp-" + mixed,
          from(a, mixed) +
              ", finetuning_type full: the trainable parameters are cast to fp32 (model/adapter.py "
              "init_adapter) and run under torch.autocast");
    return;
  }
  b.set("train.precision", mixed + "-mixed",
        from(a, mixed) + ": base weights loaded in " + mixed +
            " (model_args.compute_dtype), fp32 adapters (init_adapter), torch.autocast");
}

void set_train(ImportBuilder& b, const Args& a) {
  if (a.per_gpu_train_batch_size)
    b.set(
        "train.micro_batch", std::to_string(*a.per_gpu_train_batch_size),
        from(a, "per_gpu_train_batch_size") + " (wins over per_device_train_batch_size in transformers 4.x)");
  else if (a.per_device_train_batch_size)
    b.set("train.micro_batch", std::to_string(*a.per_device_train_batch_size),
          from(a, "per_device_train_batch_size"));
  else
    b.set("train.micro_batch", "8",
          "per_device_train_batch_size: 8 (transformers TrainingArguments default)");
  set_seq_len(b, a);
  b.set("train.grad_accum", std::to_string(a.gradient_accumulation_steps),
        a.given.count("gradient_accumulation_steps")
            ? from(a, "gradient_accumulation_steps")
            : "gradient_accumulation_steps: 1 (transformers default)");
  const bool gc = !a.disable_gradient_checkpointing || a.gradient_checkpointing;
  std::string gc_origin =
      a.disable_gradient_checkpointing
          ? from(a, "disable_gradient_checkpointing")
          : (a.given.count("disable_gradient_checkpointing")
                 ? from(a, "disable_gradient_checkpointing")
                 : "disable_gradient_checkpointing: false, " + std::string(kLf) + " default") +
                ": model/model_utils/checkpointing.py prepare_model_for_training checkpoints every layer";
  if (a.disable_gradient_checkpointing && a.gradient_checkpointing)
    gc_origin += ", but gradient_checkpointing: true (HF Trainer enables it)";
  b.set("train.activation_checkpointing", gc ? "true" : "false", gc_origin);
  b.set("train.loop", "hf-trainer",
        std::string(kLf) + " trains with its Seq2SeqTrainer subclass of HF Trainer (train/sft/trainer.py)");
  set_hf_max_grad_norm(b, a.max_grad_norm,
                       a.given.count("max_grad_norm")
                           ? from(a, "max_grad_norm")
                           : std::string("max_grad_norm: 1.0 (transformers default)"));
  b.set("train.loss_sync", a.logging_nan_inf_filter ? "true" : "false",
        (a.given.count("logging_nan_inf_filter")
             ? from(a, "logging_nan_inf_filter")
             : std::string("logging_nan_inf_filter: true (transformers default)")) +
            ": HF Trainer tests each micro-step's loss for nan/inf on the host");
  const std::string fa = a.given.count("flash_attn") ? from(a, "flash_attn")
                                                     : "flash_attn: auto (" + std::string(kLf) + " default)";
  b.set("train.flash_attention", a.flash_attn == "disabled" ? "false" : "true",
        a.flash_attn == "disabled" ? fa + ": eager attention (model_utils/attention.py)"
        : a.flash_attn == "fa2"    ? fa + ": flash_attention_2"
        : a.flash_attn == "sdpa"
            ? fa + ": SDPA (its flash or memory-efficient kernel keeps no s x s probabilities)"
            : fa + ": transformers' default attention, SDPA");
  set_precision(b, a);
  if (a.optim.empty())
    b.set(
        "train.optimizer", "fused",
        "optim unset: adamw_torch_fused, transformers' default with torch >= 2.8 (adamw_torch before: write "
        "optim: adamw_torch for foreach)");
  else {
    // LLaMA-Factory hands optim to HF's TrainingArguments, whose Trainer builds the optimizer.
    const HfOptimizer o = *hf_optimizer(a.optim);
    b.set("train.optimizer", o.value, from(a, "optim") + " (" + o.what + ")");
  }
  if (a.enable_liger_kernel || a.use_liger_kernel)
    b.set("train.loss", "fused-linear-ce",
          from(a, a.enable_liger_kernel ? "enable_liger_kernel" : "use_liger_kernel") +
              ": Liger's fused linear cross-entropy for stages pt/sft (model_utils/liger_kernel.py); its "
              "RMSNorm, RoPE and SwiGLU kernels are taken at the unfused ops' cost");
  else
    b.set("train.loss", "hf", "no Liger kernel: the model's own causal-LM loss under HF Trainer");
}

// The ds_config's ZeRO stage, for the checks LLaMA-Factory makes on ZeRO-3 (zerosim reads the rest).
int read_ds_stage(const std::string& path) {
  std::ifstream f(path);
  if (!f) return -1;
  const nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  if (j.is_discarded() || !j.contains("zero_optimization")) return j.is_discarded() ? -1 : 0;
  const auto& z = j["zero_optimization"];
  return z.contains("stage") && z["stage"].is_number_integer() ? z["stage"].get<int>() : 0;
}

// LLaMA-Factory resolves the ds_config from the working directory (where llamafactory-cli runs); a path
// found there is kept absolute, otherwise it is taken next to the source file.
void set_deepspeed(ImportBuilder& b, Args& a, const ImportOptions& o) {
  if (a.deepspeed.empty()) return;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p(a.deepspeed);
  if (p.is_relative() && fs::exists(p, ec)) p = fs::absolute(p, ec);
  const fs::path resolved = p.is_relative() ? fs::path(b.file()).parent_path() / p : p;
  if (!fs::is_regular_file(resolved, ec))
    b.refuse(
        "deepspeed",
        "'" + a.deepspeed + "' is not a file (looked in the working directory and next to " + b.file() + ")");
  a.ds_stage = read_ds_stage(resolved.string());
  b.set("deepspeed", yaml_scalar(path_from_output(p.string(), b.file(), o.out_dir)), from(a, "deepspeed"));
}

void set_quantization(ImportBuilder& b, const Args& a) {
  if (!a.quantization_bit) return;
  const std::string bits = from(a, "quantization_bit");
  if (a.finetuning_type != "lora")
    b.refuse("quantization_bit",
             "needs finetuning_type lora (LLaMA-Factory refuses it: parser.py _verify_model_args)");
  if (a.quantization_method != "bnb")
    b.refuse("quantization_method",
             "'" + a.quantization_method + "': only bitsandbytes (bnb) 4-bit quantization is modelled");
  if (*a.quantization_bit != 4 && *a.quantization_bit != 8)
    b.refuse("quantization_bit",
             std::to_string(*a.quantization_bit) + ": bitsandbytes takes 4 or 8 bits (allowed: 4, 8)");
  if (uses_zero3(a) && *a.quantization_bit != 4)
    b.refuse("quantization_bit",
             "8 with ZeRO-3: LLaMA-Factory refuses it (model_utils/quantization.py configure_quantization: "
             "\"Only 4-bit quantized model can use fsdp+qlora\") (allowed with ZeRO-3: 4)");
  const std::string how = " (model_utils/quantization.py configure_quantization: BitsAndBytesConfig)";
  if (*a.quantization_bit == 8) {
    // BitsAndBytesConfig(load_in_8bit=True): LLM.int8() with transformers' default outlier threshold.
    b.set("quantization.method", "int8", bits + how + ": load_in_8bit=True");
    b.set("quantization.threshold", "6.0", "llm_int8_threshold: BitsAndBytesConfig's default 6.0");
    b.set("quantization.prepare_kbit_training", "false",
          "LLaMA-Factory does not call peft's prepare_model_for_kbit_training (model/adapter.py upcasts the "
          "trainable parameters only)");
    return;
  }
  b.set("quantization.method", a.quantization_type,
        (a.given.count("quantization_type") ? from(a, "quantization_type")
                                            : "quantization_type: nf4, " + std::string(kLf) + " default") +
            ", " + bits + how);
  b.set("quantization.double_quant", a.double_quantization ? "true" : "false",
        a.given.count("double_quantization") ? from(a, "double_quantization")
                                             : "double_quantization: true, " + std::string(kLf) + " default");
  b.set("quantization.compute_dtype", a.fp16 ? "fp16" : "bf16",
        "bnb_4bit_compute_dtype = model_args.compute_dtype (" + std::string(a.fp16 ? "fp16" : "bf16") + ")");
  b.set("quantization.quant_storage", a.fp16 ? "fp16" : "bf16",
        "bnb_4bit_quant_storage = model_args.compute_dtype (\"crucial for fsdp+qlora\")" + how);
  b.set("quantization.prepare_kbit_training", "false",
        "LLaMA-Factory does not call peft's prepare_model_for_kbit_training (model/adapter.py upcasts the "
        "trainable parameters only)");
}

std::map<std::string, FieldRule> all_rules(Args& a, ImportBuilder& b) {
  std::map<std::string, FieldRule> r;
  model_rules(r, a, b);
  data_rules(r, a, b);
  finetuning_rules(r, a, b);
  llamafactory_training_rules(r, b);
  hf_training_rules(r, a, b);
  return r;
}

YAML::Node load_source(const std::string& file) {
  try {
    return YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    throw ConfigError(file, "", "cannot read the file");
  } catch (const YAML::Exception& e) {
    throw ConfigError(file, "", std::string("is not YAML: ") + e.what());
  }
}

}  // namespace

ImportedConfig import_llamafactory(const std::string& file, const ImportOptions& options) {
  ImportBuilder b("llamafactory", file);
  Args a;
  const YAML::Node root = load_source(file);
  apply_field_rules(b, root, all_rules(a, b), "LLaMA-Factory training");
  if (!a.do_train)
    b.refuse("do_train",
             "is false (transformers' default): LLaMA-Factory then runs no training step, only "
             "evaluation or prediction (train/sft/workflow.py run_sft)");
  set_model(b, a, options);
  set_peft(b, a);
  set_deepspeed(b, a, options);
  set_train(b, a);
  set_quantization(b, a);
  apply_command_line(b, options);
  return b.finish();
}

}  // namespace zerosim
