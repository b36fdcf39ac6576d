#include "workloads/deepspeed_config.h"

#include "workloads/config_error.h"
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
                                            "overlap_comm",
                                            "contiguous_gradients",
                                            "offload_optimizer",
                                            "offload_param",
                                            "deepspeed"};

bool present(const YAML::Node& n) { return n && !n.IsNull(); }
bool is_auto(const YAML::Node& n) { return n.IsScalar() && n.Scalar() == "auto"; }

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
  const std::string d = read_string(device, file, key);
  if (d != "none" && d != "cpu")
    throw ConfigError(file, key, "'" + d + "' is not supported" + line_of(device) + " (allowed: none, cpu)");
  return d;
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
  if (present(z["overlap_comm"]))
    s.overlap_comm = read_bool(z["overlap_comm"], file, prefix + "overlap_comm");
  if (present(z["contiguous_gradients"]))
    s.contiguous_gradients = read_bool(z["contiguous_gradients"], file, prefix + "contiguous_gradients");
  if (present(z["offload_optimizer"]))
    s.offload_optimizer = device_of(z["offload_optimizer"], file, prefix + "offload_optimizer");
  if (present(z["offload_param"]))
    s.offload_param = device_of(z["offload_param"], file, prefix + "offload_param");
  if (s.offload_param != "none" && s.stage != 3)
    throw ConfigError(file, prefix + "offload_param",
                      "parameter offload needs ZeRO stage 3 (DeepSpeed rejects it otherwise)");
  if (s.offload_optimizer != "none" && s.stage == 0)
    throw ConfigError(file, prefix + "offload_optimizer", "optimizer offload needs ZeRO stage 1, 2 or 3");
}

// `max` is the run config's own limit for the key (run_config.cpp), so a ds_config.json cannot
// bring in a value RUN.yaml would reject.
void train_from_ds(const YAML::Node& ds, const char* ds_key, const YAML::Node& train_node,
                   const char* train_key, const std::string& path, int64_t& target, int64_t max) {
  const YAML::Node n = ds[ds_key];
  if (!present(n) || is_auto(n)) return;  // "auto": the run config's value (HF Trainer semantics)
  const int64_t v = read_int_in(n, path, ds_key, 1, max);
  if (present(train_node) && train_node.IsMap() && present(train_node[train_key])) {
    if (target != v)
      throw ConfigError(path, ds_key,
                        std::to_string(v) + " disagrees with train." + train_key + " = " +
                            std::to_string(target) +
                            " in the run config (make them equal or set it to \"auto\")");
    return;
  }
  target = v;
}

}  // namespace

void apply_deepspeed_config(const std::string& path, const YAML::Node& train_node, RunConfig& c) {
  const YAML::Node ds = parse_yaml_file(path, "DeepSpeed config");
  if (!ds.IsMap()) throw ConfigError(path, "", "not a DeepSpeed config (expected a JSON object)");
  c.zero.deepspeed_config = path;
  const YAML::Node z = ds["zero_optimization"];
  if (present(z)) {
    if (!z.IsMap()) throw ConfigError(path, "zero_optimization", "expected an object" + line_of(z));
    apply_block(z, path, "zero_optimization.", c);
  }
  train_from_ds(ds, "train_micro_batch_size_per_gpu", train_node, "micro_batch", path, c.train.micro_batch,
                kMaxMicroBatch);
  train_from_ds(ds, "gradient_accumulation_steps", train_node, "grad_accum", path, c.train.grad_accum,
                kMaxGradAccum);
  const YAML::Node fp16 = ds["fp16"];
  if (present(fp16) && fp16.IsMap() && present(fp16["enabled"]) && !is_auto(fp16["enabled"]) &&
      read_bool(fp16["enabled"], path, "fp16.enabled"))
    throw ConfigError(path, "fp16.enabled",
                      "fp16 training is not modelled (zerosim models bf16; set bf16.enabled)");
}

void apply_zero_section(const YAML::Node& zero, const std::string& file, RunConfig& c) {
  if (present(zero)) {
    if (zero.IsScalar())
      throw ConfigError(file, "zero", "expected a mapping, e.g. zero: {stage: 3}" + line_of(zero));
    check_keys(zero, kZeroKeys, file, "zero");
    apply_block(zero, file, "zero.", c);
  } else {
    apply_block(YAML::Node(YAML::NodeType::Map), file, "zero.", c);
  }
}

}  // namespace zerosim
