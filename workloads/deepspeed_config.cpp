#include "workloads/deepspeed_config.h"

#include <algorithm>
#include <cctype>

#include "workloads/config_error.h"
#include "workloads/deepspeed_keys.h"
#include "workloads/yaml_read.h"

namespace zerosim {

int64_t auto_reduce_bucket_size(int64_t hidden) { return hidden * hidden; }
int64_t auto_stage3_prefetch_bucket_size(int64_t hidden) { return (9 * hidden * hidden) / 10; }
int64_t auto_stage3_persistence_threshold(int64_t hidden) { return 10 * hidden; }

namespace {

const std::vector<std::string> kZeroKeys = {"stage",
                                            "reduce_bucket_size",
                                            "allgather_bucket_size",
                                            "stage3_prefetch_bucket_size",
                                            "stage3_max_live_parameters",
                                            "stage3_max_reuse_distance",
                                            "stage3_param_persistence_threshold",
                                            "sub_group_size",
                                            "overlap_comm",
                                            "contiguous_gradients",
                                            "offload_optimizer",
                                            "offload_param",
                                            "zero3_init",
                                            "deepspeed"};

// A key that is absent (an invalid node: yaml-cpp throws on IsScalar there) is not "auto".
bool is_auto(const YAML::Node& n) { return present(n) && n.IsScalar() && n.Scalar() == "auto"; }

// Sizes in elements; `auto_value` is used for "auto" (nullptr: auto not allowed for this key).
void size_key(const YAML::Node& block, const char* name, const std::string& file, const std::string& prefix,
              int64_t& target, int64_t min, const int64_t* auto_value) {
  const YAML::Node n = block[name];
  if (!present(n)) return;
  const std::string key = prefix + name;
  if (is_auto(n)) {
    if (!auto_value) throw ConfigError(file, key, "'auto' is not supported for this key (give a number)");
    target = *auto_value;
    return;
  }
  target = read_int_in(n, file, key, min, int64_t{1} << 40);
}

std::string device_of(const YAML::Node& n, const std::string& file, const std::string& key) {
  // DeepSpeed: {"device": "cpu", "pin_memory": true}; the run config also takes a bare string.
  const YAML::Node device = n.IsMap() ? n["device"] : n;
  if (!present(device)) return "none";
  std::string d = read_string(device, file, key);
  if (d == "nvme")
    throw ConfigError(file, key,
                      "'nvme' (ZeRO-Infinity) is not modelled" + line_of(device) +
                          ": NVMe bandwidth, aio queue depth and buffer_count/buffer_size are not simulated "
                          "(allowed: none, cpu)");
  if (d != "none" && d != "cpu")
    throw ConfigError(file, key, "'" + d + "' is not supported" + line_of(device) + " (allowed: none, cpu)");
  return d;
}

// {"device": "cpu", "pin_memory": false}: page-locked host buffers or not (offload_config.py).
std::optional<bool> pin_memory_of(const YAML::Node& n, const std::string& file, const std::string& key) {
  if (!n.IsMap() || !present(n["pin_memory"])) return std::nullopt;
  return read_bool(n["pin_memory"], file, key + ".pin_memory");
}

void apply_block(const YAML::Node& z, const std::string& file, const std::string& prefix, RunConfig& c) {
  ZeroSpec& s = c.zero;
  const int64_t h = c.model.hidden;
  const int64_t auto_reduce = auto_reduce_bucket_size(h);
  const int64_t auto_prefetch = auto_stage3_prefetch_bucket_size(h);
  const int64_t auto_persist = auto_stage3_persistence_threshold(h);
  if (present(z["stage"])) s.stage = static_cast<int>(read_int(z["stage"], file, prefix + "stage"));
  if (s.stage < 0 || s.stage > 3)
    throw ConfigError(
        file, prefix + "stage",
        std::to_string(s.stage) + " is not a ZeRO stage" + line_of(z["stage"]) + " (allowed: 0, 1, 2, 3)");
  size_key(z, "reduce_bucket_size", file, prefix, s.reduce_bucket_size, 1, &auto_reduce);
  size_key(z, "allgather_bucket_size", file, prefix, s.allgather_bucket_size, 1, nullptr);
  size_key(z, "stage3_prefetch_bucket_size", file, prefix, s.stage3_prefetch_bucket_size, 0, &auto_prefetch);
  size_key(z, "stage3_max_live_parameters", file, prefix, s.stage3_max_live_parameters, 0, nullptr);
  size_key(z, "stage3_max_reuse_distance", file, prefix, s.stage3_max_reuse_distance, 0, nullptr);
  size_key(z, "stage3_param_persistence_threshold", file, prefix, s.stage3_param_persistence_threshold, 0,
           &auto_persist);
  size_key(z, "sub_group_size", file, prefix, s.sub_group_size, 0, nullptr);
  if (present(z["overlap_comm"]))
    s.overlap_comm = read_bool(z["overlap_comm"], file, prefix + "overlap_comm");
  if (present(z["contiguous_gradients"]))
    s.contiguous_gradients = read_bool(z["contiguous_gradients"], file, prefix + "contiguous_gradients");
  if (present(z["offload_optimizer"])) {
    s.offload_optimizer = device_of(z["offload_optimizer"], file, prefix + "offload_optimizer");
    s.offload_optimizer_pin_memory =
        pin_memory_of(z["offload_optimizer"], file, prefix + "offload_optimizer");
  }
  if (present(z["cpu_offload_use_pin_memory"]) && !s.offload_optimizer_pin_memory)
    s.offload_optimizer_pin_memory =
        read_bool(z["cpu_offload_use_pin_memory"], file, prefix + "cpu_offload_use_pin_memory");
  if (present(z["offload_param"])) {
    s.offload_param = device_of(z["offload_param"], file, prefix + "offload_param");
    s.offload_param_pin_memory = pin_memory_of(z["offload_param"], file, prefix + "offload_param");
  }
  if (s.offload_param != "none" && s.stage != 3)
    throw ConfigError(file, prefix + "offload_param",
                      "parameter offload needs ZeRO stage 3 (DeepSpeed rejects it otherwise)");
  if (s.offload_optimizer != "none" && s.stage == 0)
    throw ConfigError(file, prefix + "offload_optimizer", "optimizer offload needs ZeRO stage 1, 2 or 3");
}

// `max` is the run config's own limit for the key (run_config.cpp), so a ds_config.json cannot
// bring in a value RUN.yaml would reject. Returns whether the value is now fixed (numeric here or set
// in the run config); "auto" or absent with no run-config key leaves DeepSpeed free to derive it.
bool train_from_ds(const YAML::Node& ds, const char* ds_key, const YAML::Node& train_node,
                   const char* train_key, const std::string& path, int64_t& target, int64_t max) {
  const YAML::Node n = ds[ds_key];
  const bool in_run_config = present(train_node) && train_node.IsMap() && present(train_node[train_key]);
  if (!present(n)) return in_run_config;
  if (is_auto(n)) return true;  // HF Trainer fills "auto" from its arguments: the run config's value
  const int64_t v = read_int_in(n, path, ds_key, 1, max);
  if (in_run_config && target != v)
    throw ConfigError(path, ds_key,
                      std::to_string(v) + " disagrees with train." + train_key + " = " +
                          std::to_string(target) +
                          " in the run config (make them equal or set it to \"auto\")");
  target = v;
  return true;
}

// DeepSpeed's alias and deprecated spellings (zero/config.py: Field(alias=...), cpu_offload*), rewritten
// to the names apply_block reads. Giving both spellings is refused, as DeepSpeed asserts for deprecated ones.
YAML::Node canonical_zero_block(const YAML::Node& z, const std::string& path) {
  YAML::Node out = YAML::Clone(z);
  const std::pair<const char*, const char*> aliases[] = {
      {"prefetch_bucket_size", "stage3_prefetch_bucket_size"},
      {"max_live_parameters", "stage3_max_live_parameters"},
      {"max_reuse_distance", "stage3_max_reuse_distance"},
      {"param_persistence_threshold", "stage3_param_persistence_threshold"},
      {"cpu_offload", "offload_optimizer"},
      {"cpu_offload_param", "offload_param"}};
  for (const auto& [alias, name] : aliases) {
    if (!present(out[alias])) continue;
    const std::string key = std::string("zero_optimization.") + alias;
    if (present(out[name]))
      throw ConfigError(path, key, std::string("give either '") + alias + "' or '" + name + "', not both");
    const bool deprecated_bool = std::string(alias).rfind("cpu_offload", 0) == 0;
    if (deprecated_bool)  // true means {"device": "cpu"}
      out[name] = read_bool(out[alias], path, key) ? "cpu" : "none";
    else
      out[name] = out[alias];
    out.remove(alias);
  }
  return out;
}

void check_blocks(const YAML::Node& ds, const std::string& path) {
  check_ds_block(ds, ds_top_level_keys(), path, "");
  const YAML::Node z = ds["zero_optimization"];
  if (present(z) && z.IsMap()) {
    check_ds_block(z, ds_zero_keys(), path, "zero_optimization.");
    if (present(z["offload_param"]) && z["offload_param"].IsMap())
      check_ds_block(z["offload_param"], ds_offload_param_keys(), path, "zero_optimization.offload_param.");
    if (present(z["offload_optimizer"]) && z["offload_optimizer"].IsMap())
      check_ds_block(z["offload_optimizer"], ds_offload_optimizer_keys(), path,
                     "zero_optimization.offload_optimizer.");
  }
  for (const char* block : {"bf16", "bfloat16"})
    if (present(ds[block])) check_ds_block(ds[block], ds_bf16_keys(), path, std::string(block) + ".");
  if (present(ds["fp16"])) check_ds_block(ds["fp16"], ds_fp16_keys(), path, "fp16.");
}

bool enabled_in(const YAML::Node& block, const char* key, const std::string& path, const std::string& name) {
  if (!present(block) || !block.IsMap() || !present(block[key]) || is_auto(block[key])) return false;
  return read_bool(block[key], path, name + "." + key);
}

// bf16.enabled -> bf16-mixed (with bf16 master weights and bf16 optimizer states: bf16-pure),
// fp16.enabled -> fp16-mixed, neither -> fp32 (runtime/config.py get_bfloat16_config,
// get_fp16_enabled; "auto" in enabled keeps the run config's train.precision, as HF Trainer fills it).
void apply_ds_precision(const YAML::Node& ds, const YAML::Node& train_node, const std::string& path,
                        Precision& precision) {
  const char* bf16_key = present(ds["bf16"]) ? "bf16" : "bfloat16";
  const YAML::Node bf16 = ds[bf16_key], fp16 = ds["fp16"];
  const bool bf16_auto = present(bf16) && bf16.IsMap() && is_auto(bf16["enabled"]);
  const bool fp16_auto = present(fp16) && fp16.IsMap() && is_auto(fp16["enabled"]);
  const bool bf16_on = enabled_in(bf16, "enabled", path, bf16_key),
             fp16_on = enabled_in(fp16, "enabled", path, "fp16");
  if (bf16_on && fp16_on)
    throw ConfigError(path, "fp16.enabled", "bf16 and fp16 cannot both be enabled (DeepSpeed asserts it)");
  if (bf16_auto || fp16_auto) return;
  Precision p = Precision::fp16_mixed;
  if (bf16_on) {
    const bool master = enabled_in(bf16, "bf16_master_weights_and_grads", path, bf16_key);
    const bool states = enabled_in(bf16, "bf16_optimizer_states", path, bf16_key);
    if (master != states)
      throw ConfigError(
          path,
          std::string(bf16_key) + (master ? ".bf16_optimizer_states" : ".bf16_master_weights_and_grads"),
          "bf16 master weights with fp32 optimizer states (or the reverse) are not modelled yet "
          "(both true: bf16-pure; both false: bf16-mixed)");
    p = master ? Precision::bf16_pure : Precision::bf16_mixed;
  } else if (!fp16_on) {
    // Neither: DeepSpeed trains in fp32 (engine.py _do_optimizer_sanity_check: model dtype fp32 → no
    // precision wrapper; ZeRO's optimizers clone the fp32 partitions they update).
    p = Precision::fp32;
  }
  const bool in_run_config = present(train_node) && train_node.IsMap() && present(train_node["precision"]);
  if (in_run_config && precision != p)
    throw ConfigError(path, fp16_on ? "fp16.enabled" : std::string(bf16_key) + ".enabled",
                      std::string("means ") + precision_name(p) +
                          ", which disagrees with train.precision = " + precision_name(precision) +
                          " in the run config");
  precision = p;
}

// DeepSpeed's "Adam"/"AdamW" are the fused Adam zerosim models; other optimizers (and Adam variants
// with other state) are refused; lr, betas, eps, weight_decay have no effect on time or memory.
void check_optimizer(const YAML::Node& opt, const std::string& path, OptimizerImpl client) {
  if (!present(opt)) return;
  // DeepSpeed builds the optimizer its ds_config names; a client optimizer is used only without one
  // (transformers integrations/deepspeed.py deepspeed_optim_sched), so a bitsandbytes one would not run.
  if (bitsandbytes_optimizer(client))
    throw ConfigError(path, "optimizer",
                      std::string("the ds_config's optimizer replaces train.optimizer ") +
                          optimizer_name(client) +
                          " (DeepSpeed builds its own; HF Trainer passes its optim only without this block): "
                          "remove one of them");
  if (!opt.IsMap()) throw ConfigError(path, "optimizer", "expected an object" + line_of(opt));
  if (present(opt["type"]) && !is_auto(opt["type"])) {
    std::string type = read_string(opt["type"], path, "optimizer.type");
    std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (type != "adam" && type != "adamw")
      throw ConfigError(path, "optimizer.type",
                        "'" + opt["type"].Scalar() + "' is not modelled yet" + line_of(opt["type"]) +
                            " (allowed: Adam, AdamW)");
  }
  const YAML::Node params = opt["params"];
  if (!present(params) || !params.IsMap()) return;
  if (enabled_in(params, "torch_adam", path, "optimizer.params"))
    throw ConfigError(
        path, "optimizer.params.torch_adam",
        "torch.optim.Adam under DeepSpeed is not modelled through ds_config (set train.optimizer)");
  if (enabled_in(params, "amsgrad", path, "optimizer.params"))
    throw ConfigError(path, "optimizer.params.amsgrad", "AMSGrad's extra state is not modelled yet");
}

// None (the default) communicates gradients in the training dtype (runtime/config.py
// get_communication_data_type); another dtype changes the collectives' bytes.
void check_communication_data_type(const YAML::Node& n, const std::string& path, Precision precision) {
  if (!present(n) || is_auto(n)) return;
  const std::string v = read_string(n, path, "communication_data_type");
  const std::string training = precision == Precision::fp16_mixed ? "fp16"
                               : precision == Precision::fp32     ? "fp32"
                                                                  : "bf16";
  if (v != training)
    throw ConfigError(path, "communication_data_type",
                      "'" + v + "' differs from the training dtype (" + training +
                          "): a different communication dtype is not modelled yet" + line_of(n) +
                          " (allowed: null, " + training + ")");
}

}  // namespace

void apply_deepspeed_config(const std::string& path, const YAML::Node& train_node, RunConfig& c) {
  const YAML::Node ds = parse_yaml_file(path, "DeepSpeed config");
  if (!ds.IsMap()) throw ConfigError(path, "", "not a DeepSpeed config (expected a JSON object)");
  check_blocks(ds, path);
  c.zero.deepspeed_config = path;
  const YAML::Node z = ds["zero_optimization"];
  if (present(z)) {
    if (!z.IsMap()) throw ConfigError(path, "zero_optimization", "expected an object" + line_of(z));
    apply_block(canonical_zero_block(z, path), path, "zero_optimization.", c);
  }
  c.zero.micro_batch_given = train_from_ds(ds, "train_micro_batch_size_per_gpu", train_node, "micro_batch",
                                           path, c.train.micro_batch, kMaxMicroBatch);
  c.zero.grad_accum_given = train_from_ds(ds, "gradient_accumulation_steps", train_node, "grad_accum", path,
                                          c.train.grad_accum, kMaxGradAccum);
  const YAML::Node batch = ds["train_batch_size"];
  if (present(batch) && !is_auto(batch))
    c.zero.train_batch_size =
        read_int_in(batch, path, "train_batch_size", 1, kMaxMicroBatch * kMaxGradAccum * kMaxGpus);
  apply_ds_precision(ds, train_node, path, c.train.precision);
  check_optimizer(ds["optimizer"], path, c.train.optimizer);
  check_communication_data_type(ds["communication_data_type"], path, c.train.precision);
}

void resolve_train_batch_size(RunConfig& c) {
  ZeroSpec& z = c.zero;
  if (!z.train_batch_size) return;
  const int64_t batch = *z.train_batch_size, gpus = c.cluster.gpus;
  // runtime/config.py _set_batch_related_parameters: what is missing is derived by floor division
  // (neither given: no accumulation, micro-batch = train_batch_size / GPUs).
  if (!z.micro_batch_given && !z.grad_accum_given) {
    c.train.grad_accum = 1;
    c.train.micro_batch = std::clamp<int64_t>(batch / gpus, 1, kMaxMicroBatch);
  } else if (!z.grad_accum_given) {
    c.train.grad_accum = std::clamp<int64_t>(batch / c.train.micro_batch / gpus, 1, kMaxGradAccum);
  } else if (!z.micro_batch_given) {
    c.train.micro_batch = std::clamp<int64_t>(batch / gpus / c.train.grad_accum, 1, kMaxMicroBatch);
  }
  const int64_t product = c.train.micro_batch * c.train.grad_accum * gpus;
  if (product != batch)
    throw ConfigError(z.deepspeed_config, "train_batch_size",
                      std::to_string(batch) + " is not micro_batch x grad_accum x GPUs = " +
                          std::to_string(c.train.micro_batch) + " x " + std::to_string(c.train.grad_accum) +
                          " x " + std::to_string(gpus) + " = " + std::to_string(product) +
                          " (DeepSpeed asserts they are equal: runtime/config.py _batch_assertion; "
                          "set it to \"auto\" or fix the numbers)");
}

void apply_zero_section(const YAML::Node& zero, const std::string& file, RunConfig& c) {
  if (present(zero)) {
    if (zero.IsScalar())
      throw ConfigError(file, "zero", "expected a mapping, e.g. zero: {stage: 3}" + line_of(zero));
    check_keys(zero, kZeroKeys, file, "zero");
    apply_block(zero, file, "zero.", c);
    // Not a ds_config key: how the run builds its model (zero_spec.h).
    if (present(zero["zero3_init"]))
      c.zero.zero3_init = read_bool(zero["zero3_init"], file, "zero.zero3_init");
  } else {
    apply_block(YAML::Node(YAML::NodeType::Map), file, "zero.", c);
  }
}

}  // namespace zerosim
