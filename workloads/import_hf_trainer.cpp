// `zerosim import hf-trainer FILE`: Hugging Face TrainingArguments as `trainer.args.to_json_string()`
// writes them (every field of the release, enums as their values) turned into a run config.
// Fields and defaults read in transformers src/transformers/training_args.py, TrainingArguments, at
// commit fd798335 (a 4.5x release: tp_size, no parallelism_config) and at commit 00349ae8 (main after
// 4.57: parallelism_config, liger_kernel_config, project, ...); a file of any release in between, 4.56.x
// included, has only fields of their union. docs/import/hf-trainer.md has the table.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "workloads/config_error.h"
#include "workloads/config_import.h"
#include "workloads/model_spec.h"
#include "workloads/yaml_read.h"

namespace zerosim {
namespace {

const std::string kArgs = "TrainingArguments";
const std::string kCode = "transformers training_args.py TrainingArguments (fd798335)";

// What the fields say, gathered in file order and turned into settings once all are read (the precision
// depends on deepspeed, bf16, fp16 and fsdp together).
struct HfArgs {
  int64_t micro_batch = 8;  // per_device_train_batch_size default=8
  std::string micro_batch_origin = kCode + " default per_device_train_batch_size=8";
  int64_t grad_accum = 1;
  std::string grad_accum_origin = kCode + " default gradient_accumulation_steps=1";
  bool checkpointing = false;
  std::string checkpointing_origin = kCode + " default gradient_checkpointing=False";
  bool bf16 = false, fp16 = false;
  bool tf32 = false;  // tf32: true (None and false leave PyTorch's default, fp32 matmuls)
  bool tf32_given = false;
  std::string optim = "adamw_torch";  // default_optim (fd798335; main: adamw_torch_fused on torch >= 2.8)
  std::string optim_origin = kCode + " default optim=\"adamw_torch\"";
  bool liger = false;
  std::string deepspeed;  // a path, or "" (an inline dict is written out: deepspeed_inline)
  YAML::Node deepspeed_inline;
  bool inline_deepspeed = false;
  std::vector<std::string> fsdp;  // FSDPOption values
  bool fsdp_checkpointing = false;
  double max_grad_norm = 1.0;  // max_grad_norm default=1.0; None or 0: no clipping
  std::string max_grad_norm_origin = kCode + " default max_grad_norm=1.0";
  bool nan_inf_filter = true;  // logging_nan_inf_filter default=True
  std::string nan_inf_filter_origin = kCode + " default logging_nan_inf_filter=True";
};

bool is_null(const YAML::Node& n) { return !n.IsDefined() || n.IsNull(); }

bool bool_field(ImportBuilder& b, const std::string& field, const YAML::Node& v) {
  if (is_null(v)) return false;
  return read_bool(v, b.file(), field);
}

int64_t positive_int(ImportBuilder& b, const std::string& field, const YAML::Node& v) {
  return read_int_in(v, b.file(), field, 1, int64_t{1} << 30);
}

// A TrainingArguments list field written as a string ("full_shard auto_wrap") or a JSON list.
std::vector<std::string> words(ImportBuilder& b, const std::string& field, const YAML::Node& v) {
  if (is_null(v)) return {};
  if (v.IsSequence()) return read_string_list(v, b.file(), field);
  std::istringstream in(read_string(v, b.file(), field));
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string text_of(const YAML::Node& v) {
  YAML::Emitter e;
  e << YAML::Flow << v;
  return e.c_str();
}

FieldRule no_effect(const std::string& why) { return FieldRule{{}, why, ""}; }

// A field with no effect at its default (or null / empty) and refused otherwise.
FieldRule default_only(ImportBuilder& b, const std::string& field, const std::string& why_default,
                       const std::string& why_refused, std::function<bool(const YAML::Node&)> at_default) {
  return FieldRule{[&b, field, why_default, why_refused, at_default](const YAML::Node& v) {
                     if (!at_default(v)) b.refuse(field, why_refused);
                     b.no_effect(field, why_default);
                   },
                   "", ""};
}

std::function<bool(const YAML::Node&)> null_or_false() {
  return [](const YAML::Node& v) {
    return is_null(v) || (v.IsScalar() && (v.Scalar() == "false" || v.Scalar() == "False"));
  };
}
std::function<bool(const YAML::Node&)> null_or_empty() {
  return [](const YAML::Node& v) {
    return is_null(v) || (v.IsScalar() && v.Scalar().empty()) || (v.IsSequence() && v.size() == 0) ||
           (v.IsMap() && v.size() == 0);
  };
}
std::function<bool(const YAML::Node&)> equals(const std::vector<std::string>& ok) {
  return [ok](const YAML::Node& v) {
    if (is_null(v)) return true;
    if (!v.IsScalar()) return false;
    for (const auto& s : ok)
      if (v.Scalar() == s) return true;
    return false;
  };
}

const std::string kLog = "logging and progress output on the host, outside the step's kernels and tensors";
const std::string kSave = "checkpoints are written between steps, not in the step zerosim models";
const std::string kEval =
    "evaluation runs outside the training step whose time and peak memory zerosim predicts";
const std::string kHyper =
    "an optimizer or schedule value: changes numbers, not the step's kernels or tensors";
const std::string kLength = "how many steps the run has: zerosim predicts one step";
const std::string kHub = "Hugging Face Hub upload, outside the step";
const std::string kData =
    "data loading on the host (main process or workers): the step gets its batch of train.micro_batch x "
    "train.seq_len tokens either way";
const std::string kSeed = "seeds change values, not shapes";
const std::string kScript = "read by training scripts or the launcher, not by the step";
const std::string kDdp =
    "DistributedDataParallel's options: zerosim models train.engine pytorch's gradient reduction as "
    "DeepSpeed stage 0's (docs/inputs.md train.engine)";

void add_no_effect(std::map<std::string, FieldRule>& r, const std::vector<std::string>& fields,
                   const std::string& why) {
  for (const auto& f : fields) r[f] = no_effect(why);
}

// The fields with no effect on time or memory, by why.
void no_effect_rules(std::map<std::string, FieldRule>& r) {
  add_no_effect(r,
                {"output_dir", "overwrite_output_dir", "do_train", "do_eval", "do_predict", "run_name",
                 "resume_from_checkpoint", "ignore_data_skip", "restore_callback_states_from_checkpoint",
                 "local_rank", "ray_scope", "label_names"},
                kScript);
  add_no_effect(r,
                {"eval_strategy",
                 "evaluation_strategy",
                 "prediction_loss_only",
                 "per_device_eval_batch_size",
                 "per_gpu_eval_batch_size",
                 "eval_accumulation_steps",
                 "eval_delay",
                 "eval_steps",
                 "eval_do_concat_batches",
                 "eval_on_start",
                 "eval_use_gather_object",
                 "batch_eval_metrics",
                 "include_inputs_for_metrics",
                 "include_for_metrics",
                 "metric_for_best_model",
                 "greater_is_better",
                 "load_best_model_at_end",
                 "use_legacy_prediction_loop",
                 "jit_mode_eval",
                 "bf16_full_eval",
                 "fp16_full_eval"},
                kEval);
  add_no_effect(
      r,
      {"log_level", "log_level_replica", "log_on_each_node", "logging_dir", "logging_strategy",
       "logging_first_step", "logging_steps", "disable_tqdm", "report_to", "project", "trackio_space_id",
       "include_tokens_per_second", "include_num_input_tokens_seen", "skip_memory_metrics"},
      kLog);
  add_no_effect(r,
                {"save_strategy", "save_steps", "save_total_limit", "save_safetensors", "save_on_each_node",
                 "save_only_model", "enable_jit_checkpoint"},
                kSave);
  add_no_effect(
      r,
      {"push_to_hub", "hub_model_id", "hub_strategy", "hub_token", "hub_private_repo", "hub_always_push",
       "hub_revision", "push_to_hub_model_id", "push_to_hub_organization", "push_to_hub_token"},
      kHub);
  add_no_effect(r,
                {"learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon",
                 "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_ratio", "warmup_steps"},
                kHyper);
  add_no_effect(r, {"num_train_epochs", "max_steps"}, kLength);
  add_no_effect(r, {"seed", "data_seed"}, kSeed);
  add_no_effect(r,
                {"dataloader_drop_last", "dataloader_num_workers", "dataloader_prefetch_factor",
                 "dataloader_pin_memory", "dataloader_persistent_workers", "remove_unused_columns",
                 "length_column_name"},
                kData);
  add_no_effect(
      r, {"ddp_find_unused_parameters", "ddp_bucket_cap_mb", "ddp_broadcast_buffers", "ddp_timeout"}, kDdp);
  r["average_tokens_across_devices"] =
      no_effect("one all-reduce of a token count per step (a scalar), not counted");
  r["fp16_opt_level"] = no_effect("read by apex only (half_precision_backend apex is refused)");
  r["past_index"] = no_effect(
      "used by models that return mems (XLNet, Transformer-XL); the causal LMs zerosim models return none");
  r["tpu_num_cores"] = no_effect("TPU only");
  r["tpu_metrics_debug"] = no_effect("TPU only");
}

// Fields with no effect at their default and refused otherwise.
void default_only_rules(std::map<std::string, FieldRule>& r, ImportBuilder& b) {
  const auto off = null_or_false();
  const auto empty = null_or_empty();
  r["use_cpu"] =
      default_only(b, "use_cpu", "false: the GPUs train", "training on the CPU is not modelled", off);
  r["no_cuda"] =
      default_only(b, "no_cuda", "false: the GPUs train", "training on the CPU is not modelled", off);
  r["use_mps_device"] =
      default_only(b, "use_mps_device", "false: CUDA GPUs train", "Apple MPS is not modelled", off);
  r["use_ipex"] = default_only(b, "use_ipex", "false: no Intel extension",
                               "Intel Extension for PyTorch (CPU/XPU) is not modelled", off);
  r["full_determinism"] = default_only(
      b, "full_determinism", "false: seeds only",
      "enable_full_determinism makes cuBLAS and the attention kernels deterministic, whose time is not "
      "modelled",
      off);
  r["auto_find_batch_size"] = default_only(
      b, "auto_find_batch_size", "false: the batch is per_device_train_batch_size",
      "the batch halves on each out-of-memory error until one fits: zerosim needs the batch that runs "
      "(set per_device_train_batch_size, or use `zerosim recommend`)",
      off);
  r["torch_compile"] =
      default_only(b, "torch_compile", "false: eager PyTorch",
                   "torch.compile fuses kernels and changes what is saved for backward: not modelled", off);
  for (const char* f : {"torch_compile_backend", "torch_compile_mode", "torchdynamo"})
    r[f] = default_only(b, f, "null: no torch.compile",
                        "setting it turns torch.compile on (TrainingArguments.__post_init__), not modelled",
                        empty);
  r["label_smoothing_factor"] = default_only(
      b, "label_smoothing_factor", "0: the model's own loss",
      "> 0 makes the Trainer compute the loss itself (LabelSmoother: log_softmax over the logits, a "
      "vocabulary-sized fp32 tensor), whose memory is not modelled",
      equals({"0", "0.0"}));
  r["torch_empty_cache_steps"] = default_only(
      b, "torch_empty_cache_steps", "null: the cache is never emptied",
      "torch.cuda.empty_cache() every N steps gives cached blocks back and re-allocates them: reserved "
      "memory and the cudaMalloc time are not modelled",
      empty);
  r["debug"] =
      default_only(b, "debug", "empty: no debug hooks",
                   "underflow_overflow hooks every module's forward (host time), not modelled", empty);
  r["mp_parameters"] = default_only(b, "mp_parameters", "empty: no SageMaker model parallelism",
                                    "SageMaker model parallelism is not modelled", empty);
  r["half_precision_backend"] =
      default_only(b, "half_precision_backend", "auto: torch AMP (or DeepSpeed's own precision)",
                   "apex AMP and cpu_amp are not modelled (allowed: auto)", equals({"auto"}));
  r["fp16_backend"] = default_only(b, "fp16_backend", "auto: torch AMP (deprecated name)",
                                   "apex AMP and cpu_amp are not modelled (allowed: auto)", equals({"auto"}));
  r["ddp_backend"] = default_only(b, "ddp_backend", "null or nccl: NCCL",
                                  "only NCCL's collectives are modelled (allowed: nccl)", equals({"nccl"}));
  r["tp_size"] = default_only(b, "tp_size", "0 or 1: no tensor parallelism",
                              "tensor parallelism is not modelled", equals({"0", "1"}));
  r["parallelism_config"] = default_only(b, "parallelism_config", "null: data parallelism only",
                                         "accelerate's ParallelismConfig (tensor, context, sharded data "
                                         "parallelism) is not modelled",
                                         empty);
  r["optim_args"] = default_only(b, "optim_args", "null: the optimizer's defaults",
                                 "optimizer arguments are not modelled", empty);
  r["optim_target_modules"] =
      default_only(b, "optim_target_modules", "null: no GaLore/APOLLO",
                   "selects modules for GaLore/APOLLO, which are not modelled", empty);
  r["adafactor"] =
      default_only(b, "adafactor", "false: optim decides",
                   std::string("Adafactor is not modelled (allowed optim: ") + kHfOptimsModelled + ")", off);
  r["split_batches"] =
      default_only(b, "split_batches", "null or false: each GPU gets per_device_train_batch_size",
                   "splits one batch over the GPUs, so the micro-batch is not per_device_train_batch_size: "
                   "not modelled",
                   off);
  r["dispatch_batches"] =
      no_effect("whether rank 0 loads and sends the batches: host-side data loading (deprecated field)");
  r["use_cache"] = default_only(b, "use_cache", "false: no KV cache in training",
                                "a KV cache returned by every training forward is not modelled", off);
  r["neftune_noise_alpha"] = no_effect(
      "NEFTune adds one noise tensor to the embedding output in each training forward, freed at once; "
      "not counted");
  r["group_by_length"] = no_effect(
      "batches of similar lengths: zerosim simulates train.seq_len tokens per sample (give "
      "train.seq_len_distribution for the padded lengths a dataset has)");
  r["train_sampling_strategy"] = default_only(
      b, "train_sampling_strategy", "random, sequential or group_by_length: which samples, not their shapes",
      "allowed: random, sequential, group_by_length", equals({"random", "sequential", "group_by_length"}));
}

void accelerator_config_rule(std::map<std::string, FieldRule>& r, ImportBuilder& b) {
  r["accelerator_config"] =
      FieldRule{[&b](const YAML::Node& v) {
                  if (!is_null(v) && v.IsMap() && v["split_batches"].IsDefined() &&
                      bool_field(b, "accelerator_config.split_batches", v["split_batches"]))
                    b.refuse("accelerator_config.split_batches",
                             "true splits one batch over the GPUs, so the micro-batch "
                             "is not per_device_train_batch_size: not modelled");
                  b.no_effect("accelerator_config",
                              "dataloader dispatch, seedable sampler, even batches, "
                              "non_blocking: how batches are loaded, not the step");
                },
                "", ""};
}

// The fields zerosim translates.
void translated_rules(std::map<std::string, FieldRule>& r, ImportBuilder& b, HfArgs& a) {
  r["per_device_train_batch_size"] = {[&](const YAML::Node& v) {
                                        a.micro_batch = positive_int(b, "per_device_train_batch_size", v);
                                        a.micro_batch_origin = "per_device_train_batch_size: " + v.Scalar();
                                      },
                                      "", ""};
  // Deprecated: TrainingArguments.train_batch_size prefers it over per_device_train_batch_size when set.
  r["per_gpu_train_batch_size"] = {[&](const YAML::Node& v) {
                                     if (is_null(v))
                                       return b.no_effect("per_gpu_train_batch_size",
                                                          "null: per_device_train_batch_size");
                                     a.micro_batch = positive_int(b, "per_gpu_train_batch_size", v);
                                     a.micro_batch_origin = "per_gpu_train_batch_size: " + v.Scalar() +
                                                            " (deprecated; it wins over "
                                                            "per_device_train_batch_size)";
                                   },
                                   "", ""};
  r["gradient_accumulation_steps"] = {[&](const YAML::Node& v) {
                                        a.grad_accum = positive_int(b, "gradient_accumulation_steps", v);
                                        a.grad_accum_origin = "gradient_accumulation_steps: " + v.Scalar();
                                      },
                                      "", ""};
  r["gradient_checkpointing"] = {[&](const YAML::Node& v) {
                                   a.checkpointing = bool_field(b, "gradient_checkpointing", v);
                                   a.checkpointing_origin = "gradient_checkpointing: " + v.Scalar();
                                 },
                                 "", ""};
  r["gradient_checkpointing_kwargs"] = {
      [&](const YAML::Node& v) {
        if (!is_null(v) && v.IsMap())
          for (auto it = v.begin(); it != v.end(); ++it)
            if (it->first.Scalar() != "use_reentrant")
              b.refuse("gradient_checkpointing_kwargs." + it->first.Scalar(),
                       "only use_reentrant is modelled (as no effect)");
        b.no_effect(
            "gradient_checkpointing_kwargs",
            "use_reentrant: either way each decoder layer keeps its input and recomputes in backward");
      },
      "", ""};
  r["bf16"] = {[&](const YAML::Node& v) { a.bf16 = bool_field(b, "bf16", v); }, "", ""};
  r["fp16"] = {[&](const YAML::Node& v) { a.fp16 = bool_field(b, "fp16", v); }, "", ""};
  // Trainer._inner_training_loop clips when `args.max_grad_norm is not None and args.max_grad_norm > 0`.
  r["max_grad_norm"] = {[&](const YAML::Node& v) {
                          a.max_grad_norm = hf_max_grad_norm(v, b.file());
                          a.max_grad_norm_origin = "max_grad_norm: " + text_of(v);
                        },
                        "", ""};
  r["logging_nan_inf_filter"] = {[&](const YAML::Node& v) {
                                   a.nan_inf_filter =
                                       is_null(v) || read_bool(v, b.file(), "logging_nan_inf_filter");
                                   a.nan_inf_filter_origin = "logging_nan_inf_filter: " + text_of(v);
                                 },
                                 "", ""};
  r["tf32"] = {[&](const YAML::Node& v) {
                 a.tf32 = bool_field(b, "tf32", v);
                 a.tf32_given = true;
               },
               "", ""};
  r["optim"] = {[&](const YAML::Node& v) {
                  a.optim = read_string(v, b.file(), "optim");
                  a.optim_origin = "optim: " + a.optim;
                },
                "", ""};
  r["use_liger_kernel"] = {[&](const YAML::Node& v) { a.liger = bool_field(b, "use_liger_kernel", v); }, "",
                           ""};
  r["liger_kernel_config"] = default_only(
      b, "liger_kernel_config", "null: Liger's defaults (use_liger_kernel decides)",
      "per-kernel Liger switches are not modelled (use_liger_kernel alone: train.loss fused-linear-ce)",
      null_or_empty());
  r["deepspeed"] = {[&](const YAML::Node& v) {
                      if (is_null(v) || (v.IsScalar() && v.Scalar().empty())) return;
                      if (v.IsMap()) {
                        a.deepspeed_inline = v;
                        a.inline_deepspeed = true;
                      } else {
                        a.deepspeed = read_string(v, b.file(), "deepspeed");
                      }
                    },
                    "", ""};
  r["fsdp"] = {[&](const YAML::Node& v) { a.fsdp = words(b, "fsdp", v); }, "", ""};
  r["fsdp_config"] = {[&](const YAML::Node& v) {
                        if (is_null(v)) return;
                        if (!v.IsMap())
                          b.refuse("fsdp_config", "a path to an FSDP json is not read (inline it)");
                        for (auto it = v.begin(); it != v.end(); ++it) {
                          const std::string k = it->first.Scalar();
                          const std::string key = k.rfind("fsdp_", 0) == 0 ? k.substr(5) : k;
                          const YAML::Node x = it->second;
                          const std::string name = "fsdp_config." + k;
                          if (key == "activation_checkpointing") {
                            a.fsdp_checkpointing = bool_field(b, name, x);
                          } else if (key == "min_num_params") {
                            if (!equals({"0"})(x))
                              b.refuse(name,
                                       "size-based wrapping (units of N parameters) is not modelled; "
                                       "wrap per decoder layer (transformer_layer_cls_to_wrap)");
                          } else if (key == "xla" || key == "xla_fsdp_v2" || key == "xla_fsdp_grad_ckpt") {
                            if (!null_or_false()(x)) b.refuse(name, "FSDP on XLA (TPU) is not modelled");
                          } else if (key == "version") {
                            if (!equals({"1"})(x)) b.refuse(name, "FSDP2 (fully_shard) is not modelled");
                          } else if (key == "offload_params" || key == "cpu_offload") {
                            if (!null_or_false()(x))
                              b.refuse(name, "FSDP's CPU offload (torch's Adam on the CPU) is not modelled");
                          } else if (key == "transformer_layer_cls_to_wrap" || key == "backward_prefetch" ||
                                     key == "forward_prefetch" || key == "limit_all_gathers" ||
                                     key == "use_orig_params" || key == "sync_module_states" ||
                                     key == "cpu_ram_efficient_loading" || key == "state_dict_type" ||
                                     key == "auto_wrap_policy" || key == "reshard_after_forward") {
                            b.no_effect(name,
                                        "wrapping per decoder layer and prefetching as ZeRO-3's per-module "
                                        "fetch; loading and saving");
                          } else {
                            b.refuse(name,
                                     "is not an fsdp_config key zerosim knows (transformers "
                                     "TrainingArguments._process_fsdp_args)");
                          }
                        }
                      },
                      "", ""};
  r["fsdp_min_num_params"] = default_only(b, "fsdp_min_num_params", "0: no size-based wrapping",
                                          "size-based wrapping is not modelled", equals({"0"}));
  r["fsdp_transformer_layer_cls_to_wrap"] =
      no_effect("names the decoder layer class FSDP wraps: one unit per layer, as ZeRO-3 fetches per module");
}

std::map<std::string, FieldRule> all_rules(ImportBuilder& b, HfArgs& a) {
  std::map<std::string, FieldRule> r;
  no_effect_rules(r);
  default_only_rules(r, b);
  accelerator_config_rule(r, b);
  translated_rules(r, b, a);
  return r;
}

// optim -> train.optimizer: torch's AdamW (foreach, its default on CUDA, or fused) or bitsandbytes' AdamW,
// which DeepSpeed would wrap as ZeRO's client optimizer (not modelled).
void set_optimizer(ImportBuilder& b, const HfArgs& a) {
  const std::optional<HfOptimizer> o = hf_optimizer(a.optim);
  if (!o) b.refuse("optim", "'" + a.optim + "' is not modelled (allowed: " + kHfOptimsModelled + ")");
  // Under DeepSpeed it is ZeRO's client optimizer (modelled; a ds_config optimizer block would replace it,
  // which the run config refuses); under FSDP it would see FSDP's flat shards (not modelled).
  if (o->bitsandbytes && !a.fsdp.empty())
    b.refuse("optim", "'" + a.optim +
                          "' with fsdp: a bitsandbytes optimizer over FSDP's flat shards is not modelled "
                          "(allowed there: adamw_torch, adamw_torch_fused)");
  b.set("train.optimizer", o->value, a.optim_origin + " (" + o->what + ")");
}

// A relative deepspeed path is relative to where training started: the JSON's folder, else here.
std::string find_deepspeed(ImportBuilder& b, const std::string& path) {
  namespace fs = std::filesystem;
  fs::path p(path);
  if (p.is_relative()) {
    const fs::path beside = fs::path(b.file()).parent_path() / p;
    if (fs::exists(beside)) return beside.string();
  }
  if (fs::exists(p)) return fs::absolute(p).string();
  b.refuse("deepspeed", "'" + path + "' not found (relative paths: from " + kArgs +
                            " file's folder, then the working directory)");
}

// An inline deepspeed dict is written beside the run config, which names it (simulate reads a path).
std::string write_inline_deepspeed(ImportBuilder& b, const YAML::Node& ds, const ImportOptions& o) {
  if (o.out_dir.empty())
    b.refuse("deepspeed",
             "is an inline dict: give -o RUN.yaml, and it is written beside it as "
             "<file>.ds_config.json");
  namespace fs = std::filesystem;
  const fs::path out = fs::path(o.out_dir) / (fs::path(b.file()).stem().string() + ".ds_config.json");
  YAML::Emitter e;
  e << YAML::DoubleQuoted << YAML::Flow << ds;
  std::ofstream f(out);
  if (!(f << e.c_str() << "\n")) b.refuse("deepspeed", "cannot write '" + out.string() + "'");
  return out.string();
}

// bf16/fp16 enabled in the ds_config: true/false, or "" when absent or "auto" (HF fills it from --bf16).
std::string ds_enabled(const YAML::Node& ds, const char* block) {
  if (!ds.IsMap() || !ds[block].IsDefined() || !ds[block].IsMap() || !ds[block]["enabled"].IsDefined())
    return "";
  const std::string v = ds[block]["enabled"].Scalar();
  return v == "auto" ? "" : v;
}

// fp32 training (docs/memory-model.md §8.7), and TrainingArguments.tf32 with it: __post_init__ sets
// torch.backends.cuda.matmul.allow_tf32 = True (train.tf32); with bf16/fp16 it changes no GEMM.
void set_fp32(ImportBuilder& b, const HfArgs& a, const std::string& why) {
  b.set("train.precision", "fp32", why);
  if (a.tf32) return b.set("train.tf32", "true", "tf32: true (torch.backends.cuda.matmul.allow_tf32 = True)");
  if (a.tf32_given) b.no_effect("tf32", "false or null: PyTorch's default, fp32 matmuls (train.tf32 false)");
}

void tf32_without_fp32(ImportBuilder& b, const HfArgs& a) {
  if (a.tf32_given)
    b.no_effect("tf32", "TF32 applies to fp32 matmuls; with bf16/fp16 the step's GEMMs run in 16 bits");
}

// HF Trainer with DeepSpeed: the engine's precision; "auto" blocks take --bf16/--fp16
// (integrations/deepspeed.py HfTrainerDeepSpeedConfig.trainer_config_process).
void set_deepspeed(ImportBuilder& b, const HfArgs& a, const ImportOptions& o) {
  if (!o.weights_dtype.empty())
    b.no_effect("--weights-dtype",
                "DeepSpeed's engine casts the model to its own precision (bf16/fp16 mode)");
  const std::string path =
      a.inline_deepspeed ? write_inline_deepspeed(b, a.deepspeed_inline, o) : find_deepspeed(b, a.deepspeed);
  const YAML::Node ds = parse_yaml_file(path, "DeepSpeed config");
  const std::string origin =
      a.inline_deepspeed ? "deepspeed (inline dict, written out)" : "deepspeed: " + a.deepspeed;
  b.set("deepspeed", yaml_scalar(path_from_output(path, "", o.out_dir)), origin);
  b.set("train.engine", "deepspeed", origin + " (deepspeed.initialize wraps the model)");
  if (a.bf16 || a.fp16) tf32_without_fp32(b, a);
  if (a.bf16) return b.set("train.precision", "bf16-mixed", "bf16: true with DeepSpeed (its bf16 mode)");
  if (a.fp16) return b.set("train.precision", "fp16-mixed", "fp16: true with DeepSpeed (its fp16 mode)");
  if (ds_enabled(ds, "bf16") != "true" && ds_enabled(ds, "bfloat16") != "true" &&
      ds_enabled(ds, "fp16") != "true")
    return set_fp32(b, a,
                    "bf16 false, fp16 false and the ds_config enables neither: DeepSpeed trains in fp32");
  tf32_without_fp32(b, a);  // the ds_config's bf16 or fp16 mode
}

// HF Trainer without DeepSpeed: accelerate's torch.autocast over the model as loaded, fp32 by
// from_pretrained's default: PyTorch AMP with fp32 weights (docs/memory-model.md §8.6). --weights-dtype bf16
// (from_pretrained(torch_dtype=torch.bfloat16)): bf16 weights under autocast with peft's fp32 adapters
// (bf16-mixed), or, fully fine-tuned, bf16 weights whose AdamW states take their dtype (bf16-pure).
void set_amp(ImportBuilder& b, const HfArgs& a, const ImportOptions& o) {
  b.set("train.engine", "pytorch", "no deepspeed: HF Trainer through accelerate, no DeepSpeed engine");
  if (a.bf16 || a.fp16 || o.weights_dtype == "bf16") tf32_without_fp32(b, a);
  if (o.weights_dtype == "bf16") {
    if (!a.bf16)
      b.refuse("bf16",
               "false with --weights-dtype bf16: fp16 autocast or fp32 math over bf16 weights is not "
               "modelled (set bf16: true)");
    if (o.peft_adapter.empty())
      return b.set("train.precision", "bf16-pure",
                   "--weights-dtype bf16, full fine-tuning: bf16 weights, AdamW states in their dtype");
    return b.set(
        "train.precision", "bf16-mixed",
        "--weights-dtype bf16 with bf16: true: bf16 base weights, peft's fp32 adapters, torch.autocast");
  }
  if (o.weights_dtype == "fp16")
    b.refuse("(weights)",
             "--weights-dtype fp16: HF Trainer's GradScaler refuses fp16 parameters ('Attempting to "
             "unscale FP16 gradients'); load in fp32 or bf16");
  if (a.bf16)
    return b.set("train.precision", "amp-bf16",
                 "bf16: true without DeepSpeed (torch.autocast over fp32 weights, from_pretrained's default "
                 "dtype)");
  if (a.fp16)
    return b.set("train.precision", "amp-fp16",
                 "fp16: true without DeepSpeed (torch.autocast + GradScaler over fp32 weights)");
  set_fp32(b, a,
           "bf16 false and fp16 false without DeepSpeed: no autocast over from_pretrained's default fp32 "
           "weights");
}

// FSDP as the ZeRO stage with the same partitioning: FULL_SHARD ~ 3, SHARD_GRAD_OP ~ 2, NO_SHARD ~ 0.
// Full fine-tuning only: FSDP keeps the fp32-loaded frozen weights fp32 (4 B each, sharded), where
// DeepSpeed's engine casts them to bf16 (2 B), so an adapter's frozen base would be half what it is.
void set_fsdp(ImportBuilder& b, const HfArgs& a, const ImportOptions& o) {
  if (!o.weights_dtype.empty() && o.weights_dtype != "fp32")
    b.refuse("fsdp",
             "over " + o.weights_dtype +
                 "-loaded weights: the FSDP mapping holds for fp32-loaded weights only (16 B per parameter)");
  std::string stage;
  bool wrap = false;
  for (const auto& w : a.fsdp) {
    if (w == "full_shard")
      stage = "3";
    else if (w == "shard_grad_op")
      stage = "2";
    else if (w == "no_shard")
      stage = "0";
    else if (w == "auto_wrap")
      wrap = true;
    else if (w == "offload")
      b.refuse("fsdp", "offload: FSDP's CPU offload (torch's Adam on the CPU) is not modelled");
    else if (w == "hybrid_shard" || w == "hybrid_shard_zero2")
      b.refuse("fsdp", w + ": sharding within a node and replicating across nodes is not a ZeRO stage");
    else
      b.refuse("fsdp",
               "'" + w + "' is not an FSDPOption (full_shard, shard_grad_op, no_shard, auto_wrap, ...)");
  }
  if (stage.empty()) b.refuse("fsdp", "names no sharding strategy (full_shard, shard_grad_op or no_shard)");
  if (!a.deepspeed.empty() || a.inline_deepspeed)
    b.refuse("fsdp", "and deepspeed together: the Trainer refuses both (TrainingArguments.__post_init__)");
  if (stage != "0" && !wrap)
    b.refuse("fsdp", "without auto_wrap the whole model is one FSDP unit, gathered at once: not modelled");
  if (!o.peft_adapter.empty())
    b.refuse("fsdp",
             "with a peft adapter: FSDP keeps the frozen base weights as loaded (fp32, 4 B each) "
             "where ZeRO's engine casts them to bf16; not modelled (full fine-tuning only)");
  if (!a.bf16 && !a.fp16)
    b.refuse("bf16", "false and fp16 false under FSDP: FSDP's fp32 sharding is not mapped to a ZeRO stage");
  tf32_without_fp32(b, a);
  const std::string origin = "fsdp: " + text_of(YAML::Node(a.fsdp));
  b.set("zero.stage", stage, origin + " (the ZeRO stage that partitions the same states)");
  b.set("train.engine", "deepspeed",
        origin + " (fp32 sharded parameters, gradients and Adam states: 16 B per parameter, as ZeRO's)");
  b.set("train.precision", a.bf16 ? "bf16-mixed" : "fp16-mixed",
        std::string(a.bf16 ? "bf16" : "fp16") + ": true (FSDP MixedPrecision: 16-bit compute copies)");
}

// TrainingArguments name no model: --model must (apply_command_line resolves it).
void require_model(const ImportBuilder& b, const ImportOptions& o) {
  if (o.model.empty())
    b.refuse("(model)", kArgs + " names no model: give --model PRESET, a config.json path or a Hub id");
}

void set_peft(ImportBuilder& b, const ImportOptions& o) {
  if (o.peft_adapter.empty())
    return b.set("peft.method", "none", "no --peft: " + kArgs + " has no adapter, so full fine-tuning");
  b.set("peft.adapter", yaml_scalar(path_from_output(o.peft_adapter, "", o.out_dir)), "--peft");
}

ImportedConfig import_file(const std::string& file, const ImportOptions& options) {
  ImportBuilder b("hf-trainer", file);
  const YAML::Node root = parse_yaml_file(file, kArgs + " JSON");
  HfArgs a;
  apply_field_rules(b, root, all_rules(b, a), kArgs);
  require_model(b, options);
  if (options.seq_len <= 0)
    b.refuse("(seq_len)", kArgs + " names no sequence length: give --seq-len N (tokens per sample)");
  set_peft(b, options);
  b.set("train.micro_batch", std::to_string(a.micro_batch), a.micro_batch_origin);
  b.set("train.grad_accum", std::to_string(a.grad_accum), a.grad_accum_origin);
  b.set("train.activation_checkpointing", a.checkpointing || a.fsdp_checkpointing ? "true" : "false",
        a.fsdp_checkpointing ? "fsdp_config.activation_checkpointing: true" : a.checkpointing_origin);
  set_optimizer(b, a);
  b.set("train.loop", "hf-trainer", "Trainer.train (training_step's model.train() on every micro-step)");
  b.set("train.loss_sync", a.nan_inf_filter ? "true" : "false",
        a.nan_inf_filter_origin + " (the loop tests each micro-step's loss for nan/inf on the host)");
  set_hf_max_grad_norm(b, a.max_grad_norm, a.max_grad_norm_origin);
  if (a.liger)
    b.set("train.loss", "fused-linear-ce", "use_liger_kernel: true (LigerFusedLinearCrossEntropy)");
  if (a.bf16 && a.fp16) b.refuse("fp16", "and bf16 both true: the Trainer refuses it");
  if (!a.fsdp.empty())
    set_fsdp(b, a, options);
  else if (!a.deepspeed.empty() || a.inline_deepspeed)
    set_deepspeed(b, a, options);
  else
    set_amp(b, a, options);
  apply_command_line(b, options);
  return b.finish();
}

}  // namespace

ImportedConfig import_hf_trainer(const std::string& file, const ImportOptions& options) {
  return import_file(file, options);
}

}  // namespace zerosim
