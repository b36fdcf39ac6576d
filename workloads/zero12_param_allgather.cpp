#include "workloads/zero12_param_allgather.h"

#include <algorithm>

namespace zerosim {

int64_t Zero12ParamAllGather::largest_flat_elements(int64_t world) const {
  return through_flat_copy ? world * std::max(shard_elements, last_shard_elements) : 0;
}

Zero12ParamAllGather zero12_param_allgather(const RunConfig& c, int64_t partition_elements) {
  Zero12ParamAllGather g;
  g.shard_elements = g.last_shard_elements = partition_elements;
  const Version v = c.versions.deepspeed;
  const int64_t world = c.cluster.gpus;
  if (v >= Version{0, 12, 4}) return g;                // #4705: all_gather_into_tensor_dp_groups
  if (world == 1 && v >= Version{0, 10, 2}) return g;  // #4167: no gather at a data-parallel world of 1
  // runtime/utils.py all_gather_dp_groups (0.10.0-0.12.3): num_shards = max(1, numel * dp_world_size //
  // allgather_bucket_size); shard_size = numel // num_shards, less shard_size % start_alignment_factor
  // (stage_1_and_2.py nccl_start_alignment_factor = 2); the last shard takes the rest.
  const int64_t bucket = std::max<int64_t>(c.zero.allgather_bucket_size, 1);
  g.shards = std::max<int64_t>(1, partition_elements * world / bucket);
  int64_t shard = partition_elements / g.shards;
  shard -= shard % 2;
  g.shard_elements = shard;
  g.last_shard_elements = partition_elements - (g.shards - 1) * shard;
  g.through_flat_copy = true;
  return g;
}

}  // namespace zerosim
