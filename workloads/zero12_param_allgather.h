#pragma once
// DeepSpeed ZeRO-1/2's all-gather of the updated 16-bit partitions at the end of step()
// (stage_1_and_2.py step -> runtime/utils.py all_gather_dp_groups). Up to 0.12.3 it runs in
// max(1, partition x world // allgather_bucket_size) shards, each a list dist.all_gather of one slice per
// rank, which torch's ProcessGroupNCCL::allgather stages through a flat temporary (newLikeFlat) and copies
// out into the slices, one copy per rank (from 0.10.2, #4167, not at a data-parallel world of 1). From
// 0.12.4 (#4705), where torch has all_gather_into_tensor (NCCL does), all_gather_into_tensor_dp_groups
// gathers straight into the flat group in one call: allgather_bucket_size has no effect (docs/time-model.md
// and docs/memory-model.md, "ZeRO-1/2's parameter all-gather").
#include <cstdint>

#include "workloads/run_config.h"

namespace zerosim {

struct Zero12ParamAllGather {
  int64_t shards = 1;               // dist.all_gather calls, one after the other
  int64_t shard_elements = 0;       // per rank, every shard but the last
  int64_t last_shard_elements = 0;  // per rank, the last (the rest of the partition)
  bool through_flat_copy = false;   // a flat temporary of world x shard elements, copied out per rank

  int64_t elements_of(int64_t shard) const {
    return shard + 1 == shards ? last_shard_elements : shard_elements;
  }
  // The largest flat temporary, in elements: world x the largest shard.
  int64_t largest_flat_elements(int64_t world) const;
};

// `partition_elements`: this rank's partition of the flat trainable group (optimizer_partition_numel).
Zero12ParamAllGather zero12_param_allgather(const RunConfig& config, int64_t partition_elements);

}  // namespace zerosim
