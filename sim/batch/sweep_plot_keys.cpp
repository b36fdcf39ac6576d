#include "sim/batch/sweep_plot_keys.h"

#include <map>

#include "sim/batch/sweep_results.h"
#include "workloads/units.h"

namespace zerosim {

namespace {

// Where a metric may live in a row when the user leaves out its section ("comm_s" for "time.comm_s").
const char* const kSections[] = {"time", "throughput", "memory", "memory.breakdown"};

constexpr double kMs = 1e3;                    // s → ms
constexpr double kToGiB = 1.0 / kBytesPerGiB;  // bytes → GiB
constexpr double kPercent = 100;               // fraction → %

// Keyed by the path in the row, config keys without their "config." prefix.
const std::map<std::string, PlotAxis>& known_axes() {
  static const std::map<std::string, PlotAxis> axes = {
      {"cluster.gpus", {"GPUs", 1}},
      {"cluster.gpus_per_node", {"GPUs per node", 1}},
      {"cluster.host_memory_gib", {"host memory per node (GiB)", 1}},
      {"cluster.host_cpu_cores", {"CPU cores per node", 1}},
      {"cluster.pcie_gen", {"PCIe generation", 1}},
      {"zero.stage", {"ZeRO stage", 1}},
      {"peft.r", {"LoRA/DoRA rank r", 1}},
      {"peft.alpha", {"LoRA/DoRA alpha", 1}},
      {"train.micro_batch", {"micro-batch (sequences per GPU)", 1}},
      {"train.seq_len", {"sequence length (tokens)", 1}},
      {"train.grad_accum", {"gradient accumulation steps", 1}},
      {"time.step_s", {"step time (ms)", kMs}},
      {"time.forward_s", {"forward time per step (ms)", kMs}},
      {"time.backward_s", {"backward time per step (ms)", kMs}},
      {"time.optimizer_s", {"optimizer time per step (ms)", kMs}},
      {"time.overhead_s", {"framework overhead per step (ms)", kMs}},
      {"time.comm_s", {"communication time per step (ms)", kMs}},
      {"time.exposed_comm_s", {"exposed communication per step (ms)", kMs}},
      {"time.comm_bytes_per_rank", {"communication per GPU per step (GiB)", kToGiB}},
      {"throughput.tokens_per_s", {"throughput (tokens/s)", 1}},
      {"throughput.tokens_per_s_per_gpu", {"throughput per GPU (tokens/s)", 1}},
      {"throughput.mfu", {"model FLOPs utilisation (%)", kPercent}},
      {"memory.peak_bytes", {"peak memory per GPU (GiB)", kToGiB}},
      {"memory.peak_allocated_bytes", {"peak allocated memory per GPU (GiB)", kToGiB}},
      {"memory.peak_reserved_bytes", {"peak reserved memory per GPU (GiB)", kToGiB}},
      {"memory.capacity_bytes", {"GPU memory capacity (GiB)", kToGiB}},
      {"memory.fits", {"fits in GPU memory (1 = yes)", 1}},
      {"memory.breakdown.frozen_params", {"frozen parameters per GPU (GiB)", kToGiB}},
      {"memory.breakdown.trainable_params", {"trainable parameters per GPU (GiB)", kToGiB}},
      {"memory.breakdown.gradients", {"gradients per GPU (GiB)", kToGiB}},
      {"memory.breakdown.optimizer_states", {"optimizer states per GPU (GiB)", kToGiB}},
      {"memory.breakdown.activations", {"activations per GPU (GiB)", kToGiB}},
      {"memory.breakdown.temporaries", {"temporaries per GPU (GiB)", kToGiB}},
      {"memory.breakdown.buffers", {"gradient buckets per GPU (GiB)", kToGiB}},
      {"memory.breakdown.runtime_overhead", {"CUDA/NCCL runtime per GPU (GiB)", kToGiB}},
      {"memory.breakdown.fragmentation", {"allocator fragmentation per GPU (GiB)", kToGiB}},
      {"params.trainable", {"trainable parameters", 1}},
      {"params.frozen", {"frozen parameters", 1}},
      {"params.total", {"parameters", 1}},
  };
  return axes;
}

// The table's entry for a key written any way plot_lookup accepts.
const PlotAxis* known_axis(const std::string& key) {
  const auto& axes = known_axes();
  std::vector<std::string> candidates = {key};
  if (key.rfind("config.", 0) == 0) candidates.push_back(key.substr(7));
  for (const auto& [name, path] : headline_columns())
    if (name == key) candidates.push_back(path);
  for (const char* section : kSections) candidates.push_back(std::string(section) + "." + key);
  for (const auto& c : candidates)
    if (const auto it = axes.find(c); it != axes.end()) return &it->second;
  return nullptr;
}

}  // namespace

const nlohmann::json* plot_lookup(const nlohmann::json& row, const std::string& key) {
  if (row.contains("axes") && row["axes"].contains(key)) return &row["axes"][key];
  if (const auto* v = at_path(row, key)) return v;
  if (row.contains("config"))
    if (const auto* v = at_path(row["config"], key)) return v;
  for (const auto& [name, path] : headline_columns())
    if (name == key) return at_path(row, path);
  for (const char* section : kSections)
    if (const auto* s = at_path(row, section))
      if (const auto* v = at_path(*s, key)) return v;
  return nullptr;
}

std::string plot_text(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

PlotAxis plot_axis(const std::string& key) {
  if (const PlotAxis* known = known_axis(key)) return *known;
  if (key.ends_with("_s")) return {key + " (ms)", kMs};
  if (key.ends_with("_bytes") || key.find("breakdown.") != std::string::npos) return {key + " (GiB)", kToGiB};
  return {key, 1};
}

}  // namespace zerosim
