#pragma once
// Host RAM that DeepSpeed's CPU offload allocates on each node (docs/memory-model.md, "CPU offload"): per
// rank the fp32 master partition, Adam's exp_avg and exp_avg_sq, the fp32 gradient partition CPU Adam
// reads, and with offload_param the rank's bf16 parameter partitions — all in pinned (page-locked)
// buffers by default. A node holds as many ranks as it has GPUs in use.
#include <array>
#include <cstdint>

#include "workloads/run_config.h"
#include "workloads/step_program.h"

namespace zerosim {

enum class HostMemComponent { master_params, optimizer_states, gradients, offloaded_params };
constexpr size_t kHostMemComponents = 4;
const char* host_mem_component_name(HostMemComponent c);

struct HostMemory {
  std::array<int64_t, kHostMemComponents> per_rank{};  // bytes, by component
  int64_t ranks_per_node = 1;
  int64_t capacity_bytes = 0;  // the node's RAM (cluster.host / cluster.host_memory_gib)
  int64_t per_rank_total() const;
  int64_t per_node_bytes() const { return per_rank_total() * ranks_per_node; }
  bool fits() const { return per_node_bytes() <= capacity_bytes; }
};

HostMemory predict_host_memory(const RunConfig& config, const StepProgram& program);

}  // namespace zerosim
