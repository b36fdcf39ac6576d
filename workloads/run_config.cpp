#include "workloads/run_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "workloads/config_error.h"
#include "workloads/deepspeed_config.h"
#include "workloads/yaml_read.h"

namespace zerosim {

const char* precision_name(Precision p) { return p == Precision::bf16_mixed ? "bf16-mixed" : "bf16-pure"; }

namespace {

const std::vector<std::string> kTopKeys = {"model",    "peft",     "train",       "zero",  "deepspeed",
                                           "cluster",  "platform", "calibration", "memory"};
const std::vector<std::string> kPeftKeys = {"method", "r", "alpha", "dropout", "target_modules", "use_rslora", "adapter"};
const std::vector<std::string> kTrainKeys = {"micro_batch",   "seq_len",         "grad_accum",
                                             "activation_checkpointing", "flash_attention", "precision"};
const std::vector<std::string> kClusterKeys = {"gpu", "gpus", "gpus_per_node", "intra", "inter", "rail_optimized", "platform"};
const std::vector<std::string> kMemoryKeys = {"fragmentation", "cuda_context_gib", "nccl_buffers_gib"};
const std::vector<std::string> kIntra = {"auto", "nvswitch", "nvlink-bridge", "pcie"};
const std::vector<std::string> kInter = {"ib-hdr200", "ib-ndr400", "roce-100g", "roce-200g", "none"};

// Input limits keep every byte and FLOP count of the models well inside 64 bits.
constexpr int64_t kMaxMicroBatch = 4096;
constexpr int64_t kMaxSeqLen = 1 << 20;
constexpr int64_t kMaxGradAccum = 1 << 20;
constexpr int64_t kMaxGpus = 1 << 16;

std::string one_of(const YAML::Node& node, const std::string& file, const std::string& key,
                   const std::vector<std::string>& allowed) {
  const std::string v = read_string(node, file, key);
  for (const auto& a : allowed)
    if (a == v) return v;
  throw ConfigError(file, key, "'" + v + "' is not allowed" + line_of(node) + " (allowed: " + join(allowed) + ")");
}

bool present(const YAML::Node& n) { return n && !n.IsNull(); }

std::string resolve_path(const std::string& value, const std::string& file) {
  namespace fs = std::filesystem;
  fs::path p(value);
  if (p.is_relative() && !fs::exists(p) && !file.empty()) {
    fs::path alt = fs::path(file).parent_path() / p;
    if (fs::exists(alt)) return alt.string();
  }
  return value;
}

std::vector<std::string> default_targets(const ModelSpec& model) {
  // peft's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING
  if (model.model_type == "qwen") return {"c_attn"};
  if (model.model_type == "mpt") return {"Wqkv"};
  return {"q_proj", "v_proj"};
}

PeftSpec parse_peft(const YAML::Node& node, const ModelSpec& model, const std::string& file) {
  PeftSpec p;
  p.target_modules = default_targets(model);
  if (!present(node)) {
    resolve_targets(p, model, file);
    return p;
  }
  check_keys(node, kPeftKeys, file, "peft");
  if (present(node["adapter"])) {
    p = peft_from_adapter_config(resolve_path(read_string(node["adapter"], file, "peft.adapter"), file));
    if (p.target_modules == std::vector<std::string>{"q_proj", "v_proj"} && !model.find_linear("q_proj"))
      p.target_modules = default_targets(model);
  }
  if (present(node["method"])) {
    const std::string m = one_of(node["method"], file, "peft.method", {"none", "lora", "dora"});
    p.method = m == "none" ? PeftMethod::none : m == "lora" ? PeftMethod::lora : PeftMethod::dora;
  }
  if (present(node["r"])) p.r = read_int_in(node["r"], file, "peft.r", 1, 1 << 20);
  if (present(node["alpha"])) {
    p.alpha = read_double(node["alpha"], file, "peft.alpha");
    if (p.alpha <= 0) throw ConfigError(file, "peft.alpha", "must be > 0" + line_of(node["alpha"]));
  }
  if (present(node["dropout"])) {
    p.dropout = read_double(node["dropout"], file, "peft.dropout");
    if (p.dropout < 0 || p.dropout >= 1)
      throw ConfigError(file, "peft.dropout", "must be in [0, 1)" + line_of(node["dropout"]));
  }
  if (present(node["use_rslora"])) p.use_rslora = read_bool(node["use_rslora"], file, "peft.use_rslora");
  if (present(node["target_modules"]))
    p.target_modules = read_string_list(node["target_modules"], file, "peft.target_modules");
  if (present(node["target_modules"]) || !present(node["adapter"])) p.adapter_file.clear();
  resolve_targets(p, model, file);
  return p;
}

TrainSpec parse_train(const YAML::Node& node, const std::string& file) {
  TrainSpec t;
  if (!present(node)) return t;
  check_keys(node, kTrainKeys, file, "train");
  if (present(node["micro_batch"]))
    t.micro_batch = read_int_in(node["micro_batch"], file, "train.micro_batch", 1, kMaxMicroBatch);
  if (present(node["seq_len"])) t.seq_len = read_int_in(node["seq_len"], file, "train.seq_len", 1, kMaxSeqLen);
  if (present(node["grad_accum"]))
    t.grad_accum = read_int_in(node["grad_accum"], file, "train.grad_accum", 1, kMaxGradAccum);
  if (present(node["activation_checkpointing"]))
    t.activation_checkpointing = read_bool(node["activation_checkpointing"], file, "train.activation_checkpointing");
  if (present(node["flash_attention"]))
    t.flash_attention = read_bool(node["flash_attention"], file, "train.flash_attention");
  if (present(node["precision"]))
    t.precision = one_of(node["precision"], file, "train.precision", {"bf16-mixed", "bf16-pure"}) == "bf16-mixed"
                      ? Precision::bf16_mixed
                      : Precision::bf16_pure;
  return t;
}

ClusterSpec parse_cluster(const YAML::Node& node, const std::string& file) {
  ClusterSpec c;
  if (!present(node)) return c;
  check_keys(node, kClusterKeys, file, "cluster");
  if (present(node["gpu"])) c.gpu = read_string(node["gpu"], file, "cluster.gpu");
  if (present(node["gpus"])) c.gpus = read_int_in(node["gpus"], file, "cluster.gpus", 1, kMaxGpus);
  if (present(node["gpus_per_node"]))
    c.gpus_per_node = read_int_in(node["gpus_per_node"], file, "cluster.gpus_per_node", 1, 64);
  if (present(node["intra"])) c.intra = one_of(node["intra"], file, "cluster.intra", kIntra);
  if (present(node["inter"])) c.inter = one_of(node["inter"], file, "cluster.inter", kInter);
  if (present(node["rail_optimized"])) c.rail_optimized = read_bool(node["rail_optimized"], file, "cluster.rail_optimized");
  if (present(node["platform"]))
    c.platform = resolve_path(read_string(node["platform"], file, "cluster.platform"), file);
  if (c.inter == "none" && c.gpus > c.gpus_per_node && c.platform.empty())
    throw ConfigError(file, "cluster.inter",
                      "'none' but cluster.gpus = " + std::to_string(c.gpus) + " needs " +
                          std::to_string(c.nodes()) + " nodes of " + std::to_string(c.gpus_per_node) +
                          " (allowed: " + join({kInter.begin(), kInter.end() - 1}) + ")");
  return c;
}

MemoryOptions parse_memory(const YAML::Node& node, const std::string& file) {
  MemoryOptions m;
  // Default allocator fragmentation: see docs/memory-model.md ("Reserved versus allocated").
  m.fragmentation = 0.10;
  if (!present(node)) return m;
  check_keys(node, kMemoryKeys, file, "memory");
  auto gib = [&](const char* key) {
    const double v = read_double(node[key], file, std::string("memory.") + key);
    if (v < 0 || v > 1024) throw ConfigError(file, std::string("memory.") + key, "must be in [0, 1024] GiB");
    return static_cast<int64_t>(std::llround(v * 1073741824.0));
  };
  if (present(node["fragmentation"])) {
    m.fragmentation = read_double(node["fragmentation"], file, "memory.fragmentation");
    if (m.fragmentation < 0 || m.fragmentation > 1)
      throw ConfigError(file, "memory.fragmentation", "must be in [0, 1] (fraction of the dynamic peak)");
  }
  if (present(node["cuda_context_gib"])) m.cuda_context_bytes = gib("cuda_context_gib");
  if (present(node["nccl_buffers_gib"])) m.nccl_buffer_bytes = gib("nccl_buffers_gib");
  return m;
}

}  // namespace

Override parse_override(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set", text, "expected key=value, e.g. --set zero.stage=3");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

void apply_override(YAML::Node& root, const Override& o, const std::string& file) {
  (void)file;
  std::vector<std::string> parts;
  std::stringstream ss(o.key);
  for (std::string part; std::getline(ss, part, '.');) {
    if (part.empty()) throw ConfigError("--set", o.key, "empty key component");
    parts.push_back(part);
  }
  const YAML::Node value = parse_yaml_text(o.value, "--set " + o.key);
  // yaml-cpp's operator[] returns handles; rebuild the path with explicit nodes.
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node child = chain.back()[parts[i]];
    if (!child || child.IsNull() || child.IsScalar()) {
      if (child && child.IsScalar())
        throw ConfigError("--set", o.key,
                          "'" + parts[i] + "' is a value, not a section (e.g. model: is a name or path)");
      chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
      child = chain.back()[parts[i]];
    }
    chain.push_back(child);
  }
  chain.back()[parts.back()] = value;
}

RunConfig run_config_from_yaml(YAML::Node root, const std::string& file, const std::vector<Override>& overrides) {
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw ConfigError(file, "", "a run config is a mapping of sections (" + join(kTopKeys) + ")");
  for (const auto& o : overrides) apply_override(root, o, file);
  check_keys(root, kTopKeys, file, "");

  RunConfig c;
  c.file = file;
  const std::string model_name = present(root["model"]) ? read_string(root["model"], file, "model") : "llama2-7b";
  c.model = load_model(model_name, file, "model");
  c.peft = parse_peft(root["peft"], c.model, file);
  c.train = parse_train(root["train"], file);
  c.cluster = parse_cluster(root["cluster"], file);
  if (present(root["platform"]))
    c.cluster.platform = resolve_path(read_string(root["platform"], file, "platform"), file);
  c.gpu = find_gpu(c.cluster.gpu, file, "cluster.gpu");
  c.memory = parse_memory(root["memory"], file);
  if (present(root["calibration"]))
    c.calibration = resolve_path(read_string(root["calibration"], file, "calibration"), file);

  // ZeRO: a DeepSpeed ds_config.json first (top-level `deepspeed:` or `zero.deepspeed:`), then explicit keys.
  const YAML::Node zero = root["zero"];
  std::string ds_path;
  if (present(root["deepspeed"])) ds_path = read_string(root["deepspeed"], file, "deepspeed");
  if (present(zero) && zero.IsMap() && present(zero["deepspeed"]))
    ds_path = read_string(zero["deepspeed"], file, "zero.deepspeed");
  if (!ds_path.empty()) apply_deepspeed_config(resolve_path(ds_path, file), root["train"], c);
  apply_zero_section(zero, file, c);
  return c;
}

RunConfig load_run_config(const std::string& path, const std::vector<Override>& overrides) {
  return run_config_from_yaml(parse_yaml_file(path, "run config"), path, overrides);
}

nlohmann::json RunConfig::echo() const {
  nlohmann::json p = {{"method", peft_method_name(peft.method)}};
  if (peft.method != PeftMethod::none) {
    std::vector<std::string> targets;
    for (size_t i = 0; i < model.layer_linears.size(); ++i) {
      const std::string& name = model.layer_linears[i].name;
      if (peft.adapted[i] && std::find(targets.begin(), targets.end(), name) == targets.end()) targets.push_back(name);
    }
    p.update({{"r", peft.r}, {"alpha", peft.alpha}, {"dropout", peft.dropout}, {"use_rslora", peft.use_rslora},
              {"target_modules", targets}});
  }
  nlohmann::json cl = {{"gpu", cluster.gpu},       {"gpus", cluster.gpus},   {"gpus_per_node", cluster.gpus_per_node},
                       {"intra", cluster.intra},   {"inter", cluster.inter}, {"rail_optimized", cluster.rail_optimized}};
  if (!cluster.platform.empty()) cl["platform"] = cluster.platform;
  nlohmann::json mem = {{"fragmentation", memory.fragmentation}};
  if (memory.cuda_context_bytes) mem["cuda_context_gib"] = static_cast<double>(*memory.cuda_context_bytes) / 1073741824.0;
  if (memory.nccl_buffer_bytes) mem["nccl_buffers_gib"] = static_cast<double>(*memory.nccl_buffer_bytes) / 1073741824.0;
  nlohmann::json out = {
      {"model", model.name},
      {"peft", p},
      {"train",
       {{"micro_batch", train.micro_batch},
        {"seq_len", train.seq_len},
        {"grad_accum", train.grad_accum},
        {"activation_checkpointing", train.activation_checkpointing},
        {"flash_attention", train.flash_attention},
        {"precision", precision_name(train.precision)}}},
      {"zero",
       {{"stage", zero.stage},
        {"reduce_bucket_size", zero.reduce_bucket_size},
        {"allgather_bucket_size", zero.allgather_bucket_size},
        {"stage3_prefetch_bucket_size", zero.stage3_prefetch_bucket_size},
        {"stage3_max_live_parameters", zero.stage3_max_live_parameters},
        {"stage3_max_reuse_distance", zero.stage3_max_reuse_distance},
        {"stage3_param_persistence_threshold", zero.stage3_param_persistence_threshold},
        {"overlap_comm", zero.overlap()},
        {"contiguous_gradients", zero.contiguous_gradients},
        {"offload_optimizer", zero.offload_optimizer},
        {"offload_param", zero.offload_param}}},
      {"cluster", cl},
      {"memory", mem}};
  if (!calibration.empty()) out["calibration"] = calibration;
  return out;
}

}  // namespace zerosim
