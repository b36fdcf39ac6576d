// DeepSpeed ZeRO-1/2's all-gather of the updated partitions after step() (workloads/zero12_param_allgather.h;
// docs/time-model.md, "ZeRO-1/2's parameter all-gather"): the shards of 0.10.0-0.12.3 worked by hand, the
// step graph's collectives and copies, and the flat temporary in the memory walk.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "compute_ops.h"
#include "tiny_llama.h"
#include "workloads/memory_model.h"
#include "workloads/step_graph.h"
#include "workloads/step_program.h"
#include "workloads/zero12_param_allgather.h"
#include "workloads/zero3_schedule.h"

using namespace zerosim;
using zerosim::testing::find_op;
using zerosim::testing::TinyLlama;

namespace {

// The tiny LLaMA fully fine-tuned under ZeRO-2: 86,848 trainable elements; on 2 GPUs each rank's
// partition is 43,424.
RunConfig zero2(const TinyLlama& tiny, const std::string& release, const std::string& bucket) {
  return tiny.config({{"peft.method", "none"},
                      {"zero.stage", "2"},
                      {"cluster.gpus", "2"},
                      {"versions.deepspeed", release},
                      {"zero.allgather_bucket_size", bucket}});
}

int count_named(const StepGraph& g, const std::string& prefix) {
  int n = 0;
  for (const auto v : boost::make_iterator_range(boost::vertices(g.graph)))
    if (g.graph[v].name.rfind(prefix, 0) == 0 && g.graph[v].kind == TaskKind::collective) ++n;
  return n;
}

}  // namespace

TEST_CASE("ZeRO-1/2 parameter all-gather: DeepSpeed 0.12.3's shards by hand, one gather from 0.12.4",
          "[zero12]") {
  TinyLlama tiny;
  // 0.12.3, allgather_bucket_size 30,000: shards = max(1, 43,424 x 2 // 30,000) = 2; shard = 43,424 // 2 =
  // 21,712 (even: no alignment trim); the last takes 43,424 - 21,712 = 21,712. Flat temporary 2 x 21,712.
  const Zero12ParamAllGather g = zero12_param_allgather(zero2(tiny, "0.12.3", "30000"), 43'424);
  CHECK(g.shards == 2);
  CHECK(g.shard_elements == 21'712);
  CHECK(g.last_shard_elements == 21'712);
  CHECK(g.through_flat_copy);
  CHECK(g.largest_flat_elements(2) == 43'424);
  // 0.12.3, bucket 25,000, a partition of 43,425: shards = 86,850 // 25,000 = 3; 43,425 // 3 = 14,475, odd,
  // trimmed to 14,474; the last 43,425 - 2 x 14,474 = 14,477; flat 2 x 14,477 = 28,954.
  const Zero12ParamAllGather odd = zero12_param_allgather(zero2(tiny, "0.12.3", "25000"), 43'425);
  CHECK(odd.shards == 3);
  CHECK(odd.shard_elements == 14'474);
  CHECK(odd.last_shard_elements == 14'477);
  CHECK(odd.largest_flat_elements(2) == 28'954);
  // 0.12.4 (#4705): all_gather_into_tensor_dp_groups, one gather straight into the flat group, no temporary.
  const Zero12ParamAllGather now = zero12_param_allgather(zero2(tiny, "0.12.4", "30000"), 43'424);
  CHECK(now.shards == 1);
  CHECK_FALSE(now.through_flat_copy);
  CHECK(now.largest_flat_elements(2) == 0);
  // One GPU: from 0.10.2 (#4167) no gather at all; 0.10.1 still gathers its whole partition through the
  // flat copy: max(1, 86,848 x 1 // 30,000) = 2 shards of 43,424.
  TinyLlama one;
  RunConfig single = zero2(one, "0.12.3", "30000");
  single.cluster.gpus = 1;
  CHECK_FALSE(zero12_param_allgather(single, 86'848).through_flat_copy);
  single.versions.deepspeed = Version{0, 10, 1};
  const Zero12ParamAllGather early = zero12_param_allgather(single, 86'848);
  CHECK(early.through_flat_copy);
  CHECK(early.shards == 2);
  CHECK(early.largest_flat_elements(1) == 43'424);
}

TEST_CASE("ZeRO-1/2 parameter all-gather in the step graph and the memory walk", "[zero12]") {
  TinyLlama tiny;
  const RunConfig old_ds = zero2(tiny, "0.12.3", "30000");
  const StepProgram p = build_step_program(old_ds);
  REQUIRE(optimizer_partition_numel(p.modules, 2, 2) == 43'424);
  const StepGraph g = build_step_graph(old_ds, p);
  // Two gathers of 2 ranks x 21,712 bf16 elements (86,848 B each), each copied out: read and write, 173,696
  // B, one copy per rank.
  CHECK(count_named(g, "params.all_gather.shard") == 2);
  const ComputeOp* copy = find_op(g.ops, "params.all_gather.shard1.copy_out");
  REQUIRE(copy != nullptr);
  CHECK(copy->bytes == 173'696.0);
  CHECK(copy->kernels == 2);
  // 0.12.4: the one gather of every trainable element, 2 x 86,848 = 173,696 B, and nothing to copy.
  const RunConfig new_ds = zero2(tiny, "0.12.4", "30000");
  const StepGraph h = build_step_graph(new_ds, build_step_program(new_ds));
  CHECK(count_named(h, "params.all_gather") == 1);
  CHECK(find_op(h.ops, "params.all_gather.copy_out") == nullptr);
  // The flat temporary after step(): 2 B x 43,424 = 86,848 B at 0.12.3, none at 0.12.4.
  CHECK(model_states(old_ds, p).param_allgather_buffer == 86'848);
  CHECK(model_states(new_ds, p).param_allgather_buffer == 0);
}
