#include "workloads/run_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "workloads/config_error.h"
#include "workloads/deepspeed_config.h"
#include "workloads/peft_release_features.h"
#include "workloads/units.h"
#include "workloads/yaml_read.h"
#include "workloads/zero_offload.h"

namespace zerosim {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::bf16_mixed:
      return "bf16-mixed";
    case Precision::fp16_mixed:
      return "fp16-mixed";
    case Precision::amp_bf16:
      return "amp-bf16";
    case Precision::amp_fp16:
      return "amp-fp16";
    case Precision::fp32:
      return "fp32";
    default:
      return "bf16-pure";
  }
}
const char* optimizer_name(OptimizerImpl o) {
  switch (o) {
    case OptimizerImpl::fused:
      return "fused";
    case OptimizerImpl::foreach:
      return "foreach";
    case OptimizerImpl::bnb_8bit:
      return "bnb-8bit";
    case OptimizerImpl::bnb_32bit:
      return "bnb-32bit";
    case OptimizerImpl::bnb_paged_8bit:
      return "bnb-paged-8bit";
    default:
      return "bnb-paged-32bit";
  }
}
namespace {
constexpr OptimizerImpl kOptimizerImpls[] = {OptimizerImpl::fused,          OptimizerImpl::foreach,
                                             OptimizerImpl::bnb_8bit,       OptimizerImpl::bnb_32bit,
                                             OptimizerImpl::bnb_paged_8bit, OptimizerImpl::bnb_paged_32bit};
}  // namespace

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const OptimizerImpl o : kOptimizerImpls) out.emplace_back(optimizer_name(o));
    return out;
  }();
  return names;
}

OptimizerImpl optimizer_impl(const std::string& name) {
  for (const OptimizerImpl o : kOptimizerImpls)
    if (name == optimizer_name(o)) return o;
  throw std::invalid_argument("unknown optimizer " + name);
}

const char* engine_name(TrainingEngine e) { return e == TrainingEngine::deepspeed ? "deepspeed" : "pytorch"; }
const char* loop_name(TrainingLoop l) { return l == TrainingLoop::hf_trainer ? "hf-trainer" : "plain"; }

const char* loss_impl_name(LossImpl l) {
  switch (l) {
    case LossImpl::hf:
      return "hf";
    case LossImpl::hf_keep_outputs:
      return "hf-keep-outputs";
    case LossImpl::chunked:
      return "chunked";
    case LossImpl::fused_linear_ce:
      return "fused-linear-ce";
    case LossImpl::litgpt:
      return "litgpt";
  }
  return "?";
}

int64_t ClusterSpec::cpu_threads(int64_t node_cores) const {
  if (cpu_threads_per_rank) return *cpu_threads_per_rank;
  // torch.distributed.run sets OMP_NUM_THREADS=1 when more than one process runs per node; the DeepSpeed
  // launcher leaves it unset (only --bind_cores_to_rank sets it), so OpenMP uses every core it may
  // (docs/reference/deepspeed-offload.md §6).
  return launcher == "torchrun" && ranks_per_node() > 1 ? 1 : node_cores;
}

namespace {

const std::vector<std::string> kTopKeys = {"model",     "peft",     "train",       "zero",
                                           "deepspeed", "cluster",  "platform",    "calibration",
                                           "memory",    "versions", "quantization"};
const std::vector<std::string> kPeftKeys = {"method",
                                            "r",
                                            "alpha",
                                            "dropout",
                                            "target_modules",
                                            "use_rslora",
                                            "adapter",
                                            "rank_pattern",
                                            "alpha_pattern",
                                            "exclude_modules",
                                            "layers_to_transform",
                                            "layers_pattern",
                                            "modules_to_save",
                                            "bias",
                                            "autocast_adapter_dtype"};
const std::vector<std::string> kTrainKeys = {"micro_batch",
                                             "seq_len",
                                             "grad_accum",
                                             "activation_checkpointing",
                                             "flash_attention",
                                             "precision",
                                             "optimizer",
                                             "loss",
                                             "seq_len_distribution",
                                             "engine",
                                             "cuda_graphs",
                                             "tf32",
                                             "loop",
                                             "loss_sync",
                                             "max_grad_norm"};
// train.seq_len_distribution: at most this many steps are replayed (each one a step program and a replay).
constexpr size_t kMaxSeqLenSteps = 256;
const std::vector<std::string> kSeqLenShapes = {"fixed", "ramp"};
const std::vector<std::string> kClusterKeys = {"gpu",
                                               "gpus",
                                               "gpus_per_node",
                                               "intra",
                                               "inter",
                                               "rail_optimized",
                                               "nics_per_node",
                                               "nic_gbps",
                                               "oversubscription",
                                               "collnet",
                                               "platform",
                                               "nccl_algo",
                                               "host",
                                               "host_memory_gib",
                                               "host_cpu_cores",
                                               "host_numa_per_socket",
                                               "pcie_gen",
                                               "launcher",
                                               "cpu_threads_per_rank"};
// NIC line rates up to 1.6 Tb/s (XDR), leaf oversubscription up to 16:1.
constexpr double kMaxNicGbps = 1600;
constexpr double kMaxOversubscription = 16;
const std::vector<std::string> kLaunchers = {"deepspeed", "torchrun"};
const std::vector<std::string> kPcieGens = {"auto", "3", "4", "5"};  // platforms/interconnect.yaml pcie.gens
// Host RAM per node and cores per node: up to 1 PiB and 65536 cores, far beyond any server.
constexpr double kMaxHostMemoryGiB = 1048576;
constexpr int64_t kMaxHostCores = 65536;
// NUMA nodes per socket: AMD offers NPS1/2/4 and Intel SNC2/4; 64 leaves room for what comes next.
constexpr int64_t kMaxNumaPerSocket = 64;
const std::vector<std::string> kNcclAlgos = {"auto", "ring", "tree", "nvls", "nvlstree", "collnet", "pat"};
const std::vector<std::string> kCalibrationKeys = {"file", "allow_cpu_device"};
const std::vector<std::string> kMemoryKeys = {"fragmentation", "allocator", "cuda_context_gib",
                                              "nccl_buffers_gib"};
const std::vector<std::string> kAllocatorKeys = {"expandable_segments", "max_split_size_mb",
                                                 "roundup_power2_divisions"};
const std::vector<std::string> kIntra = {"auto", "nvswitch", "nvlink-bridge", "pcie"};
const std::vector<std::string> kInter = {"ib-hdr200", "ib-ndr400", "roce-100g", "roce-200g", "none"};

// The step's byte counts are int64 sums of products of the model's shapes and the micro-batch
// (step_program.cpp, memory_model.cpp). The per-key limits alone would allow, e.g., 2^32 tokens x an
// MLP width of 2^23 x 2^14 layers; so the resolved run is bounded as a whole: a generous upper bound
// of what one GPU would hold, computed in double, must stay below 2^60 bytes (1 EiB, 1/8 of int64).
// Past it the run is rejected naming the key that drives the size, rather than overflowing.
constexpr double kMaxStepBytes = 1152921504606846976.0;  // 2^60

void check_step_size(const RunConfig& c, const std::string& file) {
  const ModelSpec& m = c.model;
  const double b = static_cast<double>(c.train.micro_batch), s = static_cast<double>(c.train.seq_len);
  const double T = b * s, layers = static_cast<double>(m.layers);
  double per_token_layer = 32.0 * static_cast<double>(m.hidden) + 8.0 * static_cast<double>(m.intermediate);
  double weights = static_cast<double>(m.vocab) * static_cast<double>(m.hidden) * 2;
  double dora_temp = 0;
  for (const auto& l : m.layer_linears) {
    const double i = static_cast<double>(l.d_in), o = static_cast<double>(l.d_out);
    per_token_layer += 4.0 * (i + o);
    weights += layers * i * (o + 1);
    dora_temp = std::max(dora_temp, i * i + i * static_cast<double>(c.peft.max_rank()) + 3 * i * o);
  }
  const double states = 20.0 * weights;                             // bf16 + fp32 master, Adam, grads
  const double activations = layers * T * per_token_layer * 2 * 4;  // bf16, x4 for DoRA and recompute
  const double eager = c.train.flash_attention ? 0.0 : layers * b * static_cast<double>(m.heads) * s * s * 8;
  const double logits = T * static_cast<double>(m.vocab) * 16;  // bf16 + fp32 logits and grads
  const double total = states + activations + eager + logits + 4 * dora_temp;
  if (total <= kMaxStepBytes) return;
  const std::string size = std::to_string(static_cast<long double>(total) / 1152921504606846976.0L);
  const std::string why = "about " + size.substr(0, size.find('.') + 3) +
                          " EiB per GPU, beyond zerosim's arithmetic limit of 2^60 bytes (1 EiB)";
  if (eager >= activations && eager >= logits && eager >= states)
    throw ConfigError(file, "train.seq_len",
                      std::to_string(c.train.seq_len) +
                          " with eager attention (micro_batch x heads x seq_len^2 "
                          "probabilities per layer) needs " +
                          why +
                          "; lower train.seq_len or set "
                          "train.flash_attention: true");
  if (states >= activations && states >= logits)
    throw ConfigError(file, "model", "the model's states need " + why);
  throw ConfigError(file, "train.micro_batch",
                    "micro_batch x seq_len = " + std::to_string(c.train.micro_batch * c.train.seq_len) +
                        " tokens per micro-batch need " + why + "; lower train.micro_batch or train.seq_len");
}

std::string resolve_path(const std::string& value, const std::string& file) {
  namespace fs = std::filesystem;
  fs::path p(value);
  std::error_code ec;  // a name longer than NAME_MAX: the throwing fs::exists raises filesystem_error
  if (p.is_relative() && !fs::exists(p, ec) && !file.empty()) {
    fs::path alt = fs::path(file).parent_path() / p;
    if (fs::exists(alt, ec)) return alt.string();
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
    const std::string m = read_one_of(node["method"], file, "peft.method", {"none", "lora", "dora"});
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
  if (present(node["autocast_adapter_dtype"]))
    p.autocast_adapter_dtype = read_bool(node["autocast_adapter_dtype"], file, "peft.autocast_adapter_dtype");
  if (present(node["target_modules"]))
    p.target_modules = read_string_list(node["target_modules"], file, "peft.target_modules");
  if (present(node["target_modules"]) || !present(node["adapter"])) p.adapter_file.clear();
  read_peft_selection(node, p, file, "peft.", false);
  resolve_targets(p, model, file);
  if (const std::string w = base_model_mismatch(p, model); !w.empty()) p.warnings.push_back(w);
  return p;
}

// `fixed` (every step at seq_len), `ramp` (8 steps at seq_len·k/8, k = 1..8: each step longer than any
// before it, the order in which the cache helps least) or a list of lengths, one per step.
std::vector<int64_t> parse_seq_len_distribution(const YAML::Node& node, int64_t seq_len,
                                                const std::string& file) {
  const std::string key = "train.seq_len_distribution";
  std::vector<int64_t> lengths;
  if (!node.IsSequence()) {
    if (read_one_of(node, file, key, kSeqLenShapes) == "ramp")
      for (int64_t k = 1; k <= 8; ++k) lengths.push_back(std::max<int64_t>(1, (seq_len * k + 7) / 8));
    return lengths;
  }
  if (node.size() == 0 || node.size() > kMaxSeqLenSteps)
    throw ConfigError(file, key,
                      "a list of 1 to " + std::to_string(kMaxSeqLenSteps) +
                          " sequence lengths (one per step; a sample of a dataset's lengths), or one of: " +
                          join(kSeqLenShapes) + line_of(node));
  for (size_t i = 0; i < node.size(); ++i)
    lengths.push_back(read_int_in(node[i], file, key + "[" + std::to_string(i) + "]", 1, seq_len));
  return lengths;
}

TrainSpec parse_train(const YAML::Node& node, const std::string& file) {
  TrainSpec t;
  if (!present(node)) return t;
  check_keys(node, kTrainKeys, file, "train");
  if (present(node["micro_batch"]))
    t.micro_batch = read_int_in(node["micro_batch"], file, "train.micro_batch", 1, kMaxMicroBatch);
  if (present(node["seq_len"]))
    t.seq_len = read_int_in(node["seq_len"], file, "train.seq_len", 1, kMaxSeqLen);
  if (present(node["grad_accum"]))
    t.grad_accum = read_int_in(node["grad_accum"], file, "train.grad_accum", 1, kMaxGradAccum);
  if (present(node["activation_checkpointing"]))
    t.activation_checkpointing =
        read_bool(node["activation_checkpointing"], file, "train.activation_checkpointing");
  if (present(node["flash_attention"]))
    t.flash_attention = read_bool(node["flash_attention"], file, "train.flash_attention");
  if (present(node["precision"])) t.precision = parse_precision(node["precision"], file, "train.precision");
  if (present(node["optimizer"]))
    t.optimizer = optimizer_impl(read_one_of(node["optimizer"], file, "train.optimizer", optimizer_names()));
  if (present(node["loss"])) {
    const std::string l = read_one_of(node["loss"], file, "train.loss",
                                      {"hf", "hf-keep-outputs", "chunked", "fused-linear-ce", "litgpt"});
    for (const LossImpl impl : {LossImpl::hf, LossImpl::hf_keep_outputs, LossImpl::chunked,
                                LossImpl::fused_linear_ce, LossImpl::litgpt})
      if (l == loss_impl_name(impl)) t.loss = impl;
  }
  if (present(node["seq_len_distribution"]))
    t.seq_len_distribution = parse_seq_len_distribution(node["seq_len_distribution"], t.seq_len, file);
  if (present(node["engine"]))
    t.engine = read_one_of(node["engine"], file, "train.engine", {"deepspeed", "pytorch"}) == "deepspeed"
                   ? TrainingEngine::deepspeed
                   : TrainingEngine::pytorch;
  if (present(node["cuda_graphs"])) t.cuda_graphs = read_bool(node["cuda_graphs"], file, "train.cuda_graphs");
  if (present(node["tf32"])) t.tf32 = read_bool(node["tf32"], file, "train.tf32");
  if (present(node["loop"]))
    t.loop = read_one_of(node["loop"], file, "train.loop", {"hf-trainer", "plain"}) == "plain"
                 ? TrainingLoop::plain
                 : TrainingLoop::hf_trainer;
  if (present(node["loss_sync"])) t.loss_sync = read_bool(node["loss_sync"], file, "train.loss_sync");
  if (present(node["max_grad_norm"])) {
    t.max_grad_norm = read_double(node["max_grad_norm"], file, "train.max_grad_norm");
    if (!(t.max_grad_norm >= 0) || !std::isfinite(t.max_grad_norm))
      throw ConfigError(file, "train.max_grad_norm",
                        "must be a finite number >= 0 (0: no gradient clipping; HF Trainer's default 1.0)");
  }
  return t;
}

ClusterSpec parse_cluster(const YAML::Node& node, const std::string& file) {
  ClusterSpec c;
  if (!present(node)) return c;
  check_keys(node, kClusterKeys, file, "cluster");
  if (present(node["gpu"])) c.gpu = read_string(node["gpu"], file, "cluster.gpu");
  if (present(node["gpus"])) {
    c.gpus = read_int_in(node["gpus"], file, "cluster.gpus", 1, kMaxGpus);
    c.gpus_set = true;
  }
  if (present(node["gpus_per_node"]))
    c.gpus_per_node = read_int_in(node["gpus_per_node"], file, "cluster.gpus_per_node", 1, 64);
  if (present(node["intra"])) c.intra = read_one_of(node["intra"], file, "cluster.intra", kIntra);
  if (present(node["inter"])) c.inter = read_one_of(node["inter"], file, "cluster.inter", kInter);
  if (present(node["rail_optimized"]))
    c.rail_optimized = read_bool(node["rail_optimized"], file, "cluster.rail_optimized");
  if (present(node["nics_per_node"]) && node["nics_per_node"].Scalar() != "auto")
    c.nics_per_node = read_int_in(node["nics_per_node"], file, "cluster.nics_per_node", 1, 64);
  if (present(node["nic_gbps"]) && node["nic_gbps"].Scalar() != "auto") {
    c.nic_gbps = read_double(node["nic_gbps"], file, "cluster.nic_gbps");
    if (!(c.nic_gbps >= 1 && c.nic_gbps <= kMaxNicGbps))
      throw ConfigError(file, "cluster.nic_gbps",
                        "must be from 1 to " + std::to_string(static_cast<int>(kMaxNicGbps)) +
                            " (Gb/s per NIC, e.g. 100, 200, 400, 800; auto = the fabric's)" +
                            line_of(node["nic_gbps"]));
  }
  if (present(node["oversubscription"])) {
    c.oversubscription = read_double(node["oversubscription"], file, "cluster.oversubscription");
    if (!(c.oversubscription >= 1 && c.oversubscription <= kMaxOversubscription))
      throw ConfigError(
          file, "cluster.oversubscription",
          "must be from 1 (non-blocking) to " + std::to_string(static_cast<int>(kMaxOversubscription)) +
              " (leaf down-link to up-link bandwidth, e.g. 2 for 2:1)" + line_of(node["oversubscription"]));
  }
  if (present(node["collnet"])) c.collnet = read_bool(node["collnet"], file, "cluster.collnet");
  if (c.nics_per_node > c.gpus_per_node)
    throw ConfigError(
        file, "cluster.nics_per_node",
        std::to_string(c.nics_per_node) + " NICs for " + std::to_string(c.gpus_per_node) +
            " GPUs per node: at most one per GPU (allowed: auto or 1 to cluster.gpus_per_node)");
  if (present(node["platform"]))
    c.platform = resolve_path(read_string(node["platform"], file, "cluster.platform"), file);
  if (present(node["nccl_algo"]))
    c.nccl_algo = read_one_of(node["nccl_algo"], file, "cluster.nccl_algo", kNcclAlgos);
  if (present(node["host"])) c.host = read_one_of(node["host"], file, "cluster.host", host_ids());
  if (present(node["host_memory_gib"])) {
    const double gib = read_double(node["host_memory_gib"], file, "cluster.host_memory_gib");
    if (!(gib > 0) || gib > kMaxHostMemoryGiB)
      throw ConfigError(file, "cluster.host_memory_gib",
                        "must be more than 0 and at most " +
                            std::to_string(static_cast<int64_t>(kMaxHostMemoryGiB)) +
                            " GiB (host RAM per node)" + line_of(node["host_memory_gib"]));
    c.host_memory_bytes = std::llround(gib * kBytesPerGiB);
  }
  if (present(node["host_cpu_cores"]))
    c.host_cpu_cores = read_int_in(node["host_cpu_cores"], file, "cluster.host_cpu_cores", 1, kMaxHostCores);
  if (present(node["host_numa_per_socket"]))
    c.host_numa_per_socket =
        read_int_in(node["host_numa_per_socket"], file, "cluster.host_numa_per_socket", 1, kMaxNumaPerSocket);
  if (present(node["pcie_gen"])) {
    const std::string gen = read_one_of(node["pcie_gen"], file, "cluster.pcie_gen", kPcieGens);
    c.pcie_gen = gen == "auto" ? 0 : std::stoi(gen);
  }
  if (present(node["launcher"]))
    c.launcher = read_one_of(node["launcher"], file, "cluster.launcher", kLaunchers);
  if (present(node["cpu_threads_per_rank"]) && node["cpu_threads_per_rank"].Scalar() != "auto")
    c.cpu_threads_per_rank =
        read_int_in(node["cpu_threads_per_rank"], file, "cluster.cpu_threads_per_rank", 1, kMaxHostCores);
  if (c.inter == "none" && c.gpus > c.gpus_per_node && c.platform.empty())
    throw ConfigError(file, "cluster.inter",
                      "'none' but cluster.gpus = " + std::to_string(c.gpus) + " needs " +
                          std::to_string(c.nodes()) + " nodes of " + std::to_string(c.gpus_per_node) +
                          " (allowed: " + join({kInter.begin(), kInter.end() - 1}) + ")");
  return c;
}

// memory.allocator: the PYTORCH_CUDA_ALLOC_CONF options that change reserved memory, with PyTorch's own
// limits (CUDAAllocatorConfig::parseMaxSplitSize, parseRoundUpPower2Divisions).
AllocatorConfig parse_allocator(const YAML::Node& node, const std::string& file) {
  AllocatorConfig a;
  if (!present(node)) return a;
  if (!node.IsMap())
    throw ConfigError(file, "memory.allocator",
                      "a map of " + join(kAllocatorKeys) + " (PYTORCH_CUDA_ALLOC_CONF)" + line_of(node));
  check_keys(node, kAllocatorKeys, file, "memory.allocator");
  if (present(node["expandable_segments"]))
    a.expandable_segments =
        read_bool(node["expandable_segments"], file, "memory.allocator.expandable_segments");
  if (present(node["max_split_size_mb"]))
    // PyTorch refuses 20 MiB and less (kLargeBuffer): blocks that size must stay splittable.
    a.max_split_size_mb = read_int_in(node["max_split_size_mb"], file, "memory.allocator.max_split_size_mb",
                                      21, int64_t{1} << 30);
  if (present(node["roundup_power2_divisions"])) {
    const std::string key = "memory.allocator.roundup_power2_divisions";
    a.roundup_power2_divisions = read_int_in(node["roundup_power2_divisions"], file, key, 0, 1 << 20);
    const int64_t d = a.roundup_power2_divisions;
    if (d == 1 || (d & (d - 1)) != 0)
      throw ConfigError(file, key,
                        std::to_string(d) + " is not allowed (allowed: 0 for off, or a power of two >= 2)");
  }
  return a;
}

MemoryOptions parse_memory(const YAML::Node& node, const std::string& file) {
  MemoryOptions m;
  if (!present(node)) return m;
  check_keys(node, kMemoryKeys, file, "memory");
  auto gib = [&](const char* key) {
    const double v = read_double(node[key], file, std::string("memory.") + key);
    if (v < 0 || v > 1024) throw ConfigError(file, std::string("memory.") + key, "must be in [0, 1024] GiB");
    return static_cast<int64_t>(std::llround(v * kBytesPerGiB));
  };
  // `replay` (the default) or a fixed fraction that replaces the replay.
  if (present(node["fragmentation"]) && node["fragmentation"].Scalar() != "replay") {
    const double f = read_double(node["fragmentation"], file, "memory.fragmentation");
    if (f < 0 || f > 1)
      throw ConfigError(
          file, "memory.fragmentation",
          "must be 'replay' (the caching allocator replayed, the default) or a fixed fraction of "
          "the dynamic peak in [0, 1]");
    m.fragmentation = f;
    if (present(node["allocator"]))
      throw ConfigError(file, "memory.allocator",
                        "has no effect with a fixed memory.fragmentation (" + node["fragmentation"].Scalar() +
                            "): remove one (memory.fragmentation: replay replays the allocator)");
  }
  m.allocator = parse_allocator(node["allocator"], file);
  if (present(node["cuda_context_gib"])) m.cuda_context_bytes = gib("cuda_context_gib");
  if (present(node["nccl_buffers_gib"])) m.nccl_buffer_bytes = gib("nccl_buffers_gib");
  return m;
}

// `calibration: PATH` or `calibration: {file: PATH, allow_cpu_device: BOOL}`.
void parse_calibration(const YAML::Node& node, const std::string& file, RunConfig& c) {
  if (!node.IsMap()) {
    c.calibration = resolve_path(read_string(node, file, "calibration"), file);
    return;
  }
  check_keys(node, kCalibrationKeys, file, "calibration");
  if (!present(node["file"]))
    throw ConfigError(file, "calibration.file", "missing: the calibration file's path" + line_of(node));
  c.calibration = resolve_path(read_string(node["file"], file, "calibration.file"), file);
  if (present(node["allow_cpu_device"]))
    c.calibration_allow_cpu_device =
        read_bool(node["allow_cpu_device"], file, "calibration.allow_cpu_device");
}

}  // namespace

Precision parse_precision(const YAML::Node& node, const std::string& file, const std::string& key) {
  const std::string p =
      read_one_of(node, file, key, {"bf16-mixed", "fp16-mixed", "bf16-pure", "amp-bf16", "amp-fp16", "fp32"});
  return p == "bf16-mixed"   ? Precision::bf16_mixed
         : p == "fp16-mixed" ? Precision::fp16_mixed
         : p == "amp-bf16"   ? Precision::amp_bf16
         : p == "amp-fp16"   ? Precision::amp_fp16
         : p == "fp32"       ? Precision::fp32
                             : Precision::bf16_pure;
}

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

namespace {

// The override whose value a key of the merged config came from: the last one setting the key or a
// section holding it. nullptr when the key's value came from the file.
const Override* override_of(const std::string& key, const std::vector<Override>& overrides) {
  for (auto o = overrides.rbegin(); o != overrides.rend(); ++o)
    if (key == o->key || key.rfind(o->key + ".", 0) == 0) return &*o;
  return nullptr;
}

RunConfig parse_run_config(YAML::Node root, const std::string& file);

}  // namespace

RunConfig run_config_from_yaml(YAML::Node root, const std::string& file,
                               const std::vector<Override>& overrides) {
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap())
    throw ConfigError(file, "", "a run config is a mapping of sections (" + join(kTopKeys) + ")");
  for (const auto& o : overrides) apply_override(root, o, file);
  try {
    return parse_run_config(root, file);
  } catch (const ConfigError& e) {
    // A bad value given with --set is the flag's fault, not the file's.
    if (e.file() == file && override_of(e.key(), overrides)) throw ConfigError("--set", e.key(), e.message());
    throw;
  }
}

namespace {

// Without DeepSpeed's engine there is no ZeRO and no ds_config to read.
void check_engine(const RunConfig& c, const std::string& ds_path, const std::string& file) {
  if (fp32_weights(c.train.precision) && c.train.engine != TrainingEngine::pytorch)
    throw ConfigError(
        file, "train.precision",
        std::string(precision_name(c.train.precision)) +
            " (fp32 weights under torch.autocast) needs train.engine: pytorch; DeepSpeed's engine casts "
            "the weights to bf16/fp16 (bf16-mixed, fp16-mixed) or trains in fp32 (train.precision fp32)");
  if (c.train.cuda_graphs && c.zero.stage == 3)
    throw ConfigError(
        file, "train.cuda_graphs",
        "ZeRO-3 fetches and releases parameters from Python hooks on every module call, which a "
        "captured CUDA graph cannot replay (allowed with cuda_graphs: zero.stage 0, 1, 2)");
  if (c.train.cuda_graphs && c.zero.offloads())
    throw ConfigError(file, "train.cuda_graphs",
                      "CPU offload runs DeepSpeedCPUAdam and host copies between the GPU kernels, which a "
                      "captured CUDA graph cannot replay (allowed with cuda_graphs: no zero.offload_*)");
  // Under DeepSpeed a bitsandbytes optimizer is the client optimizer of the engine's fp32 master partitions
  // (docs/memory-model.md §11): modelled with an fp32 master (bf16-mixed, fp16-mixed) and no CPU offload
  // (DeepSpeed's offload runs its own DeepSpeedCPUAdam: zero_force_ds_cpu_optimizer).
  if (bitsandbytes_optimizer(c.train.optimizer) && c.train.engine == TrainingEngine::deepspeed &&
      (!has_fp32_master(c.train.precision) || c.zero.offloads()))
    throw ConfigError(
        file, "train.optimizer",
        std::string(optimizer_name(c.train.optimizer)) +
            " under DeepSpeed is modelled with an fp32 master copy (train.precision bf16-mixed, "
            "fp16-mixed) and without zero.offload_* (DeepSpeed offloads to its own "
            "DeepSpeedCPUAdam)");
  if (bitsandbytes_optimizer(c.train.optimizer) && c.train.cuda_graphs)
    throw ConfigError(file, "train.cuda_graphs",
                      "bitsandbytes' optimizers call torch.cuda.synchronize() after every parameter's update "
                      "(optim/optimizer.py Optimizer8bit.step), which a captured CUDA graph cannot contain "
                      "(allowed with cuda_graphs: train.optimizer fused, foreach)");
  if (c.train.engine != TrainingEngine::pytorch) return;
  if (!ds_path.empty())
    throw ConfigError(file, "train.engine",
                      "pytorch means no DeepSpeed, but the run reads a ds_config (" + ds_path +
                          "); use train.engine: deepspeed");
  if (c.zero.stage != 0)
    throw ConfigError(file, "train.engine",
                      "ZeRO stage " + std::to_string(c.zero.stage) +
                          " needs DeepSpeed's engine (allowed with pytorch: zero.stage 0)");
}

// fp32 training (train.precision: fp32; docs/memory-model.md §8.7): what is modelled with it.
void check_fp32(const RunConfig& c, const std::string& file) {
  const bool fp32 = c.train.precision == Precision::fp32;
  if (c.train.tf32 && !fp32)
    throw ConfigError(file, "train.tf32",
                      std::string("TF32 changes fp32 matmuls only; with train.precision ") +
                          precision_name(c.train.precision) +
                          " the GEMMs run in bf16/fp16 (allowed with tf32: true: train.precision fp32)");
  if (!fp32) return;
  if (c.train.loss != LossImpl::hf && c.train.loss != LossImpl::hf_keep_outputs)
    throw ConfigError(file, "train.loss",
                      std::string(loss_impl_name(c.train.loss)) +
                          " with train.precision fp32 is not modelled (its chunk and copy pattern is written "
                          "for bf16 logits; allowed with fp32: hf, hf-keep-outputs)");
  if (bitsandbytes_optimizer(c.train.optimizer))
    throw ConfigError(file, "train.optimizer",
                      std::string(optimizer_name(c.train.optimizer)) +
                          " with train.precision fp32 is not modelled (its update kernel's bytes are "
                          "bitsandbytes' for 16-bit parameters; allowed with fp32: fused, foreach)");
  if (c.zero.offloads())
    throw ConfigError(file, "train.precision",
                      "fp32 training with zero.offload_* is not modelled (DeepSpeed's offload copies are "
                      "modelled for bf16/fp16 parameters and gradients; allowed with fp32: no offload)");
}

// What a model brings that only some setups model (Gemma-2's soft-capping and sliding window).
void check_model_features(const RunConfig& c, const std::string& file) {
  const ModelSpec& m = c.model;
  if (m.final_logit_softcap > 0 && c.train.loss != LossImpl::hf && c.train.loss != LossImpl::hf_keep_outputs)
    throw ConfigError(
        file, "train.loss",
        std::string(loss_impl_name(c.train.loss)) + " with final_logit_softcapping (" + m.name +
            ") is not modelled: the soft-capped logits are transformers' (allowed: hf, hf-keep-outputs)");
  if (m.attn_logit_softcap > 0 && !c.train.flash_attention)
    throw ConfigError(
        file, "train.flash_attention",
        "false with attn_logit_softcapping (" + m.name +
            "): eager attention's soft-capped scores are not modelled (flash-attn >= 2.6 applies the "
            "soft-cap in its kernel: flash_attention true)");
  if (m.sliding_window > 0 && c.train.seq_len > m.sliding_window)
    throw ConfigError(file, "train.seq_len",
                      std::to_string(c.train.seq_len) + " is longer than " + m.name + "'s sliding window (" +
                          std::to_string(m.sliding_window) +
                          "): its windowed layers' attention is not modelled (allowed: seq_len <= " +
                          std::to_string(m.sliding_window) + ")");
}

// QLoRA (quantization.h): from the run config's key or the model's config.json, never both, and only where
// the libraries train it and zerosim models it.
void resolve_quantization(const YAML::Node& node, const std::string& file, RunConfig& c) {
  if (present(node)) {
    if (c.model.quantization.on())
      throw ConfigError(file, "quantization",
                        "the model's config.json (" + c.model.quantization.source +
                            ") has a quantization_config already; keep one of the two");
    c.quantization = parse_quantization(node, file);
  } else {
    c.quantization = c.model.quantization;
  }
  if (!c.quantization.on()) return;
  const std::string key = present(node) ? "quantization" : "model";
  if (c.peft.method == PeftMethod::none)
    throw ConfigError(
        file, key,
        "4-bit weights are frozen: full fine-tuning of a quantized model is refused by transformers "
        "(use peft.method lora or dora: QLoRA)");
  if (c.zero.stage == 3 && c.quantization.int8())
    throw ConfigError(
        file, key,
        "LLM.int8() under ZeRO-3 (partitioning Int8Params and their row scales) is not modelled "
        "(allowed with method int8: zero.stage 0, 1, 2)");
  if (c.zero.stage == 3 && c.versions.bitsandbytes < Version{0, 43, 0})
    throw ConfigError(file, "versions.bitsandbytes",
                      c.versions.bitsandbytes.text() +
                          ": QLoRA under ZeRO-3 needs bitsandbytes' quant_storage, which arrived in 0.43.0 "
                          "(functional.py quantize_4bit) (allowed with zero.stage 3: 0.43.0 and later)");
  if (c.zero.stage == 3 && c.versions.transformers < Version{4, 39, 0})
    throw ConfigError(file, "versions.transformers",
                      c.versions.transformers.text() +
                          ": QLoRA under ZeRO-3 needs transformers' bnb_4bit_quant_storage and its ZeRO-3 "
                          "loading path (v4.39.0, PR #29587) (allowed with zero.stage 3: 4.39 and later)");
  if (c.zero.stage == 3 && c.quantization.storage_bytes != 2)
    throw ConfigError(
        file, key,
        "QLoRA under ZeRO-3 with quant_storage " + c.quantization.storage +
            " is not modelled: DeepSpeed partitions and all-gathers the packed 4-bit weight as a tensor of "
            "the storage dtype, which peft's and transformers' ZeRO-3 recipes set to the model's 16-bit "
            "dtype (allowed with zero.stage 3: quant_storage bf16, fp16; bnb_4bit_quant_storage bfloat16, "
            "float16)");
  if (c.zero.offloads())
    throw ConfigError(file, key, "QLoRA with CPU offload is not modelled (allowed: no zero.offload_*)");
  if (c.train.precision != Precision::bf16_mixed && c.train.precision != Precision::bf16_pure &&
      c.train.precision != Precision::fp16_mixed)
    throw ConfigError(file, key,
                      std::string("train.precision ") + precision_name(c.train.precision) +
                          " with 4-bit weights is not modelled (allowed: bf16-mixed, bf16-pure, fp16-mixed)");
}

RunConfig parse_run_config(YAML::Node root, const std::string& file) {
  check_keys(root, kTopKeys, file, "");

  RunConfig c;
  c.file = file;
  const std::string model_name =
      present(root["model"]) ? read_string(root["model"], file, "model") : "llama2-7b";
  c.model = load_model(model_name, file, "model");
  c.peft = parse_peft(root["peft"], c.model, file);
  c.train = parse_train(root["train"], file);
  c.cluster = parse_cluster(root["cluster"], file);
  if (present(root["platform"]))
    c.cluster.platform = resolve_path(read_string(root["platform"], file, "platform"), file);
  c.gpu = find_gpu(c.cluster.gpu, file, "cluster.gpu");
  c.host = resolve_host(c.cluster, c.gpu, file);
  c.memory = parse_memory(root["memory"], file);
  c.versions = parse_versions(root["versions"], file);
  check_peft_release(c, file);
  if (c.memory.allocator.expandable_segments && c.versions.torch < Version{2, 1, 0})
    throw ConfigError(file, "versions.torch",
                      c.versions.torch.text() +
                          ": PYTORCH_CUDA_ALLOC_CONF expandable_segments arrived in PyTorch 2.1.0 (#96995) "
                          "(allowed with memory.allocator.expandable_segments: 2.1 and later)");
  if (present(root["calibration"])) parse_calibration(root["calibration"], file, c);

  // ZeRO: a DeepSpeed ds_config.json first (top-level `deepspeed:` or `zero.deepspeed:`), then explicit keys.
  const YAML::Node zero = root["zero"];
  std::string ds_path;
  if (present(root["deepspeed"])) ds_path = read_string(root["deepspeed"], file, "deepspeed");
  if (present(zero) && zero.IsMap() && present(zero["deepspeed"]))
    ds_path = read_string(zero["deepspeed"], file, "zero.deepspeed");
  if (!ds_path.empty()) apply_deepspeed_config(resolve_path(ds_path, file), root["train"], c);
  apply_zero_section(zero, file, c);
  check_engine(c, ds_path, file);
  resolve_quantization(root["quantization"], file, c);
  check_fp32(c, file);
  check_model_features(c, file);
  if (c.cluster.platform.empty() || c.cluster.gpus_set) resolve_train_batch_size(c);
  check_step_size(c, file);
  return c;
}

}  // namespace

HostSpec resolve_host(const ClusterSpec& cluster, const GpuSpec& gpu, const std::string& file,
                      const std::string& host_key, const std::string& cores_key) {
  HostSpec host = find_host(cluster.host.empty() ? gpu.default_host : cluster.host, file, host_key);
  if (cluster.host_memory_bytes) host.memory_bytes = *cluster.host_memory_bytes;
  if (cluster.host_numa_per_socket) host.numa_per_socket = *cluster.host_numa_per_socket;
  if (cluster.host_cpu_cores) {
    // Every socket gets the same share: a platform has one CPU host per socket, all alike.
    const int64_t cores = *cluster.host_cpu_cores, s = host.sockets;
    if (cores % s != 0) {
      const int64_t below = cores / s * s, above = below + s;
      throw ConfigError(file, cores_key,
                        std::to_string(cores) + " cores do not split evenly over the " + std::to_string(s) +
                            " sockets of host '" + host.id + "' (allowed: a multiple of " +
                            std::to_string(s) + ", e.g. " +
                            (below > 0 ? std::to_string(below) + " or " : "") + std::to_string(above) + ")");
    }
    host.cores_per_socket = cores / s;
  }
  return host;
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
      if (peft.adapted[i] && std::find(targets.begin(), targets.end(), name) == targets.end())
        targets.push_back(name);
    }
    p.update({{"r", peft.r},
              {"alpha", peft.alpha},
              {"dropout", peft.dropout},
              {"use_rslora", peft.use_rslora},
              {"target_modules", targets}});
    // Only where set, so the echo of a config without them is unchanged.
    if (!peft.uniform()) p["layers_adapted"] = peft.layers_adapted();
    for (const auto& [key, r] : peft.rank_pattern) p["rank_pattern"][key] = r;
    for (const auto& [key, a] : peft.alpha_pattern) p["alpha_pattern"][key] = a;
    if (!peft.modules_to_save.empty()) p["modules_to_save"] = peft.modules_to_save;
    p["autocast_adapter_dtype"] = peft.autocast_adapter_dtype;
  }
  nlohmann::json cl = {
      {"gpu", cluster.gpu},
      {"gpus", cluster.gpus},
      {"gpus_per_node", cluster.gpus_per_node},
      {"intra", cluster.intra},
      {"inter", cluster.inter},
      {"rail_optimized", cluster.rail_optimized},
      {"nics_per_node",
       cluster.nics_per_node > 0 ? nlohmann::json(cluster.nics_per_node) : nlohmann::json("auto")},
      {"nic_gbps", cluster.nic_gbps > 0 ? nlohmann::json(cluster.nic_gbps) : nlohmann::json("auto")},
      {"oversubscription", cluster.oversubscription},
      {"collnet", cluster.collnet},
      {"nccl_algo", cluster.nccl_algo},
      {"host", host.id},
      {"host_memory_gib", static_cast<double>(host.memory_bytes) / kBytesPerGiB},
      {"host_cpu_cores", host.cores()},
      {"host_numa_per_socket", host.numa_per_socket},
      {"pcie_gen", cluster.pcie_gen > 0 ? nlohmann::json(cluster.pcie_gen) : nlohmann::json("auto")},
      {"launcher", cluster.launcher},
      {"cpu_threads_per_rank", cluster.cpu_threads(host.cores())}};
  if (!cluster.platform.empty()) cl["platform"] = cluster.platform;
  const AllocatorConfig& a = memory.allocator;
  nlohmann::json mem = {
      {"fragmentation",
       memory.fragmentation ? nlohmann::json(*memory.fragmentation) : nlohmann::json("replay")},
      {"allocator",
       {{"expandable_segments", a.expandable_segments},
        {"max_split_size_mb", a.max_split_size_mb ? nlohmann::json(*a.max_split_size_mb) : nlohmann::json()},
        {"roundup_power2_divisions", a.roundup_power2_divisions}}}};
  if (memory.cuda_context_bytes)
    mem["cuda_context_gib"] = static_cast<double>(*memory.cuda_context_bytes) / kBytesPerGiB;
  if (memory.nccl_buffer_bytes)
    mem["nccl_buffers_gib"] = static_cast<double>(*memory.nccl_buffer_bytes) / kBytesPerGiB;
  nlohmann::json out = {{"model", model.name},
                        {"peft", p},
                        {"train",
                         {{"micro_batch", train.micro_batch},
                          {"seq_len", train.seq_len},
                          {"grad_accum", train.grad_accum},
                          {"activation_checkpointing", train.activation_checkpointing},
                          {"flash_attention", train.flash_attention},
                          {"precision", precision_name(train.precision)},
                          {"optimizer", optimizer_name(train.optimizer)},
                          {"loss", loss_impl_name(train.loss)},
                          {"engine", engine_name(train.engine)},
                          {"cuda_graphs", train.cuda_graphs},
                          {"loop", loop_name(train.loop)},
                          {"loss_sync", train.syncs_on_loss()},
                          {"max_grad_norm", train.max_grad_norm}}},
                        {"zero",
                         {{"stage", zero.stage},
                          {"reduce_bucket_size", zero.reduce_bucket_size},
                          {"allgather_bucket_size", zero.allgather_bucket_size},
                          {"stage3_prefetch_bucket_size", zero.stage3_prefetch_bucket_size},
                          {"stage3_max_live_parameters", zero.stage3_max_live_parameters},
                          {"stage3_max_reuse_distance", zero.stage3_max_reuse_distance},
                          {"stage3_param_persistence_threshold", zero.stage3_param_persistence_threshold},
                          {"sub_group_size", zero.sub_group_size},
                          {"overlap_comm", zero.overlap()},
                          {"contiguous_gradients", zero.contiguous_gradients},
                          {"offload_optimizer", zero.offload_optimizer},
                          {"offload_param", zero.offload_param},
                          {"zero3_init", zero.zero3_init}}},
                        {"cluster", cl},
                        {"memory", mem},
                        {"versions",
                         {{"deepspeed", versions.deepspeed.text()},
                          {"transformers", versions.transformers.text()},
                          {"peft", versions.peft.text()},
                          {"nccl", versions.nccl.text()},
                          {"bitsandbytes", versions.bitsandbytes.text()},
                          {"torch", versions.torch.text()}}}};
  if (quantization.on())
    out["quantization"] = {{"method", quant_method_name(quantization.method)},
                           {"double_quant", quantization.double_quant},
                           {"compute_dtype", quantization.compute_dtype},
                           {"skip_modules", quantization.skip_modules},
                           {"prepare_kbit_training", quantization.prepare_kbit_training},
                           {"source", quantization.source}};
  if (quantization.int8()) out["quantization"]["threshold"] = quantization.int8_threshold;
  if (quantization.on() && !quantization.int8()) out["quantization"]["quant_storage"] = quantization.storage;
  // Only where set, so the echo of a fixed-length config is unchanged.
  if (!train.seq_len_distribution.empty()) out["train"]["seq_len_distribution"] = train.seq_len_distribution;
  if (train.precision == Precision::fp32) out["train"]["tf32"] = train.tf32;
  if (zero.offload_optimizer != "none")
    out["zero"]["offload_optimizer_pin_memory"] = offload_pin_memory(*this, false);
  if (zero.offload_param != "none") out["zero"]["offload_param_pin_memory"] = offload_pin_memory(*this, true);
  if (!calibration.empty())
    out["calibration"] = calibration_allow_cpu_device
                             ? nlohmann::json{{"file", calibration}, {"allow_cpu_device", true}}
                             : nlohmann::json(calibration);
  return out;
}

}  // namespace zerosim
