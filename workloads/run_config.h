#pragma once
// A resolved run: model, PEFT, training, ZeRO, cluster and memory options, every key defaulted and
// validated. Parsed from RUN.yaml (docs/architecture.md) with --set overrides; errors are ConfigError.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "workloads/framework_versions.h"
#include "workloads/gpu_catalogue.h"
#include "workloads/host_catalogue.h"
#include "workloads/model_spec.h"
#include "workloads/peft_spec.h"
#include "workloads/zero_spec.h"

namespace zerosim {

// Input limits: with the model's (model_spec.cpp) they keep every byte and FLOP count inside 64 bits;
// run_config_from_yaml also bounds the resolved run as a whole (2^60 bytes per GPU).
inline constexpr int64_t kMaxMicroBatch = 4096;
inline constexpr int64_t kMaxSeqLen = 1 << 20;
inline constexpr int64_t kMaxGradAccum = 1 << 20;
inline constexpr int64_t kMaxGpus = 1 << 16;

// bf16 or fp16 compute with fp32 master weights and fp32 Adam states | everything bf16 | PyTorch AMP: fp32
// weights under torch.autocast to bf16 or fp16 (train.engine: pytorch only) | fp32 training: fp32 weights,
// activations and states, no autocast (docs/memory-model.md §8.7).
enum class Precision { bf16_mixed, fp16_mixed, bf16_pure, amp_bf16, amp_fp16, fp32 };
// Mixed precision keeps an fp32 master copy, fp32 Adam states and fp32 gradients in step(): the same
// bytes for bf16 and fp16 (docs/inputs.md, "DeepSpeed ds_config.json").
inline bool has_fp32_master(Precision p) { return p == Precision::bf16_mixed || p == Precision::fp16_mixed; }
// The weights themselves are fp32 and autocast casts them per op (docs/memory-model.md §8.6).
inline bool fp32_weights(Precision p) { return p == Precision::amp_bf16 || p == Precision::amp_fp16; }
// fp16 loss scaling: the gradients are unscaled and checked for overflow before each update.
inline bool fp16_loss_scaling(Precision p) { return p == Precision::fp16_mixed || p == Precision::amp_fp16; }
// How Adam runs: one fused multi-tensor kernel (DeepSpeed's FusedAdam, torch fused=True) or PyTorch's
// foreach implementation (torch.optim.AdamW's default on CUDA, what HF Trainer's adamw_torch uses).
// train.optimizer: torch.optim.AdamW fused or foreach, or bitsandbytes' AdamW (bitsandbytes/optim/adamw.py,
// as HF Trainer's optim names build it; docs/memory-model.md §10): 8-bit blockwise or 32-bit states, and
// paged (states of 1e5+ elements in CUDA unified memory, outside PyTorch's allocator) or not.
enum class OptimizerImpl { fused, foreach, bnb_8bit, bnb_32bit, bnb_paged_8bit, bnb_paged_32bit };
inline bool bitsandbytes_optimizer(OptimizerImpl o) {
  return o != OptimizerImpl::fused && o != OptimizerImpl::foreach;
}
inline bool bitsandbytes_8bit(OptimizerImpl o) {
  return o == OptimizerImpl::bnb_8bit || o == OptimizerImpl::bnb_paged_8bit;
}
inline bool bitsandbytes_paged(OptimizerImpl o) {
  return o == OptimizerImpl::bnb_paged_8bit || o == OptimizerImpl::bnb_paged_32bit;
}
// Which code computes the logits and the loss (train.loss; docs/memory-model.md "Logits and loss"):
// hf: the model's own forward (transformers' ForCausalLMLoss by versions.transformers, or Qwen-v1's remote
//     code) under HF Trainer, whose compute_loss drops the model output before backward;
// hf_keep_outputs: the same code under a loop that keeps `outputs` (and so the logits) until the next
//     forward returns (peft's method_comparison run.py);
// chunked: torchtune's chunked output + CEWithChunkedOutputLoss (8 chunks, eager);
// fused_linear_ce: Liger Kernel's LigerFusedLinearCrossEntropy (the logits never materialised whole);
// litgpt: litgpt's lm_head_chunk_size=128 + chunked_cross_entropy, the logits list kept by the loop.
enum class LossImpl { hf, hf_keep_outputs, chunked, fused_linear_ce, litgpt };
// Who wraps the model (docs/inputs.md, "train.engine"). deepspeed: deepspeed.initialize's engine (HF Trainer
// or accelerate with a ds_config, or a DeepSpeed script) casts the parameters to the precision's dtype and
// its optimizer keeps the fp32 master weights. pytorch: no DeepSpeed (HF Trainer or accelerate without a
// ds_config, peft's own loops, a plain loop): the parameters stay as loaded (bf16) and as peft left them,
// torch.optim.AdamW updates them in their own dtype, and the *-mixed precisions mean torch.autocast.
enum class TrainingEngine { deepspeed, pytorch };
// The loop around forward, backward and step (docs/inputs.md, "train.loop"; docs/time-model.md, "The
// training loop"): HF Trainer's (directly or under TRL, axolotl, LLaMA-Factory, ms-swift), whose
// per-micro-step host work is modelled, or a plain loop that does nothing else.
enum class TrainingLoop { hf_trainer, plain };

struct TrainSpec {
  int64_t micro_batch = 1;
  int64_t seq_len = 2048;
  int64_t grad_accum = 1;
  bool activation_checkpointing = false;
  bool flash_attention = true;
  // The step is captured as CUDA graphs and replayed (docs/time-model.md, "The host that launches kernels"):
  // no per-kernel host cost. Refused with ZeRO-3 (its fetch hooks are Python) and with CPU offload.
  bool cuda_graphs = false;
  Precision precision = Precision::bf16_mixed;
  // train.precision fp32: the matmuls run in TF32 on the tensor cores (torch.backends.cuda.matmul.allow_tf32,
  // HF TrainingArguments.tf32) instead of fp32 on the CUDA cores. Refused with the other precisions.
  bool tf32 = false;
  OptimizerImpl optimizer = OptimizerImpl::fused;
  LossImpl loss = LossImpl::hf;
  // Variable-length batches: the sequence lengths of successive steps (each ≤ seq_len), replayed through
  // the caching allocator so blocks cached at earlier lengths stay reserved. Empty: every step at seq_len.
  std::vector<int64_t> seq_len_distribution;
  TrainingEngine engine = TrainingEngine::deepspeed;
  TrainingLoop loop = TrainingLoop::hf_trainer;
  // The loop reads every micro-step's loss on the host (HF Trainer's logging_nan_inf_filter test, a
  // `loss.item()` in a hand-written loop), so the training thread waits for the GPU each time. Unset: HF
  // Trainer's default (logging_nan_inf_filter true) with loop hf-trainer, false with plain.
  std::optional<bool> loss_sync;
  // torch.nn.utils.clip_grad_norm_ before the update (HF TrainingArguments.max_grad_norm, 1.0 by default; a
  // plain loop's own call): 0 = no clipping. Under train.engine deepspeed the ds_config's gradient_clipping
  // governs and ZeRO's step takes the norm and scales whatever it is (docs/time-model.md).
  double max_grad_norm = 1.0;
  bool clips_gradients() const { return engine == TrainingEngine::pytorch && max_grad_norm > 0; }
  bool syncs_on_loss() const { return loss_sync.value_or(loop == TrainingLoop::hf_trainer); }
  int64_t tokens() const { return micro_batch * seq_len; }  // per micro-batch per GPU
};

struct ClusterSpec {
  std::string gpu = "a100-80gb-sxm";
  int64_t gpus = 1;
  bool gpus_set = false;  // the config sets gpus (with a platform file: else all of its GPUs)
  int64_t gpus_per_node = 8;
  std::string intra = "auto";  // auto (NVSwitch for SXM GPUs, else PCIe) | nvswitch | nvlink-bridge | pcie
  std::string inter = "ib-hdr200";  // ib-hdr200 | ib-ndr400 | roce-100g | roce-200g | none
  bool rail_optimized = true;
  // Between nodes (docs/platforms.md, "NICs as built"): NICs per node, each shared by the GPUs nearest it
  // (0: one per GPU); the NIC line rate in Gb/s (0: the fabric's); the leaf switches' down:up ratio.
  int64_t nics_per_node = 0;
  double nic_gbps = 0;
  double oversubscription = 1.0;
  // NCCL_COLLNET_ENABLE=1 with the SHARP plugin: the fabric's switches reduce all-reduces in the network
  // (only fabrics with `sharp` in platforms/interconnect.yaml).
  bool collnet = false;
  std::string platform;            // path to a SimGrid platform XML; empty = built from the keys above
  std::string nccl_algo = "auto";  // NCCL_ALGO: auto (NCCL's tuner choice) | ring | tree | nvls
  // The CPU side of every node (platforms/hosts.yaml), resolved into RunConfig::host by resolve_host.
  std::string host;  // catalogue id; empty = the GPU's usual node (GpuSpec::default_host)
  std::optional<int64_t>
      host_memory_bytes;                  // cluster.host_memory_gib: host RAM per node instead of the host's
  std::optional<int64_t> host_cpu_cores;  // cluster.host_cpu_cores: cores per node, an equal share per socket
  std::optional<int64_t> host_numa_per_socket;  // cluster.host_numa_per_socket: the BIOS's NPS/SNC setting
  int pcie_gen = 0;  // cluster.pcie_gen: 3 | 4 | 5 instead of the GPU's own generation; 0 = auto (the GPU's)
  // How the job's processes start, which decides DeepSpeedCPUAdam's OpenMP threads (docs/time-model.md,
  // "CPU offload"): deepspeed (no OMP_NUM_THREADS: every core of the node, shared) | torchrun
  // (OMP_NUM_THREADS=1 with more than one process per node). cluster.cpu_threads_per_rank sets the threads
  // outright.
  std::string launcher = "deepspeed";
  std::optional<int64_t> cpu_threads_per_rank;
  int64_t cpu_threads(int64_t node_cores) const;  // per rank
  int64_t nodes() const { return (gpus + gpus_per_node - 1) / gpus_per_node; }
  int64_t ranks_per_node() const { return std::min(gpus, gpus_per_node); }  // ranks sharing a node's host
};

// PyTorch's caching allocator as PYTORCH_CUDA_ALLOC_CONF sets it (memory.allocator; docs/memory-model.md §5).
struct AllocatorConfig {
  bool expandable_segments = false;
  std::optional<int64_t> max_split_size_mb;  // unset: PyTorch's default, no limit
  int64_t roundup_power2_divisions = 0;      // 0: off (PyTorch's default); else a power of two ≥ 2
};

// How reserved memory is found and what lives outside the tensors the step allocates: see
// docs/memory-model.md for the evidence.
struct MemoryOptions {
  // Unset: the step's allocations replayed through the caching allocator (the default). Set: the former
  // fixed factor, reserved − allocated = fragmentation · (activations + temporaries + buffers), for users
  // who measured their own ratio.
  std::optional<double> fragmentation;
  AllocatorConfig allocator;
  std::optional<int64_t> cuda_context_bytes;  // default: the GPU catalogue's
  std::optional<int64_t> nccl_buffer_bytes;   // default: 0 on one GPU, else see memory_model
};

struct RunConfig {
  std::string file;  // where it came from (for messages)
  ModelSpec model;
  PeftSpec peft;
  TrainSpec train;
  ZeroSpec zero;
  ClusterSpec cluster;
  GpuSpec gpu;
  HostSpec host;  // resolve_host(cluster, gpu); a platform file's CPU hosts override it (apply_platform_file)
  MemoryOptions memory;
  FrameworkVersions versions;
  // The run config's `quantization` key, or the model's config.json quantization_config (not both).
  QuantSpec quantization;
  std::string calibration;  // path or empty
  // `calibration: {file, allow_cpu_device: true}`: the user accepts a CPU-measured file for a GPU target
  // (refused otherwise: CPU times transferred to a GPU are rough, docs/calibration.md).
  bool calibration_allow_cpu_device = false;

  nlohmann::json echo() const;  // the resolved config, every key explicit (JSON "config")
};

// One `--set key=value` (dotted key; value parsed as YAML so lists and numbers work).
struct Override {
  std::string key;
  std::string value;
};
Override parse_override(const std::string& text);  // "zero.stage=3"

RunConfig load_run_config(const std::string& path, const std::vector<Override>& overrides = {});
RunConfig run_config_from_yaml(YAML::Node root, const std::string& file,
                               const std::vector<Override>& overrides = {});
// Applies overrides to a raw config tree (also used by sweeps to set axis values).
void apply_override(YAML::Node& root, const Override& o, const std::string& file);

// The host every node has: cluster.host (else the GPU's usual node) with cluster.host_memory_gib and
// cluster.host_cpu_cores applied. ConfigError naming `file` and the key (host_key for an unknown host,
// cores_key for cores that do not split evenly over the host's sockets).
HostSpec resolve_host(const ClusterSpec& cluster, const GpuSpec& gpu, const std::string& file = "",
                      const std::string& host_key = "cluster.host",
                      const std::string& cores_key = "cluster.host_cpu_cores");

const char* precision_name(Precision p);
// "bf16-mixed" | "fp16-mixed" | "bf16-pure" | "amp-bf16" | "amp-fp16"; "fp32" and anything else: ConfigError
// naming file and key.
Precision parse_precision(const YAML::Node& node, const std::string& file, const std::string& key);
const char* optimizer_name(OptimizerImpl o);
// Every train.optimizer value, in the enum's order, and the one a (valid) name stands for.
const std::vector<std::string>& optimizer_names();
OptimizerImpl optimizer_impl(const std::string& name);
// "hf" | "hf-keep-outputs" | "chunked" | "fused-linear-ce" | "litgpt"
const char* loss_impl_name(LossImpl l);
const char* engine_name(TrainingEngine e);
const char* loop_name(TrainingLoop l);  // "hf-trainer" | "plain"

}  // namespace zerosim
