#pragma once
// Host RAM that DeepSpeed's CPU offload allocates on each node (docs/memory-model.md, "CPU offload"): per
// rank the fp32 master partition, Adam's exp_avg and exp_avg_sq, the gradient buffers CPU Adam reads, the
// bf16 staging buffer, and with offload_param the rank's bf16 parameter partitions; pinned or not as the
// DeepSpeed release does it. A node holds as many ranks as it has GPUs in use. What the processes need
// besides (Python, CUDA's host side, the model load at start-up) is not counted (docs/memory-model.md).
#include <array>
#include <cstdint>

#include "workloads/run_config.h"
#include "workloads/step_program.h"

namespace zerosim {

// staging_buffers: the bf16 copy the updated partition goes up from; pinned_rounding: what PyTorch's pinned
// allocator adds by rounding each pinned buffer up to a power of two.
enum class HostMemComponent {
  master_params,
  optimizer_states,
  gradients,
  staging_buffers,
  offloaded_params,
  pinned_rounding
};
constexpr size_t kHostMemComponents = 6;
const char* host_mem_component_name(HostMemComponent c);

struct HostMemory {
  std::array<int64_t, kHostMemComponents> per_rank{};  // bytes, by component
  int64_t ranks_per_node = 1;
  // The pinned buffers with their rounding: page-locked, on the NUMA node of the thread that pinned them.
  int64_t pinned_per_rank = 0;
  int64_t capacity_bytes = 0;  // the node's RAM (cluster.host / cluster.host_memory_gib)
  int64_t per_rank_total() const;
  int64_t per_node_bytes() const { return per_rank_total() * ranks_per_node; }
  bool fits() const { return per_node_bytes() <= capacity_bytes; }
};

HostMemory predict_host_memory(const RunConfig& config, const StepProgram& program);

}  // namespace zerosim
