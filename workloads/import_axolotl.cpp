// `zerosim import axolotl FILE`: an axolotl YAML (as in axolotl's examples/) as a zerosim run config.
// Fields and defaults read from axolotl v0.18.0 (2f5cb9da62a0fe763a1ddeb7798fc9acb2f4a417):
// src/axolotl/utils/schemas/config.py AxolotlInputConfig and the models it composes, utils/config/__init__.py
// normalize_config / resolve_dtype, loaders/model.py, loaders/adapter.py, utils/trainer.py setup_fsdp_envs
// (docs/import/axolotl.md has the field table).
#include <filesystem>
#include <set>

#include "workloads/config_error.h"
#include "workloads/config_import.h"
#include "workloads/yaml_read.h"

namespace zerosim {

namespace {

const std::string kRelease = "axolotl v0.18.0";
const std::string kLigerPlugin = "axolotl.integrations.liger.LigerPlugin";

std::string axolotl_default(const std::string& what, const std::string& where) {
  return kRelease + " default: " + what + " (" + where + ")";
}

// A value the user turned on: not null, not false, not 0, not an empty list or map (axolotl tests fields
// with `if cfg.x:`).
bool is_set(const YAML::Node& v) {
  if (!v.IsDefined() || v.IsNull()) return false;
  if (v.IsSequence() || v.IsMap()) return v.size() > 0;
  const std::string s = v.Scalar();
  return !(s == "false" || s == "False" || s == "0" || s.empty());
}

bool is_true(const YAML::Node& v) {
  return v.IsDefined() && v.IsScalar() && (v.Scalar() == "true" || v.Scalar() == "True");
}

// The value as it is written, for origins: "sequence_len: 4096".
std::string shown(const YAML::Node& v) {
  if (!v.IsDefined() || v.IsNull()) return "~";
  if (v.IsScalar()) return v.Scalar();
  YAML::Emitter e;
  e.SetSeqFormat(YAML::Flow);
  e.SetMapFormat(YAML::Flow);
  e << v;
  return e.c_str();
}

// A list or map as flow YAML for a run-config value.
std::string flow(const YAML::Node& v) { return shown(v); }

// The rules: which fields zerosim translates (the translation reads them from the file afterwards, as they
// depend on each other), which have no effect (why), which are refused when set (why).
class Rules {
 public:
  explicit Rules(ImportBuilder& b) : b_(b) {}
  // Translated by translate() below; `unused` says why it changes nothing where translate() does not use it.
  void read(std::initializer_list<const char*> names, const std::string& unused) {
    for (const char* n : names) {
      rules_[n] = FieldRule{[](const YAML::Node&) {}, "", ""};
      unused_[n] = unused;
    }
  }
  void no_effect(std::initializer_list<const char*> names, const std::string& why) {
    for (const char* n : names) rules_[n] = FieldRule{{}, why, ""};
  }
  // Refused when set (is_set); null, false or empty: axolotl's default, no effect.
  void refuse_set(std::initializer_list<const char*> names, const std::string& why) {
    for (const char* n : names) {
      const std::string field = n;
      rules_[field] =
          FieldRule{[this, field, why](const YAML::Node& v) {
                      if (is_set(v)) b_.refuse(field, shown(v) + ": " + why);
                      b_.no_effect(field, "unset (" + shown(v) + "): axolotl's default, nothing to model");
                    },
                    "", ""};
    }
  }
  const std::map<std::string, FieldRule>& all() const { return rules_; }
  const std::map<std::string, std::string>& unused() const { return unused_; }

 private:
  ImportBuilder& b_;
  std::map<std::string, FieldRule> rules_;
  std::map<std::string, std::string> unused_;
};

const char* const kAfterTraining = "runs before or after training, or between steps (loading, saving, eval)";
const char* const kLogging = "experiment tracking and logging: host-side, outside the step";
const char* const kData = "the data pipeline: which samples, not how many tokens a step runs (sequence_len)";
const char* const kSchedule =
    "learning-rate schedule, optimizer hyper-parameters or run length: values, not shapes";
const char* const kRlOnly = "read only by the RL trainers (rl:), which are refused";

void model_and_output_rules(Rules& r) {
  r.read({"base_model", "base_model_config"}, "the model comes from --model");
  r.no_effect({"model_type", "type_of_model"},
              "the class that loads base_model (AutoModelForCausalLM or LlamaForCausalLM): the same modules");
  r.no_effect({"model_revision", "revision_of_model"},
              "which commit of the Hub repository: the same config.json");
  r.refuse_set({"model_config", "overrides_of_model_config"},
               "overrides the model's config.json (shapes); write the changed config.json and pass --model");
  r.refuse_set({"model_kwargs", "overrides_of_model_kwargs"},
               "extra from_pretrained arguments are not modelled");
  r.refuse_set({"cls_model_config"}, "a sequence-classification head is not modelled");
  r.no_effect(
      {"tokenizer_config", "tokenizer_use_fast", "tokenizer_legacy", "tokenizer_use_mistral_common",
       "tokenizer_type", "processor_type", "processor_kwargs", "tokenizer_save_jinja_files", "chat_template",
       "chat_template_jinja", "chat_template_kwargs", "eot_tokens", "default_system_message",
       "special_tokens"},
      "tokenization and templates (special_tokens names existing tokens: a token outside the vocabulary "
      "would add one embedding row, which zerosim does not count)");
  r.no_effect({"trust_remote_code"},
              "remote modelling code is not run by zerosim; the shapes are the config's");
  r.no_effect(
      {"experimental_skip_move_to_device", "low_cpu_mem_usage", "qlora_sharded_model_loading",
       "embeddings_skip_upcast", "mean_resizing_embeddings", "reinit_weights", "fix_untrained_tokens"},
      "how the weights are loaded or initialised, not what the step holds (embeddings_skip_upcast: the "
      "embeddings are cast back to the training dtype before training, loaders/model.py)");
  r.refuse_set({"use_kernels", "use_onebitllms"}, "replaces the model's kernels; not modelled");
  r.refuse_set({"model_quantization_config", "model_quantization_config_kwargs", "gptq"},
               "MXFP4/FP8/GPTQ weights are not modelled (bitsandbytes 4-bit is: adapter: qlora)");
  r.refuse_set({"tokens", "added_tokens_overrides", "resize_token_embeddings_to_32x", "shrink_embeddings"},
               "changes the vocabulary size; write the changed config.json and pass --model");
  r.no_effect({"output_dir", "hub_model_id", "hub_strategy", "hub_revision", "save_safetensors",
               "resume_from_checkpoint", "auto_resume_from_checkpoints", "strict", "axolotl_config_path",
               "merge_lora", "merge_method", "quantization", "fsdp_final_state_dict_type"},
              kAfterTraining);
}

void peft_rules(Rules& r) {
  r.read({"adapter", "load_in_8bit", "load_in_4bit", "bnb_config_kwargs"}, "");
  r.read({"lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "lora_target_linear",
          "lora_modules_to_save", "lora_rank_pattern", "lora_alpha_pattern", "peft_layers_to_transform",
          "peft_layers_pattern", "peft_use_dora", "peft_use_rslora", "peft_autocast_adapter_dtype",
          "lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel", "lora_embedding_kernel"},
         "read only with adapter: lora or qlora (loaders/adapter.py load_lora)");
  r.refuse_set({"lora_model_dir"},
               "resumes a saved adapter whose adapter_config.json sets the shapes; give its fields (lora_r, "
               "lora_target_modules, ...) instead");
  r.refuse_set({"lora_target_parameters", "peft_layer_replication", "peft_trainable_token_indices",
                "peft_ensure_weight_tying", "peft", "lora_on_cpu"},
               "changes which parameters peft adds or where they live; not modelled");
  r.no_effect({"lora_fan_in_fan_out"}, "the weight layout of GPT-2's Conv1D: the same shapes and FLOPs");
  r.no_effect({"peft_init_lora_weights"},
              "the adapters' initial values (gaussian, PiSSA, OLoRA...): not shapes");
  r.no_effect({"loraplus_lr_ratio", "loraplus_lr_embedding"},
              "LoRA+ learning rates per parameter group: the same optimizer states");
  r.refuse_set({"relora"}, "ReLoRA merges and resets the adapters during training; not modelled");
  r.no_effect({"relora_prune_ratio", "relora_prune_method", "relora_cpu_offload"},
              "read only with relora: true");
  r.refuse_set({"lisa_n_layers"}, "LISA trains a changing subset of layers; not modelled");
  r.no_effect({"lisa_step_interval", "lisa_layers_attribute"}, "read only with lisa_n_layers");
  r.refuse_set({"unfrozen_parameters"}, "freezes part of a full fine-tune; not modelled");
}

void training_rules(Rules& r) {
  r.read({"micro_batch_size", "gradient_accumulation_steps", "batch_size", "sequence_len", "sample_packing",
          "pad_to_sequence_len", "optimizer", "bf16", "fp16", "bfloat16", "float16", "gradient_checkpointing",
          "max_grad_norm"},
         "");
  r.refuse_set({"auto_find_batch_size"},
               "the micro-batch would be found by trial at run time; give micro_batch_size");
  r.no_effect({"eval_batch_size",
               "eval_sequence_len",
               "eval_sample_packing",
               "val_set_size",
               "test_datasets",
               "eval_steps",
               "evals_per_epoch",
               "eval_strategy",
               "evaluation_strategy",
               "do_causal_lm_eval",
               "eval_causal_lm_metrics",
               "do_bench_eval",
               "bench_dataset",
               "bench_split",
               "metric_for_best_model",
               "greater_is_better",
               "eval_table_size",
               "eval_max_new_tokens",
               "generate_samples",
               "num_generation_samples",
               "generation_max_new_tokens",
               "generation_temperature",
               "generation_top_p",
               "generation_top_k",
               "generation_prompt_ratio",
               "generation_do_sample"},
              "evaluation runs between training steps; the step is the training one");
  r.no_effect({"learning_rate",
               "embedding_lr",
               "embedding_lr_scale",
               "weight_decay",
               "lr_scheduler",
               "lr_scheduler_kwargs",
               "lr_quadratic_warmup",
               "cosine_min_lr_ratio",
               "cosine_constant_lr_ratio",
               "lr_div_factor",
               "lr_groups",
               "adam_epsilon",
               "adam_epsilon2",
               "adam_beta1",
               "adam_beta2",
               "adam_beta3",
               "num_epochs",
               "max_steps",
               "warmup_steps",
               "warmup_ratio",
               "jagged_restart_steps",
               "jagged_restart_warmup_steps",
               "jagged_restart_anneal_steps",
               "neftune_noise_alpha",
               "noisy_embedding_alpha",
               "torchdistx_path"},
              kSchedule);
  r.refuse_set({"optim_args", "optim_target_modules"},
               "optimizer arguments can add states (amsgrad) or project gradients (GaLore); not modelled");
  r.no_effect({"dion_lr", "dion_momentum", "dion_rank_fraction", "dion_rank_multiple_of", "qgalore_rank",
               "qgalore_update_proj_gap", "qgalore_scale", "qgalore_proj_type", "qgalore_proj_quant",
               "qgalore_proj_bits", "qgalore_proj_group_size", "qgalore_cos_threshold", "qgalore_gamma_proj",
               "qgalore_queue_size"},
              "read only by the dion and q_galore optimizers, which are refused (optimizer)");
  r.refuse_set({"float32"},
               "torch_dtype float32 beside bf16/fp16 flags is not modelled (bf16: false and "
               "fp16: false is: fp32 training)");
  r.refuse_set({"fp8", "fp8_enable_fsdp_float8_all_gather", "qat"},
               "fp8 training is not modelled (the GPU catalogue has no FP8 peaks)");
  r.read({"tf32"}, "TF32 applies to fp32 matmuls; with bf16/fp16 the step's GEMMs run in 16 bits");
  r.no_effect({"gradient_checkpointing_kwargs"},
              "use_reentrant true or false: both recompute each decoder layer once in backward");
  r.refuse_set({"selective_checkpointing", "activation_offloading", "layer_offloading", "dynamic_checkpoint"},
               "checkpoints part of the layers or offloads activations/layers to the host; not modelled");
  r.no_effect({"train_on_inputs",
               "group_by_length",
               "excess_length_strategy",
               "min_sample_len",
               "max_prompt_len",
               "sample_packing_group_size",
               "sample_packing_bin_size",
               "sample_packing_sequentially",
               "sample_packing_mp_start_method",
               "sample_packing_eff_est",
               "pad_to_multiple_of",
               "curriculum_sampling",
               "multipack_real_batches",
               "batch_flattening",
               "use_pose",
               "pose_split_on_token_ids",
               "pose_max_context_len",
               "pose_num_chunks",
               "pretrain_multipack_buffer_size",
               "pretrain_multipack_attn",
               "pretraining_sample_concatenation",
               "streaming",
               "streaming_multipack_buffer_size",
               "total_num_tokens",
               "total_supervised_tokens"},
              "how samples are arranged into rows of at most sequence_len tokens (micro_batch_size x "
              "sequence_len bounds every step, which is what zerosim simulates)");
  r.no_effect({"gc_steps", "gc_collect_steps"},
              "axolotl's GCCallback runs gc.collect() between steps, outside the step's time and peak");
  r.refuse_set(
      {"torch_empty_cache_steps"},
      "passed to TrainingArguments: torch.cuda.empty_cache() every N steps inside training_step gives "
      "the cached blocks back, so the next step cudaMallocs them again; that time is not modelled");
  r.no_effect({"loss_watchdog_threshold", "loss_watchdog_patience", "early_stopping_patience", "save_steps",
               "saves_per_epoch", "save_strategy", "save_total_limit", "save_first_step", "logging_steps",
               "load_best_model_at_end", "save_only_model", "profiler_steps", "profiler_steps_start",
               "include_tokens_per_second", "include_tkps"},
              kAfterTraining);
}

void attention_and_kernel_rules(Rules& r) {
  r.read({"attn_implementation", "flash_attention", "sdp_attention", "eager_attention", "xformers_attention",
          "flex_attention", "sage_attention"},
         "");
  r.refuse_set(
      {"flash_attn_cross_entropy", "flash_attn_fuse_mlp", "flash_optimum", "flex_attn_compile_kwargs",
       "gemma4_hybrid_attn_impl", "large_head_attention", "flash_attn_d512", "sdpa_varlen",
       "fused_attn_kernel", "s2_attention", "flash_attn_rms_norm", "scaling_softmax",
       "scaling_softmax_factor", "scaling_softmax_bias", "tiled_mlp", "tiled_mlp_num_shards",
       "chunked_cross_entropy", "chunked_cross_entropy_num_chunks", "use_eaft"},
      "replaces transformers' kernels for attention, MLP or loss; not modelled (the fused linear "
      "cross-entropy is: plugins: [" +
          kLigerPlugin + "] with liger_fused_linear_cross_entropy)");
  r.no_effect({"tiled_mlp_use_original_mlp", "eaft_alpha", "eaft_k", "heads_k_stride", "ring_attn_func"},
              "read only with tiled_mlp, use_eaft or context parallelism, which are refused");
  r.refuse_set({"experts_implementation", "quantize_moe_experts", "llama4_linearized_experts"},
               "mixture-of-experts layers are not modelled");
  r.refuse_set({"torch_compile", "deepcompile"}, "torch.compile's fused kernels are not modelled");
  r.no_effect({"torch_compile_backend", "torch_compile_mode", "torch_compile_options"},
              "read only with torch_compile, which is refused");
  r.read({"plugins"}, "");
  r.read({"liger_rope", "liger_rms_norm", "liger_rms_norm_gated", "liger_layer_norm", "liger_swiglu",
          "liger_glu_activation", "liger_cross_entropy", "liger_fused_linear_cross_entropy",
          "liger_use_token_scaling", "cut_cross_entropy"},
         "");
}

void distributed_rules(Rules& r) {
  r.read({"deepspeed", "fsdp", "fsdp_config", "fsdp_version"}, "");
  r.refuse_set({"fp32_norms", "fp32_norm_classes"},
               "keeps the norms in fp32 beside bf16 weights; not modelled");
  r.refuse_set({"dp_shard_size", "dp_replicate_size", "sequence_parallel_degree", "context_parallel_size",
                "tensor_parallel_size", "device_map", "max_memory", "gpu_memory_limit"},
               "tensor, context, hybrid-sharded or device-map model parallelism is not modelled (data "
               "parallelism with deepspeed or fsdp is)");
  r.no_effect({"world_size", "local_rank", "ddp", "device"},
              "set from the launcher's environment by normalize_config; the GPUs are --gpus");
  r.no_effect(
      {"ddp_timeout", "ddp_broadcast_buffers", "ddp_find_unused_parameters", "ddp_bucket_cap_mb"},
      "DDP's settings: zerosim models train.engine: pytorch's step as stage 0's without DDP's bucketed "
      "all-reduce (docs/inputs.md train.engine)");
  r.no_effect({"seed", "accelerator_config"},
              "seeds and accelerate's dataloader dispatch: values, not shapes");
  r.refuse_set({"use_ray"}, "Ray Train's worker placement is not modelled; launch with --gpus instead");
  r.no_effect({"ray_run_name", "ray_num_workers", "resources_per_worker"}, "read only with use_ray: true");
}

void data_and_logging_rules(Rules& r) {
  r.no_effect({"datasets",
               "shuffle_merged_datasets",
               "shuffle_before_merging_datasets",
               "dataset_prepared_path",
               "dataset_shard_num",
               "dataset_shard_idx",
               "skip_prepare_dataset",
               "num_dataset_shards_to_save",
               "pretraining_dataset",
               "dataset_processes",
               "dataset_num_proc",
               "dataset_exact_deduplication",
               "dataset_keep_in_memory",
               "dataloader_pin_memory",
               "dataloader_num_workers",
               "dataloader_prefetch_factor",
               "dataloader_drop_last",
               "remove_unused_columns",
               "push_dataset_to_hub",
               "hf_use_auth_token",
               "is_preprocess",
               "preprocess_iterable",
               "image_size",
               "image_resize_algorithm",
               "role_boundaries",
               "freeze_mm_modules",
               "is_falcon_derived_model",
               "is_llama_derived_model",
               "is_mistral_derived_model",
               "is_qwen_derived_model"},
              kData);
  r.no_effect({"use_wandb",
               "wandb_name",
               "wandb_run_id",
               "wandb_mode",
               "wandb_project",
               "wandb_entity",
               "wandb_watch",
               "wandb_log_model",
               "use_mlflow",
               "mlflow_tracking_uri",
               "mlflow_experiment_name",
               "mlflow_run_name",
               "hf_mlflow_log_artifacts",
               "use_comet",
               "comet_api_key",
               "comet_workspace",
               "comet_project_name",
               "comet_experiment_key",
               "comet_mode",
               "comet_online",
               "comet_experiment_config",
               "use_trackio",
               "trackio_project_name",
               "trackio_run_name",
               "trackio_space_id",
               "use_otel_metrics",
               "otel_metrics_host",
               "otel_metrics_port",
               "use_tensorboard",
               "gradio_title",
               "gradio_share",
               "gradio_server_name",
               "gradio_server_port",
               "gradio_max_new_tokens",
               "gradio_temperature"},
              kLogging);
  r.refuse_set({"rl", "reward_model", "process_reward_model", "trainer_cls"},
               "RL, reward-model and custom trainers run other steps (reference models, generation); not "
               "modelled");
  r.no_effect({"trl",
               "vllm",
               "ebft",
               "center_rewards_coefficient",
               "num_labels",
               "dpo_use_weighting",
               "dpo_label_smoothing",
               "precompute_ref_log_probs",
               "dpo_use_liger_kernel",
               "dpo_padding_free",
               "dpo_loss_type",
               "dpo_loss_weights",
               "dpo_beta",
               "dpo_use_logits_to_keep",
               "dpo_generate_during_eval",
               "dpo_norm_loss",
               "rpo_alpha",
               "orpo_alpha",
               "simpo_gamma",
               "cpo_alpha",
               "kto_desirable_weight",
               "kto_undesirable_weight",
               "rl_beta"},
              kRlOnly);
  r.refuse_set({"rope_scaling", "max_packed_sequence_len"},
               "deprecated: axolotl v0.18.0 raises on it (schemas/deprecated.py DeprecatedParameters)");
}

// fsdp_config's fields (utils/schemas/fsdp.py FSDPConfig; the deprecated `fsdp_` prefix stripped as
// validation.py check_fsdp_config_kwargs_prefix does), each named "fsdp_config.<field>".
std::map<std::string, FieldRule> fsdp_config_rules(ImportBuilder& b) {
  auto none = [](const std::string& why) { return FieldRule{{}, why, ""}; };
  auto read = [] { return FieldRule{[](const YAML::Node&) {}, "", ""}; };
  const std::string dropped =
      "not a field of axolotl v0.18.0's FSDPConfig: its pydantic model drops it, so it never reaches "
      "accelerate";
  std::map<std::string, FieldRule> r;
  r["fsdp_config.fsdp_version"] = read();
  r["fsdp_config.version"] = read();
  r["fsdp_config.reshard_after_forward"] = read();
  r["fsdp_config.sharding_strategy"] = read();
  r["fsdp_config.activation_checkpointing"] = read();
  r["fsdp_config.auto_wrap_policy"] = read();
  r["fsdp_config.offload_params"] = FieldRule{
      [&b](const YAML::Node& v) {
        if (is_set(v))
          b.refuse("fsdp_config.offload_params", shown(v) +
                                                     ": FSDP's CPUOffload keeps parameters and "
                                                     "gradients on the host and runs torch's AdamW "
                                                     "there, not DeepSpeed's CPU Adam; not modelled");
        b.no_effect("fsdp_config.offload_params", "false: no offload");
      },
      "", ""};
  r["fsdp_config.mixed_precision_policy"] =
      FieldRule{{}, "", "a custom FSDP MixedPrecisionPolicy is not modelled (accelerate's bf16 policy is)"};
  r["fsdp_config.sync_module_states"] = none("broadcasts the weights once at load time");
  r["fsdp_config.cpu_ram_efficient_loading"] = none("loads the weights on rank 0 only: load time");
  r["fsdp_config.cpu_offload_pin_memory"] = none("read only with offload_params, which is refused");
  r["fsdp_config.use_orig_params"] =
      none("FSDP1's flat parameters keep or hide the original views: same bytes");
  r["fsdp_config.state_dict_type"] = none(kAfterTraining);
  r["fsdp_config.final_state_dict_type"] = none(kAfterTraining);
  r["fsdp_config.transformer_layer_cls_to_wrap"] =
      none("the decoder layer: one FSDP unit per layer, as zerosim gathers ZeRO-3 parameters per layer");
  r["fsdp_config.min_num_params"] = none("read only by SIZE_BASED_WRAP, which is refused");
  r["fsdp_config.limit_all_gathers"] = none(dropped);
  r["fsdp_config.backward_prefetch"] = none(dropped);
  r["fsdp_config.forward_prefetch"] = none(dropped);
  return r;
}

// ---- the translation ----

struct Source {
  const YAML::Node& root;
  std::set<std::string> used;
  YAML::Node operator[](const std::string& k) {
    used.insert(k);
    return root[k];
  }
  YAML::Node peek(const std::string& k) const { return root[k]; }
};

void translate_model(ImportBuilder& b, Source& s, const ImportOptions& o) {
  if (!o.model.empty()) return;  // apply_command_line sets it
  const YAML::Node base = s["base_model"];
  const YAML::Node config = s["base_model_config"];
  if (!present(base))
    b.refuse("base_model", "missing (axolotl requires it); or pass --model PRESET|config.json");
  const std::string field = present(config) ? "base_model_config" : "base_model";
  const std::string id = present(config) ? config.Scalar() : base.Scalar();
  std::string how;
  const std::string model = resolve_model(id, b.file(), o.out_dir, how);
  if (model.empty())
    b.refuse(field, "'" + id +
                        "' is not a Hub id of a zerosim preset nor a folder with a config.json; pass --model "
                        "PRESET or --model path/config.json");
  b.set("model", model, field + ": " + id + " (" + how + ")");
}

// What resolve_dtype (utils/config/__init__.py) makes of bf16/fp16/bfloat16/float16.
void translate_precision(ImportBuilder& b, Source& s, bool engine_deepspeed) {
  const YAML::Node bf16 = s["bf16"], fp16 = s["fp16"], bfloat16 = s["bfloat16"], float16 = s["float16"];
  const std::string bf = present(bf16) ? bf16.Scalar() : "auto";
  const bool fp = is_true(fp16);
  const std::string where = "utils/config/__init__.py resolve_dtype";
  // `if cfg.bf16: cfg.fp16 = False`: bf16: true wins over fp16; fp16 turns bf16: auto off.
  if (is_true(bf16) || (!fp && bf == "auto")) {
    const std::string origin =
        bf == "auto" ? (present(bf16) ? "bf16: auto" : axolotl_default("bf16: auto", "schemas/config.py")) +
                           " -> true on a GPU with bf16, as every GPU in zerosim's catalogue (" + where + ")"
                     : "bf16: true";
    b.set("train.precision", "bf16-mixed",
          origin + (engine_deepspeed ? "; DeepSpeed's or FSDP's bf16 mixed precision"
                                     : "; the weights load in bf16 (torch_dtype) under autocast"));
    return;
  }
  if (fp) {
    b.set("train.precision", "fp16-mixed",
          engine_deepspeed ? "fp16: true (DeepSpeed's or FSDP's fp16)"
                           : "fp16: true; the weights load in fp16 (torch_dtype) under autocast");
    return;
  }
  if (is_true(bfloat16) && !engine_deepspeed) {
    b.set("train.precision", "bf16-pure", "bfloat16: true with bf16: false: bf16 weights, no autocast");
    return;
  }
  if (is_true(float16)) b.refuse("float16", "true: pure fp16 training is not modelled");
  b.set("train.precision", "fp32",
        "bf16: " + shown(bf16) + ", fp16 not true: axolotl trains in fp32 (torch_dtype float32, " + where +
            (engine_deepspeed ? "; DeepSpeed's fp32 mode)" : "; no autocast)"));
  // core/builders/base.py passes tf32 to TrainingArguments (torch.backends.cuda.matmul.allow_tf32);
  // schemas/config.py check_tf32 turns the default "auto" into is_torch_tf32_available(): true on the
  // Ampere and later GPUs of zerosim's catalogue.
  const YAML::Node tf32 = s["tf32"];
  if (!present(tf32) || tf32.Scalar() == "auto")
    b.set("train.tf32", "true",
          (present(tf32) ? std::string("tf32: auto") : axolotl_default("tf32: auto", "schemas/config.py")) +
              " -> true on Ampere and later (check_tf32: is_torch_tf32_available)");
  else if (is_true(tf32))
    b.set("train.tf32", "true", "tf32: true (TrainingArguments.tf32: torch.backends.cuda.matmul.allow_tf32)");
}

void translate_batch(ImportBuilder& b, Source& s) {
  const YAML::Node mbs = s["micro_batch_size"], ga = s["gradient_accumulation_steps"], bs = s["batch_size"];
  const int given = is_set(mbs) + is_set(ga) + is_set(bs);
  // validation.py check_batch_size_fields
  if (given < 2)
    b.refuse("micro_batch_size",
             "axolotl requires two of micro_batch_size, gradient_accumulation_steps, batch_size "
             "(schemas/validation.py check_batch_size_fields)");
  const std::string where = "schemas/training.py HyperparametersConfig";
  b.set("train.loop", "hf-trainer",
        "axolotl trains with AxolotlTrainer, an HF Trainer subclass (core/trainers/base.py)");
  b.set("train.loss_sync", "true",
        "HF Trainer's logging_nan_inf_filter default (axolotl does not set it): each micro-step's loss is "
        "tested for nan/inf on the host");
  b.set("train.micro_batch", is_set(mbs) ? mbs.Scalar() : "1",
        is_set(mbs) ? "micro_batch_size: " + mbs.Scalar() : axolotl_default("micro_batch_size 1", where));
  if (is_set(ga)) {
    b.set("train.grad_accum", ga.Scalar(), "gradient_accumulation_steps: " + ga.Scalar());
    if (is_set(bs))
      b.no_effect("batch_size",
                  "the accumulation is gradient_accumulation_steps; batch_size is then logged only");
    return;
  }
  // The schema's default of 1 fills gradient_accumulation_steps before normalize_config's
  // `gradient_accumulation_steps or batch_size // micro_batch_size` could read batch_size.
  b.refuse("batch_size",
           bs.Scalar() +
               " without gradient_accumulation_steps: axolotl v0.18.0 runs 1 accumulation step ("
               "the schema default fills it before normalize_config reads batch_size); state "
               "gradient_accumulation_steps");
}

void translate_seq_len(ImportBuilder& b, Source& s) {
  const YAML::Node len = s["sequence_len"], packing = s["sample_packing"], pad = s["pad_to_sequence_len"];
  const std::string value = present(len) ? len.Scalar() : "512";
  std::string origin = present(len)
                           ? "sequence_len: " + value
                           : axolotl_default("sequence_len 512", "schemas/config.py AxolotlInputConfig");
  if (is_true(packing))
    origin += " (sample_packing: true: each row is packed to sequence_len tokens)";
  else if (is_true(pad))
    origin += " (pad_to_sequence_len: true: each row is padded to sequence_len)";
  else
    origin +=
        " (no packing or padding: rows are padded to the batch's longest sample, at most sequence_len: "
        "the longest step)";
  b.set("train.seq_len", value, origin);
}

void translate_optimizer(ImportBuilder& b, Source& s) {
  const YAML::Node opt = s["optimizer"];
  const std::string name = present(opt) ? opt.Scalar() : "adamw_torch_fused";
  const std::string origin = present(opt)
                                 ? "optimizer: " + name
                                 : axolotl_default("optimizer adamw_torch_fused", "schemas/training.py");
  // Names HF's TrainingArguments knows go to it as optim (core/builders/causal.py), and its Trainer
  // builds the optimizer; axolotl's own optimizers (optimi_adamw, ao_adamw_*, muon, ...) are not modelled.
  const std::optional<HfOptimizer> o = hf_optimizer(name);
  if (!o)
    b.refuse("optimizer", name +
                              ": not modelled (Adafactor, Lion, Muon, GaLore, torchao's 8-bit states... keep "
                              "other bytes); allowed: " +
                              kHfOptimsModelled);
  // Under a deepspeed: config it is ZeRO's client optimizer (modelled); under FSDP it would see FSDP's flat
  // shards (not modelled).
  if (o->bitsandbytes && (present(s.peek("fsdp")) || present(s.peek("fsdp_config"))))
    b.refuse("optimizer", name +
                              " with fsdp: a bitsandbytes optimizer over FSDP's flat shards is not modelled "
                              "(allowed there: adamw_torch, adamw_torch_fused)");
  b.set("train.optimizer", o->value, origin + " (" + o->what + ")");
  // core/builders/base.py passes max_grad_norm to TrainingArguments when it is not None (0 included);
  // unset, HF's default 1.0 clips. The Trainer clips only when it is > 0.
  const YAML::Node clip = s["max_grad_norm"];
  if (present(clip))
    b.set("train.max_grad_norm", clip.Scalar(), "max_grad_norm: " + clip.Scalar());
  else
    b.set("train.max_grad_norm", "1.0",
          axolotl_default("max_grad_norm None", "schemas/training.py") +
              " -> TrainingArguments' 1.0 (clip_grad_norm_ before each update)");
}

void translate_checkpointing(ImportBuilder& b, Source& s) {
  const YAML::Node gc = s["gradient_checkpointing"];
  if (present(gc) && !gc.IsScalar()) b.refuse("gradient_checkpointing", "expected true, false, offload");
  const std::string v = present(gc) ? gc.Scalar() : "false";
  if (v == "offload" || v == "offload_disk")
    b.refuse("gradient_checkpointing", v + ": checkpoints offloaded to the host or disk are not modelled");
  b.set("train.activation_checkpointing", is_true(gc) ? "true" : "false",
        present(gc) ? "gradient_checkpointing: " + v
                    : axolotl_default("gradient_checkpointing false", "schemas/config.py"));
}

// The attention backend: normalize_attn_implementation maps the legacy flags to attn_implementation.
std::string translate_attention(ImportBuilder& b, Source& s) {
  static const std::vector<std::pair<std::string, std::string>> legacy = {
      {"xformers_attention", "xformers"},
      {"sage_attention", "sage"},
      {"flex_attention", "flex_attention"},
      {"flash_attention", "flash_attention_2"},
      {"sdp_attention", "sdpa"},
      {"eager_attention", "eager"}};
  const YAML::Node impl = s["attn_implementation"];
  std::string name = present(impl) ? impl.Scalar() : "";
  std::string origin = "attn_implementation: " + name;
  std::string field = "attn_implementation";
  for (const auto& [flag, canonical] : legacy) {
    if (!is_true(s[flag])) continue;
    if (present(impl))
      b.refuse(flag, "true with attn_implementation (axolotl refuses both: normalize_attn_implementation)");
    if (name.empty()) {
      name = canonical;
      field = flag;
      origin = flag + ": true (-> attn_implementation " + canonical + ")";
    }
  }
  if (name.empty()) {
    b.set("train.flash_attention", "true",
          axolotl_default("attn_implementation unset", "transformers then loads sdpa") +
              ": PyTorch's flash / memory-efficient kernel, no seq x seq scores");
    return "";
  }
  if (name == "flash_attention_2" || name == "flash_attention_3" || name == "sdpa") {
    b.set("train.flash_attention", "true", origin);
  } else if (name == "eager") {
    b.set("train.flash_attention", "false", origin + " (the seq x seq scores are materialised)");
  } else {
    b.refuse(field, name + ": not modelled (allowed: flash_attention_2, flash_attention_3, sdpa, eager)");
  }
  return name;
}

void translate_loss(ImportBuilder& b, Source& s) {
  const YAML::Node plugins = s["plugins"];
  bool liger = false;
  if (present(plugins)) {
    if (!plugins.IsSequence()) b.refuse("plugins", "expected a list of plugin class paths");
    for (const auto& p : plugins) {
      if (p.Scalar() == kLigerPlugin) {
        liger = true;
        continue;
      }
      b.refuse("plugins", p.Scalar() + ": not modelled (the plugin zerosim models is " + kLigerPlugin +
                              ", for its fused linear cross-entropy)");
    }
  }
  static const std::vector<std::string> kernels = {
      "liger_rope",   "liger_rms_norm",       "liger_rms_norm_gated", "liger_layer_norm",
      "liger_swiglu", "liger_glu_activation", "liger_cross_entropy",  "liger_use_token_scaling"};
  for (const std::string& field : kernels) {
    const YAML::Node v = s[field];
    if (!present(v)) continue;
    if (is_set(v))
      b.refuse(field, shown(v) + ": Liger's " + field.substr(6) +
                          " kernel changes the layer's activations and time; not modelled (set it false; "
                          "liger_fused_linear_cross_entropy is modelled)");
    b.no_effect(field, "false: transformers' own module");
  }
  if (present(s["cut_cross_entropy"]) && is_set(s["cut_cross_entropy"]))
    b.refuse("cut_cross_entropy", "Apple's Cut Cross-Entropy kernel is not modelled");
  const YAML::Node flce = s["liger_fused_linear_cross_entropy"];
  if (is_true(flce)) {
    if (!liger)
      b.refuse("liger_fused_linear_cross_entropy",
               "true without plugins: [" + kLigerPlugin + "]: axolotl's schema drops the field without it");
    b.set("train.loss", "fused-linear-ce",
          "liger_fused_linear_cross_entropy: true (" + kLigerPlugin + ": LigerFusedLinearCrossEntropy)");
    return;
  }
  b.set("train.loss", "hf",
        axolotl_default("the model's own loss", "transformers' ForCausalLMLoss under HF Trainer"));
}

// Where each FSDP sharding strategy coincides with a ZeRO stage's memory (docs/import/axolotl.md).
int fsdp_stage(ImportBuilder& b, const YAML::Node& list, const YAML::Node& cfg, std::string& origin) {
  int stage = 3;
  origin = "fsdp_config without a strategy: FULL_SHARD (transformers TrainingArguments: fsdp=True)";
  if (present(list)) {
    if (!list.IsSequence() && !list.IsScalar()) b.refuse("fsdp", "expected a list of FSDP options");
    const std::vector<std::string> items = list.IsSequence() ? read_string_list(list, b.file(), "fsdp")
                                                             : std::vector<std::string>{list.Scalar()};
    for (const std::string& o : items) {
      if (o == "full_shard" || o == "shard_grad_op" || o == "no_shard") {
        stage = o == "full_shard" ? 3 : o == "shard_grad_op" ? 2 : 0;
        origin = "fsdp: " + flow(list);
      } else if (o == "hybrid_shard" || o == "hybrid_shard_zero2") {
        b.refuse("fsdp", o + ": sharding within a node and replicating across nodes is not modelled");
      } else if (o == "offload") {
        b.refuse("fsdp", "offload: FSDP's CPU offload (torch's AdamW on the host) is not modelled");
      } else if (o != "auto_wrap") {
        b.refuse("fsdp", o + " (allowed: full_shard, shard_grad_op, no_shard, auto_wrap)");
      }
    }
  }
  if (present(cfg["reshard_after_forward"])) {
    const bool reshard =
        read_bool(cfg["reshard_after_forward"], b.file(), "fsdp_config.reshard_after_forward");
    if (stage != 0) {
      stage = reshard ? 3 : 2;
      origin = std::string("fsdp_config.reshard_after_forward: ") + (reshard ? "true" : "false");
    }
  }
  const YAML::Node strategy = cfg["sharding_strategy"];
  if (present(strategy)) {
    static const std::map<std::string, int> stages = {
        {"FULL_SHARD", 3}, {"SHARD_GRAD_OP", 2}, {"NO_SHARD", 0}};
    const auto it = stages.find(strategy.Scalar());
    if (it == stages.end() || it->second != stage)
      b.refuse("fsdp_config.sharding_strategy",
               strategy.Scalar() +
                   ": axolotl v0.18.0 drops this key (not an FSDPConfig field) and shards as " + origin +
                   "; remove it or make it agree");
    b.no_effect("fsdp_config.sharding_strategy",
                "not an FSDPConfig field in v0.18.0 (dropped); it agrees with " + origin);
  }
  return stage;
}

YAML::Node fsdp_config_node(ImportBuilder& b, const YAML::Node& cfg) {
  YAML::Node stripped(YAML::NodeType::Map);
  if (!present(cfg)) return stripped;
  if (!cfg.IsMap()) b.refuse("fsdp_config", "expected a mapping");
  YAML::Node prefixed(YAML::NodeType::Map);
  for (const auto& kv : cfg) {
    std::string k = kv.first.Scalar();
    if (k.rfind("fsdp_", 0) == 0 && k != "fsdp_version") k = k.substr(5);  // check_fsdp_config_kwargs_prefix
    stripped[k] = kv.second;
    prefixed["fsdp_config." + k] = kv.second;
  }
  apply_field_rules(b, prefixed, fsdp_config_rules(b), "axolotl fsdp_config");
  return stripped;
}

// deepspeed (a ds_config path, read by zerosim itself) or fsdp (a ZeRO stage where the memory coincides).
bool translate_distributed(ImportBuilder& b, Source& s, const ImportOptions& o, bool quantized) {
  const YAML::Node ds = s["deepspeed"], fsdp = s["fsdp"];
  const YAML::Node cfg = fsdp_config_node(b, s["fsdp_config"]);
  const bool use_fsdp = is_set(fsdp) || cfg.size() > 0;
  if (present(ds)) {
    if (use_fsdp) b.refuse("deepspeed", "set with fsdp (axolotl refuses both: check_fsdp_deepspeed)");
    if (!ds.IsScalar())
      b.refuse("deepspeed", "an inline DeepSpeed config: write it to a json file and give its path");
    namespace fs = std::filesystem;
    fs::path p(ds.Scalar());
    if (p.is_relative()) p = fs::path(b.file()).parent_path() / p;
    if (!fs::exists(p))
      b.refuse("deepspeed",
               "'" + ds.Scalar() + "' not found (a relative path is read from the YAML's folder)");
    b.set("train.engine", "deepspeed", "deepspeed: " + ds.Scalar());
    b.set("deepspeed", yaml_scalar(path_from_output(ds.Scalar(), b.file(), o.out_dir)),
          "deepspeed: " + ds.Scalar() + " (zerosim reads the ds_config itself; \"auto\" takes these values)");
    return true;
  }
  if (!use_fsdp) {
    b.set("train.engine", "pytorch",
          "no deepspeed or fsdp: HF Trainer without DeepSpeed, the weights as loaded (train.engine pytorch)");
    return false;
  }
  const YAML::Node version = present(s["fsdp_version"])     ? s["fsdp_version"]
                             : present(cfg["fsdp_version"]) ? cfg["fsdp_version"]
                                                            : cfg["version"];
  const std::string v = present(version) ? version.Scalar() : "1";
  if (v != "1" && v != "2") b.refuse("fsdp_version", v + " (allowed: 1, 2)");
  if (quantized)
    b.refuse("fsdp",
             "with load_in_4bit: FSDP shards bitsandbytes' packed 4-bit storage, which zerosim does "
             "not model (QLoRA is modelled without sharding or under a deepspeed: config, ZeRO-3 included "
             "with bnb_4bit_quant_storage bfloat16)");
  if (present(cfg["auto_wrap_policy"]) && cfg["auto_wrap_policy"].Scalar() != "TRANSFORMER_BASED_WRAP")
    b.refuse("fsdp_config.auto_wrap_policy", cfg["auto_wrap_policy"].Scalar() +
                                                 ": units by size are not modelled (allowed: "
                                                 "TRANSFORMER_BASED_WRAP, one unit per decoder layer)");
  std::string origin;
  const int stage = fsdp_stage(b, fsdp, cfg, origin);
  const std::string why =
      stage == 3   ? "FULL_SHARD: parameters, gradients and optimizer states sharded, gathered per layer "
                     "(ZeRO-3)"
      : stage == 2 ? "SHARD_GRAD_OP: gradients and optimizer states sharded, parameters kept after forward "
                     "(ZeRO-2)"
                   : "NO_SHARD: replicated (ZeRO stage 0)";
  b.set(
      "train.engine", "deepspeed",
      "fsdp (FSDP" + v +
          "): accelerate upcasts the trainable bf16 weights to fp32 under bf16 mixed precision, the bytes of "
          "DeepSpeed's fp32 master copy");
  b.set("zero.stage", std::to_string(stage), origin + ": " + why);
  if (is_true(cfg["activation_checkpointing"]))
    b.set("train.activation_checkpointing", "true", "fsdp_config.activation_checkpointing: true");
  return true;
}

// axolotl's LoRA kernels (kernels/lora.py): check_auto_enable_lora_kernels turns them on when none of the
// lora_*_kernel fields is set (schemas/config.py), except for 8-bit LoRA, remote code, RL, and FSDP1 on
// several GPUs.
void check_lora_kernels(ImportBuilder& b, Source& s, const ImportOptions& o) {
  static const std::vector<std::string> fields = {"lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel",
                                                  "lora_embedding_kernel"};
  bool any_given = false;
  for (const std::string& f : fields) {
    const YAML::Node v = s[f];
    if (is_set(v))
      b.refuse(f,
               "true: axolotl's fused LoRA Triton kernels (kernels/lora.py) save other activations than "
               "peft's LoRA layers; not modelled (set it false)");
    if (present(v)) {
      any_given = true;
      b.no_effect(f, "false: peft's LoRA layers run, as zerosim models them");
    }
  }
  const YAML::Node fsdp_cfg = s.peek("fsdp_config");
  const std::string fv = present(s.peek("fsdp_version")) ? s.peek("fsdp_version").Scalar() : "1";
  const bool fsdp1_multi = present(fsdp_cfg) && fv != "2" && o.gpus > 1;
  const bool lora_8bit =
      is_true(s.peek("load_in_8bit")) && present(s.peek("adapter")) && s.peek("adapter").Scalar() == "lora";
  if (any_given || lora_8bit || is_true(s["trust_remote_code"]) || fsdp1_multi) return;
  b.refuse("lora_mlp_kernel",
           "unset: with adapter: lora or qlora axolotl v0.18.0 turns on its fused LoRA kernels "
           "(schemas/config.py check_auto_enable_lora_kernels), which zerosim does not model; set "
           "lora_mlp_kernel, lora_qkv_kernel, lora_o_kernel and lora_embedding_kernel to false");
}

void translate_quantization(ImportBuilder& b, Source& s, const std::string& torch_dtype) {
  const std::string where = "loaders/model.py ModelLoader._set_quantization_config";
  b.set("quantization.method", "nf4", "load_in_4bit: true with adapter: qlora (" + where + ": nf4)");
  b.set("quantization.double_quant", "true", axolotl_default("bnb_4bit_use_double_quant true", where));
  b.set("quantization.compute_dtype", torch_dtype,
        axolotl_default("bnb_4bit_compute_dtype = torch_dtype", where));
  b.set("quantization.quant_storage", "bf16",
        axolotl_default("bnb_4bit_quant_storage torch.bfloat16", where));
  b.set(
      "quantization.prepare_kbit_training", "false",
      kRelease +
          ": prepare_model_for_kbit_training's fp32 norms and embeddings are cast back to the training dtype "
          "(loaders/model.py _convert_embedding_modules_dtype after _prepare_model_for_quantization)");
  const YAML::Node kw = s["bnb_config_kwargs"];
  if (!present(kw)) return;
  if (!kw.IsMap()) b.refuse("bnb_config_kwargs", "expected a mapping of BitsAndBytesConfig arguments");
  for (const auto& kv : kw) {
    const std::string k = kv.first.Scalar();
    const std::string field = "bnb_config_kwargs." + k;
    const std::string v = shown(kv.second);
    if (k == "bnb_4bit_quant_type") {
      if (v != "nf4" && v != "fp4") b.refuse(field, v + " (allowed: nf4, fp4)");
      b.set("quantization.method", v, field + ": " + v);
    } else if (k == "bnb_4bit_use_double_quant") {
      b.set("quantization.double_quant", read_bool(kv.second, b.file(), field) ? "true" : "false",
            field + ": " + v);
    } else if (k == "bnb_4bit_compute_dtype") {
      if (v != "bfloat16" && v != "float16") b.refuse(field, v + " (allowed: bfloat16, float16)");
      b.set("quantization.compute_dtype", v == "bfloat16" ? "bf16" : "fp16", field + ": " + v);
    } else if (k == "llm_int8_skip_modules") {
      b.set("quantization.skip_modules", flow(kv.second), field + ": " + v);
    } else if (k == "bnb_4bit_quant_storage") {
      const std::string dtype = v == "bfloat16"  ? "bf16"
                                : v == "float16" ? "fp16"
                                : v == "float32" ? "fp32"
                                : v == "uint8"   ? "uint8"
                                                 : "";
      if (dtype.empty()) b.refuse(field, v + " (allowed: bfloat16, float16, float32, uint8)");
      b.set("quantization.quant_storage", dtype, field + ": " + v);
    } else if (k == "llm_int8_threshold" || k == "llm_int8_has_fp16_weight") {
      b.no_effect(field, "LLM.int8() only: no effect on 4-bit weights");
    } else {
      b.refuse(field, v + ": not modelled (modelled: bnb_4bit_quant_type, bnb_4bit_use_double_quant, "
                          "bnb_4bit_compute_dtype, bnb_4bit_quant_storage, llm_int8_skip_modules)");
    }
  }
}

void translate_lora(ImportBuilder& b, Source& s, bool dora) {
  const std::string where = "loaders/adapter.py _build_peft_lora_config";
  b.set("peft.method", dora ? "dora" : "lora",
        std::string("adapter: ") + s["adapter"].Scalar() + (dora ? " with peft_use_dora: true" : ""));
  for (const char* f : {"lora_r", "lora_alpha"})
    if (!present(s[f])) b.refuse(f, "missing: axolotl passes None to peft's LoraConfig, which fails");
  b.set("peft.r", s["lora_r"].Scalar(), "lora_r: " + s["lora_r"].Scalar());
  b.set("peft.alpha", s["lora_alpha"].Scalar(), "lora_alpha: " + s["lora_alpha"].Scalar());
  const YAML::Node dropout = s["lora_dropout"];
  b.set("peft.dropout", present(dropout) ? dropout.Scalar() : "0.0",
        present(dropout) ? "lora_dropout: " + dropout.Scalar()
                         : axolotl_default("lora_dropout 0.0", "schemas/peft.py LoraConfig"));
  const YAML::Node linear = s["lora_target_linear"], modules = s["lora_target_modules"];
  if (is_true(linear)) {
    // find_all_linear_names: every linear's name but the output embedding, united with lora_target_modules.
    if (present(modules))
      for (const auto& m :
           modules.IsSequence() ? modules : YAML::Node(std::vector<std::string>{modules.Scalar()}))
        if (m.Scalar().find("proj") == std::string::npos)
          b.refuse("lora_target_modules",
                   m.Scalar() +
                       " with lora_target_linear: true (the union with a module that is "
                       "not a decoder linear is not modelled)");
    b.set("peft.target_modules", "all-linear",
          "lora_target_linear: true (" + where + ": find_all_linear_names, lm_head excluded)");
  } else if (is_set(modules)) {
    if (modules.IsScalar() && modules.Scalar().find_first_of(".*[]()|^$\\") != std::string::npos)
      b.refuse("lora_target_modules",
               modules.Scalar() + ": a regular expression is not translated; list names");
    b.set("peft.target_modules", modules.IsScalar() ? yaml_list({modules.Scalar()}) : flow(modules),
          "lora_target_modules: " + flow(modules));
  } else {
    b.refuse("lora_target_modules",
             "missing, and lora_target_linear is not true: peft gets no target modules");
  }
  b.set("peft.bias", "none", kRelease + ": bias=\"none\" always (" + where + ")");
  const std::vector<std::pair<std::string, std::string>> passthrough = {
      {"lora_modules_to_save", "peft.modules_to_save"},
      {"lora_rank_pattern", "peft.rank_pattern"},
      {"lora_alpha_pattern", "peft.alpha_pattern"},
      {"peft_layers_to_transform", "peft.layers_to_transform"},
      {"peft_layers_pattern", "peft.layers_pattern"},
      {"peft_use_rslora", "peft.use_rslora"},
      {"peft_autocast_adapter_dtype", "peft.autocast_adapter_dtype"}};
  for (const auto& [field, key] : passthrough)
    if (is_set(s[field]) || (key == "peft.autocast_adapter_dtype" && present(s[field])))
      b.set(key, flow(s[field]), field + ": " + flow(s[field]));
}

// LLM.int8(): axolotl builds BitsAndBytesConfig(load_in_8bit=True) for adapter: lora alone, without
// bnb_config_kwargs (loaders/model.py ModelLoader._set_quantization_config), so transformers' default outlier
// threshold applies; prepare_model_for_kbit_training's fp32 norms and embeddings are cast back as for 4-bit.
void translate_int8(ImportBuilder& b, Source& s) {
  const std::string where = "loaders/model.py ModelLoader._set_quantization_config";
  b.set("quantization.method", "int8",
        "load_in_8bit: true with adapter: lora (" + where + ": BitsAndBytesConfig(load_in_8bit=True))");
  b.set("quantization.threshold", "6.0", "llm_int8_threshold: BitsAndBytesConfig's default 6.0");
  b.set(
      "quantization.prepare_kbit_training", "false",
      kRelease +
          ": prepare_model_for_kbit_training's fp32 norms and embeddings are cast back to the training dtype "
          "(loaders/model.py _convert_embedding_modules_dtype after _prepare_model_for_quantization)");
  if (present(s["bnb_config_kwargs"]))
    b.no_effect("bnb_config_kwargs", "not passed to the 8-bit BitsAndBytesConfig (" + where + ")");
}

void translate_adapter(ImportBuilder& b, Source& s, const ImportOptions& o) {
  const YAML::Node adapter = s["adapter"];
  const bool four = is_true(s["load_in_4bit"]);
  const bool eight = is_true(s["load_in_8bit"]);
  const std::string name = present(adapter) ? adapter.Scalar() : "";
  if (four && eight) b.refuse("load_in_8bit", "true with load_in_4bit: true (one or the other)");
  if (eight && name != "lora")
    b.refuse("load_in_8bit",
             "true needs adapter: lora (axolotl builds the 8-bit config for LoRA only: "
             "loaders/model.py _set_quantization_config)");
  if (name.empty()) {
    if (four)
      b.refuse("load_in_4bit", "true without adapter: qlora (a quantized model cannot be fine-tuned)");
    b.set("peft.method", "none", "adapter unset: full fine-tuning (loaders/model.py loads no adapter)");
    return;
  }
  if (name != "lora" && name != "qlora")
    b.refuse("adapter", name + ": not modelled (allowed: lora, qlora, or unset for full fine-tuning)");
  if (name == "qlora" && !four) b.refuse("adapter", "qlora without load_in_4bit: true");
  if (name == "lora" && four)
    b.refuse("load_in_4bit", "true with adapter: lora (axolotl quantizes with qlora)");
  translate_lora(b, s, is_true(s["peft_use_dora"]));
  check_lora_kernels(b, s, o);
  if (four) translate_quantization(b, s, is_true(s.peek("fp16")) ? "fp16" : "bf16");
  if (eight) translate_int8(b, s);
}

// Full fine-tuning without DeepSpeed or FSDP: loaders/model.py casts the norms and embeddings to fp32 and
// back to the training dtype only for an attention backend that needs it (attn_needs_dtype_cast).
void check_full_ft_dtypes(ImportBuilder& b, const Source& s, bool distributed, const std::string& attn) {
  if (distributed || present(s.peek("adapter"))) return;
  if (attn == "flash_attention_2" || attn == "flash_attention_3") return;
  b.refuse(
      "attn_implementation",
      (attn.empty() ? std::string("unset") : attn) +
          " with full fine-tuning and no deepspeed or fsdp: axolotl leaves embed_tokens, lm_head and the "
          "norms in fp32 beside bf16 weights (loaders/model.py _convert_embedding_modules_dtype; cast back "
          "only when attn_needs_dtype_cast), which zerosim does not model; use flash_attention_2");
}

}  // namespace

ImportedConfig import_axolotl(const std::string& file, const ImportOptions& options) {
  ImportBuilder b("axolotl", file);
  const YAML::Node root = parse_yaml_file(file, "axolotl config");
  Rules rules(b);
  model_and_output_rules(rules);
  peft_rules(rules);
  training_rules(rules);
  attention_and_kernel_rules(rules);
  distributed_rules(rules);
  data_and_logging_rules(rules);
  // axolotl's pydantic models ignore unknown keys (no `extra="forbid"`): a typo would silently change
  // nothing there; zerosim refuses it with the closest field.
  apply_field_rules(b, root, rules.all(), "axolotl (v0.18.0 AxolotlInputConfig)");

  Source s{root, {}};
  translate_model(b, s, options);
  translate_checkpointing(b, s);  // before fsdp_config.activation_checkpointing, which turns it on
  const bool quantized = is_true(s.peek("load_in_4bit")) || is_true(s.peek("load_in_8bit"));
  const bool distributed = translate_distributed(b, s, options, quantized);
  translate_precision(b, s, distributed);
  translate_batch(b, s);
  translate_seq_len(b, s);
  const std::string attn = translate_attention(b, s);
  translate_optimizer(b, s);
  translate_loss(b, s);
  translate_adapter(b, s, options);
  check_full_ft_dtypes(b, s, distributed, attn);
  // Fields read for translation that this configuration does not use (lora_r without an adapter...).
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string field = it->first.Scalar();
    const auto unused = rules.unused().find(field);
    if (unused != rules.unused().end() && !s.used.count(field))
      b.no_effect(field, unused->second.empty() ? "not used by this configuration" : unused->second);
  }
  apply_command_line(b, options);
  return b.finish();
}

}  // namespace zerosim
