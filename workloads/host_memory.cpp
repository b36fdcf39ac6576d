#include "workloads/host_memory.h"

#include <bit>

#include "workloads/zero3_schedule.h"
#include "workloads/zero_offload.h"

// The host buffers of DeepSpeed's CPU offload per rank, with the releases in which each is pinned
// (docs/reference/deepspeed-offload.md §5): stage_1_and_2.py and stage3.py allocate them at set-up.

namespace zerosim {

const char* host_mem_component_name(HostMemComponent c) {
  static const char* names[] = {"master_params",   "optimizer_states", "gradients",
                                "staging_buffers", "offloaded_params", "pinned_rounding"};
  return names[static_cast<size_t>(c)];
}

int64_t HostMemory::per_rank_total() const {
  int64_t t = 0;
  for (int64_t b : per_rank) t += b;
  return t;
}

namespace {

// PyTorch's CachingHostAllocator rounds every pinned allocation up to a power of two
// (ATen/core/CachingHostAllocator.h allocate: c10::llvm::PowerOf2Ceil).
int64_t pinned_excess(int64_t bytes) {
  if (bytes <= 0) return 0;
  return static_cast<int64_t>(std::bit_ceil(static_cast<uint64_t>(bytes))) - bytes;
}

}  // namespace

HostMemory predict_host_memory(const RunConfig& c, const StepProgram& program) {
  HostMemory h;
  h.ranks_per_node = c.cluster.ranks_per_node();
  h.capacity_bytes = c.host.memory_bytes;
  const OffloadPlan plan = plan_offload(c, program);
  auto add = [&](HostMemComponent component, int64_t bytes, bool pinned) {
    h.per_rank[static_cast<size_t>(component)] += bytes;
    if (!pinned) return;
    h.per_rank[static_cast<size_t>(HostMemComponent::pinned_rounding)] += pinned_excess(bytes);
    h.pinned_per_rank += bytes + pinned_excess(bytes);
  };
  if (plan.params) {
    // Each parameter's bf16 partition: zero.Init puts it on the host, pinned as offload_param.pin_memory
    // says, one allocation per parameter (partition_parameters.py Init._partition_param); the trainable
    // ones are then moved into one always-pinned flat buffer (stage3.py
    // _create_fp16_partitions_with_defragmentation: param_groups_fp16_flat_cpu_memory). Rounded per module
    // (a module's weight is nearly all of it).
    const bool pin_params = offload_pin_memory(c, true);
    int64_t trainable_partitions = 0;
    for (const auto& m : program.modules) {
      const int64_t bytes = 2 * m.copies * zero3_partition_numel(m.numel_per_copy(), c.cluster.gpus);
      if (m.trainable)
        trainable_partitions += bytes;
      else
        add(HostMemComponent::offloaded_params, bytes, pin_params);
    }
    add(HostMemComponent::offloaded_params, trainable_partitions, true);
  }
  if (!plan.optimizer) return h;
  const int64_t P = plan.optimizer_numel;
  const bool pin = offload_pin_memory(c, false);
  const bool fp32 = has_fp32_master(c.train.precision);
  const int64_t master_bytes = fp32 ? 4 : 2;  // bf16-pure: bf16 master and states (0.18.3+ options)
  const int64_t state_bytes = fp32 ? 8 : 4;   // DeepSpeedCPUAdam's exp_avg and exp_avg_sq
  if (c.zero.stage == 3) {
    add(HostMemComponent::master_params, master_bytes * P, false);  // fp32_partitioned_groups_flat
    add(HostMemComponent::gradients, master_bytes * P, pin);        // subgroup_gradient_buffer
    add(HostMemComponent::gradients, 2 * P, pin);                   // grad_partitions_flat_buffer (bf16)
  } else {
    add(HostMemComponent::master_params, master_bytes * P, stage12_master_pinned(c));
    add(HostMemComponent::gradients, master_bytes * P, stage12_fp32_grads_pinned(c));  // its .grad
    if (c.train.grad_accum > 1) add(HostMemComponent::gradients, 2 * P, pin);  // accumulated_grads_in_cpu
    if (stage12_staging_buffer(c))  // param_buffer_of_bit16_for_cpu_offload_groups
      add(HostMemComponent::staging_buffers, 2 * P, pin);
  }
  add(HostMemComponent::optimizer_states, state_bytes * P, false);
  return h;
}

}  // namespace zerosim
