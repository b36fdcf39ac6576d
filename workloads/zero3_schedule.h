#pragma once
// Which parameters ZeRO-3 gathers before each op, prefetches after starting it and releases after
// it, following DeepSpeed's PartitionedParameterCoordinator in steady state (trace complete):
// fetch what the module needs, prefetch the next modules of the trace up to
// min(stage3_max_live_parameters − live, stage3_prefetch_bucket_size) elements, and release a
// module unless its next use is within stage3_max_reuse_distance elements of trace.
#include <cstdint>
#include <vector>

#include "workloads/step_program.h"
#include "workloads/zero_spec.h"

namespace zerosim {

int64_t zero3_partition_numel(int64_t numel, int64_t ranks);  // ⌈numel/N⌉: DeepSpeed pads to a multiple of N
// Trainable elements one rank's optimizer partition holds: every trainable one at stage 0; stages 1-2 split
// one flat group of them, ⌈Σ/N⌉; stage 3 partitions each tensor, Σ⌈numel/N⌉.
int64_t optimizer_partition_numel(const std::vector<ParamModule>& modules, int stage, int64_t ranks);
// The trainable tensors of that partition as rank 0's optimizer walks them, elements each: every weight and
// bias at stage 0; its slice of the flat group at stages 1-2 (a tensor crossing the slice's end cut there);
// each tensor's partition at stage 3.
std::vector<int64_t> optimizer_partition_tensors(const std::vector<ParamModule>& modules, int stage,
                                                 int64_t ranks);

// ZeRO-3 steps the optimizer one sub-group at a time (DeepSpeed runtime/zero/stage3.py
// _create_fp16_sub_groups, unchanged 0.10-0.19): the trainable tensors in order, a group closing once its
// partitions reach `sub_group_size` elements (0: every tensor its own group; all of them in one group when
// they do not reach it). Returns the largest group's partition elements, which bounds the fp32 gradient
// step() allocates per group (_prepare_fp32_grad_for_sub_group, freed by _release_sub_group).
int64_t largest_optimizer_sub_group(const std::vector<ParamModule>& modules, int64_t ranks,
                                    int64_t sub_group_size);
// Every sub-group's partition elements, in order (their fp32 flat tensors are what the optimizer updates).
std::vector<int64_t> optimizer_sub_groups(const std::vector<ParamModule>& modules, int64_t ranks,
                                          int64_t sub_group_size);
// The fp32 flat tensors DeepSpeed's optimizer updates on one rank (its master partitions, which a client
// optimizer sees as its parameters): one flat partition of every trainable element at stages 0-2 (one param
// group), each sub-group's at stage 3.
std::vector<int64_t> optimizer_flat_partitions(const std::vector<ParamModule>& modules, int stage,
                                               int64_t ranks, int64_t sub_group_size);
bool zero3_persistent(int64_t tensor_numel, int64_t threshold);

// Elements of a module that ZeRO-3 partitions (tensors above the persistence threshold; a packed 4-bit
// weight counts its 16-bit storage elements, as DeepSpeed's ds_numel does).
int64_t zero3_gathered_numel(const ParamModule& module, int64_t threshold);

struct Zero3Schedule {
  std::vector<int64_t> gathered_numel;  // per module
  // Per op of the micro-step in execution order (forward ops, then backward ops):
  std::vector<std::vector<int>> fetch_before;    // blocking all-gathers the op waits for
  std::vector<std::vector<int>> prefetch_after;  // all-gathers issued ahead once the op starts
  std::vector<std::vector<int>> release_after;   // partitioned again once the op ends
  int64_t gathered_numel_per_micro_step = 0;     // Σ over every fetch and prefetch
};

Zero3Schedule plan_zero3(const StepProgram& program, const ZeroSpec& zero);

}  // namespace zerosim
