#include "workloads/deepspeed_keys.h"

#include <sstream>

#include "workloads/closest_name.h"
#include "workloads/config_error.h"
#include "workloads/yaml_read.h"

namespace zerosim {

namespace {

using U = DsKeyUse;

// Reasons shared by several keys.
constexpr const char* kZeroPP =
    "ZeRO++ quantized or hierarchical partitioning changes the collectives' bytes";
constexpr const char* kMics = "MiCS sharding changes the partition groups";
constexpr const char* kStage3Fetch = "changes how ZeRO-3 fetches parameters";

}  // namespace

// deepspeed/runtime/zero/config.py DeepSpeedZeroConfig (v0.19.5): field names and their aliases
// (populate_by_name=True: DeepSpeed accepts both).
const std::vector<DsKey>& ds_zero_keys() {
  static const std::vector<DsKey> keys = {
      {"stage", U::modelled},
      {"reduce_bucket_size", U::modelled},
      {"allgather_bucket_size", U::modelled},
      {"stage3_prefetch_bucket_size", U::modelled},
      {"prefetch_bucket_size", U::modelled},
      {"stage3_max_live_parameters", U::modelled},
      {"max_live_parameters", U::modelled},
      {"stage3_max_reuse_distance", U::modelled},
      {"max_reuse_distance", U::modelled},
      {"stage3_param_persistence_threshold", U::modelled},
      {"param_persistence_threshold", U::modelled},
      {"overlap_comm", U::modelled},
      {"contiguous_gradients", U::modelled},
      {"offload_optimizer", U::modelled},
      {"offload_param", U::modelled},
      {"cpu_offload", U::modelled},
      {"cpu_offload_param", U::modelled},
      {"zero_hpz_partition_size", U::default_only, "0|1", kZeroPP},
      {"zero_quantized_weights", U::default_only, "false", kZeroPP},
      {"zero_quantized_nontrainable_weights", U::default_only, "false", kZeroPP},
      {"zero_quantized_gradients", U::default_only, "false", kZeroPP},
      {"zeropp_loco_param", U::no_effect},  // acts only with zero_quantized_gradients
      {"reduce_scatter", U::default_only, "true",
       "all-reducing gradients instead of reduce-scatter changes traffic"},
      {"use_multi_rank_bucket_allreduce", U::default_only, "true", "changes the ZeRO-3 gradient collectives"},
      {"allgather_partitions", U::default_only, "true", "broadcasts instead of all-gather change traffic"},
      {"sub_group_size", U::modelled},
      {"stage3_model_persistence_threshold", U::default_only, "9223372036854775807", kStage3Fetch},
      {"model_persistence_threshold", U::default_only, "9223372036854775807", kStage3Fetch},
      {"stage3_module_granularity_threshold", U::default_only, "0", kStage3Fetch},
      {"module_granularity_threshold", U::default_only, "0", kStage3Fetch},
      {"stage3_use_all_reduce_for_fetch_params", U::default_only, "false", kStage3Fetch},
      {"use_all_reduce_for_fetch_params", U::default_only, "false", kStage3Fetch},
      {"stage3_allgather_sequential", U::default_only, "false", kStage3Fetch},
      {"allgather_sequential", U::default_only, "false", kStage3Fetch},
      {"memory_efficient_linear", U::default_only, "true", "changes what ZeRO-3 linears save for backward"},
      {"leaf_module", U::refused, "", kStage3Fetch},
      {"zenflow", U::refused, "", "ZenFlow's asynchronous CPU updates are not modelled"},
      {"mics_shard_size", U::default_only, "-1", kMics},
      {"mics_hierarchical_params_gather", U::default_only, "false", kMics},
      {"legacy_stage1", U::default_only, "false", "the legacy stage-1 implementation is not modelled"},
      {"enable_sanity_checks", U::default_only, "false", "the debugging checks' cost is not modelled"},
      {"load_from_fp32_weights", U::no_effect},
      {"elastic_checkpoint", U::no_effect},
      {"gather_16bit_weights_on_model_save", U::no_effect},
      {"stage3_gather_16bit_weights_on_model_save", U::no_effect},
      {"stage3_gather_fp16_weights_on_model_save", U::no_effect},
      {"ignore_unused_parameters", U::no_effect},
      {"round_robin_gradients", U::no_effect},
      {"cpu_offload_use_pin_memory", U::modelled},
      {"pipeline_loading_checkpoint", U::no_effect},
      {"override_module_apply", U::no_effect},
      {"log_trace_cache_warnings", U::no_effect},
      {"save_muon_momentum_buffer_in_memory", U::no_effect},
      {"partition_stream_chunk_size", U::no_effect},
  };
  return keys;
}

// deepspeed/runtime/zero/offload_config.py. NVMe keys have no effect: device nvme is refused.
const std::vector<DsKey>& ds_offload_param_keys() {
  static const std::vector<DsKey> keys = {
      {"device", U::modelled},       {"nvme_path", U::no_effect},  {"buffer_count", U::no_effect},
      {"buffer_size", U::no_effect}, {"max_in_cpu", U::no_effect}, {"pin_memory", U::modelled},
  };
  return keys;
}

const std::vector<DsKey>& ds_offload_optimizer_keys() {
  static const std::vector<DsKey> keys = {
      {"device", U::modelled},
      {"nvme_path", U::no_effect},
      {"buffer_count", U::no_effect},
      {"pin_memory", U::modelled},
      {"pipeline_read", U::no_effect},
      {"pipeline_write", U::no_effect},
      {"fast_init", U::no_effect},
      {"cpuadam_cores_perc", U::no_effect},
      {"ratio", U::default_only, "1", "partial optimizer offload is not modelled"},
      {"super_offload", U::default_only, "false", "SuperOffload is not modelled"},
  };
  return keys;
}

// deepspeed/runtime/precision_config.py DeepSpeedBF16Config / DeepSpeedFP16Config.
const std::vector<DsKey>& ds_bf16_keys() {
  static const std::vector<DsKey> keys = {
      {"enabled", U::modelled},
      {"bf16_master_weights_and_grads", U::modelled},
      {"bf16_optimizer_states", U::modelled},
      {"immediate_grad_update", U::default_only, "false",
       "accumulating into fp32 in backward is not modelled"},
      {"check_grad_overflow", U::no_effect},
  };
  return keys;
}

const std::vector<DsKey>& ds_fp16_keys() {
  static const std::vector<DsKey> keys = {
      {"enabled", U::modelled},
      {"auto_cast", U::no_effect},
      {"loss_scale", U::no_effect},
      {"initial_scale_power", U::no_effect},
      {"loss_scale_window", U::no_effect},
      {"hysteresis", U::no_effect},
      {"consecutive_hysteresis", U::no_effect},
      {"min_loss_scale", U::no_effect},
      {"fp16_master_weights_and_grads", U::default_only, "false", "fp16 master weights are not modelled"},
  };
  return keys;
}

// deepspeed/runtime/config.py DeepSpeedConfig reads the top level key by key (unknown keys are
// ignored there); zerosim refuses keys it does not know so that a typo is not silently dropped.
const std::vector<DsKey>& ds_top_level_keys() {
  static const std::vector<DsKey> keys = {
      {"zero_optimization", U::modelled},
      {"bf16", U::modelled},
      {"bfloat16", U::modelled},
      {"fp16", U::modelled},
      {"train_batch_size", U::modelled},
      {"train_micro_batch_size_per_gpu", U::modelled},
      {"gradient_accumulation_steps", U::modelled},
      {"communication_data_type", U::modelled},
      {"optimizer", U::modelled},
      {"scheduler", U::no_effect},
      {"gradient_clipping", U::no_effect},
      {"steps_per_print", U::no_effect},
      {"wall_clock_breakdown", U::no_effect},
      {"memory_breakdown", U::no_effect},
      {"dump_state", U::no_effect},
      {"zero_allow_untested_optimizer", U::no_effect},
      {"zero_force_ds_cpu_optimizer", U::no_effect},
      {"dataloader_drop_last", U::no_effect},
      {"seq_parallel_communication_data_type", U::no_effect},
      {"activation_checkpointing", U::no_effect},
      {"checkpoint", U::no_effect},
      {"aio", U::no_effect},
      {"autotuning", U::no_effect},
      {"flops_profiler", U::no_effect},
      {"tensorboard", U::no_effect},
      {"wandb", U::no_effect},
      {"csv_monitor", U::no_effect},
      {"comet", U::no_effect},
      {"comms_logger", U::no_effect},
      {"timers", U::no_effect},
      {"prescale_gradients", U::default_only, "false", "an extra scaling pass over the gradients"},
      {"gradient_predivide_factor", U::default_only, "1", "an extra scaling pass over the gradients"},
      {"sparse_gradients", U::default_only, "false", "sparse gradient all-reduce is not modelled"},
      {"disable_allgather", U::default_only, "false", "broadcasts instead of all-gather change traffic"},
      {"amp", U::if_enabled, "", "NVIDIA Apex AMP is not modelled"},
      {"elasticity", U::if_enabled, "", "elastic batch sizes are not modelled"},
      {"progressive_layer_drop", U::if_enabled, "", "dropping layers changes the step"},
      {"eigenvalue", U::if_enabled, "", "eigenvalue computation is not modelled"},
      {"sparse_attention", U::refused, "", "sparse attention is not modelled"},
      {"pipeline", U::refused, "", "pipeline parallelism is not modelled"},
      {"tensor_parallel", U::refused, "", "tensor parallelism is not modelled"},
      {"compression_training", U::refused, "", "compression training is not modelled"},
      {"data_efficiency", U::refused, "", "data efficiency (curriculum, token dropping) is not modelled"},
      {"curriculum_learning", U::refused, "", "curriculum learning changes sequence lengths"},
      {"data_types", U::refused, "", "a separate gradient-accumulation dtype is not modelled"},
      {"torch_autocast", U::refused, "", "torch autocast under DeepSpeed is not modelled"},
      {"compile", U::refused, "", "DeepCompile is not modelled"},
      {"hybrid_engine", U::refused, "", "the RLHF hybrid engine is not modelled"},
      {"weight_quantization", U::refused, "", "quantized weights are not modelled"},
  };
  return keys;
}

namespace {

std::vector<std::string> names_of(const std::vector<DsKey>& table) {
  std::vector<std::string> names;
  for (const auto& k : table) names.emplace_back(k.name);
  return names;
}

bool is_number(const std::string& s) {
  std::istringstream in(s);
  double d = 0;
  return (in >> d) && in.eof();
}

// `value` equals one of `accepted` ("false|0"): booleans as booleans, numbers as numbers.
bool accepted_value(const YAML::Node& value, const std::string& accepted, const std::string& file,
                    const std::string& key) {
  std::istringstream alternatives(accepted);
  for (std::string a; std::getline(alternatives, a, '|');) {
    if (a == "true" || a == "false") {
      if (read_bool(value, file, key) == (a == "true")) return true;
    } else if (is_number(a)) {
      if (read_double(value, file, key) == std::stod(a)) return true;
    }
  }
  return false;
}

bool enabled(const YAML::Node& block, const std::string& file, const std::string& key) {
  if (!block.IsMap()) throw ConfigError(file, key, "expected an object" + line_of(block));
  const YAML::Node e = block["enabled"];
  if (!e || e.IsNull() || (e.IsScalar() && e.Scalar() == "auto")) return false;
  return read_bool(e, file, key + ".enabled");
}

void check_value(const YAML::Node& value, const DsKey& k, const std::string& file, const std::string& key) {
  if (!value || value.IsNull() || (value.IsScalar() && value.Scalar() == "auto"))
    return;  // DeepSpeed's default
  const std::string not_modelled = " is not modelled yet: " + std::string(k.why);
  switch (k.use) {
    case U::default_only:
      if (!value.IsScalar() || !accepted_value(value, k.accepted, file, key))
        throw ConfigError(file, key,
                          "a value other than DeepSpeed's default" + not_modelled + line_of(value) +
                              " (accepted: " + k.accepted + ")");
      break;
    case U::if_enabled:
      if (enabled(value, file, key)) throw ConfigError(file, key, "enabled" + not_modelled);
      break;
    case U::refused:
      throw ConfigError(file, key, "this block" + not_modelled + line_of(value));
    default:
      break;
  }
}

}  // namespace

void check_ds_block(const YAML::Node& block, const std::vector<DsKey>& table, const std::string& file,
                    const std::string& prefix) {
  if (!block.IsMap()) throw ConfigError(file, prefix, "expected an object" + line_of(block));
  for (const auto& kv : block) {
    const std::string name = kv.first.Scalar();
    const DsKey* found = nullptr;
    for (const auto& k : table)
      if (name == k.name) found = &k;
    if (!found)
      throw ConfigError(file, prefix + name,
                        "unknown key" + line_of(kv.first) + did_you_mean(name, names_of(table)) +
                            (prefix.empty() ? " (zerosim refuses top-level keys it does not know; "
                                              "docs/inputs.md lists them)"
                                            : " (DeepSpeed's config models refuse unknown keys: "
                                              "extra=\"forbid\" in runtime/config_utils.py)"));
    check_value(kv.second, *found, file, prefix + name);
  }
}

}  // namespace zerosim
