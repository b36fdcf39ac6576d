#pragma once
// What DeepSpeed's CPU offload moves between GPU and host memory, when, in which dtype, from pinned or
// pageable buffers, and what it keeps in host RAM — per DeepSpeed release (versions.deepspeed). Each
// rule cites its code in docs/reference/deepspeed-offload.md; docs/time-model.md and docs/memory-model.md
// ("CPU offload") describe the model built on it.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/run_config.h"
#include "workloads/step_graph.h"
#include "workloads/step_program.h"

namespace zerosim {

// One copy between GPU and host memory, per element of what it moves.
struct OffloadCopy {
  TransferDirection direction = TransferDirection::to_host;
  int64_t bytes_per_element = 2;
  bool pinned = true;  // page-locked host buffer: DMA at the link's rate; pageable: staged by the driver
  // The training thread waits for it (a blocking copy, or a host sync right after it), so the compute
  // stream gets no new kernel until it is done.
  bool blocks_compute = false;
  std::string what;  // task-name suffix
};

struct OffloadPlan {
  bool optimizer = false;  // offload_optimizer.device: cpu (stages 1-3)
  bool params = false;     // offload_param.device: cpu (stage 3)
  // Host memory traffic of the CPU step per element: Adam's 28 B plus the unscale and fp32 -> bf16 passes;
  // and the part of it that reads or writes pinned buffers (all on one NUMA node).
  int64_t cpu_step_bytes_per_element = 0;
  int64_t cpu_step_pinned_bytes_per_element = 0;
  // After each gradient bucket's reduction, per element of this rank's share of it: index 0 for the
  // first micro-step, 1 for the middle ones, 2 for the accumulation boundary (the last).
  std::array<std::vector<OffloadCopy>, 3> grad_copies;
  std::vector<OffloadCopy> after_step;  // the updated parameters back to the GPU (or, params-only, down)
  OffloadCopy fetch;                    // offload_param: each partition to the GPU before its all-gather

  // Elements the optimizer updates on each rank (its partition): what DeepSpeedCPUAdam runs over and
  // after_step moves.
  int64_t optimizer_numel = 0;

  const std::vector<OffloadCopy>& grad_copies_at(int micro, int64_t grad_accum) const;
};

OffloadPlan plan_offload(const RunConfig& config, const StepProgram& program);

// The pin_memory in force: the config's, else the release's default (True from DeepSpeed 0.19.5).
bool offload_pin_memory(const RunConfig& config, bool params);
// Whether stages 1-2 pin the host fp32 gradient partition: as pin_memory says, always in 0.10.0 (#4131).
bool stage12_fp32_grads_pinned(const RunConfig& config);
// Whether stages 1-2 pin the host fp32 master partition (single_partition_of_fp32_groups): always in
// 0.14.1-0.18.2, as pin_memory says from 0.18.3, never before (#5301, #7689).
bool stage12_master_pinned(const RunConfig& config);
// Whether stages 1-2 keep a bf16 staging buffer on the host for the updated partition
// (param_buffer_of_bit16_for_cpu_offload_groups, #7309: from 0.17.0), pinned as pin_memory says.
bool stage12_staging_buffer(const RunConfig& config);

}  // namespace zerosim
