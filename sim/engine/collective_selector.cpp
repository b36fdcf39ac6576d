#include "sim/engine/collective_selector.h"

#include "sim/engine/nccl_nvls.h"
#include "sim/engine/nccl_ring.h"
#include "sim/engine/nccl_tree.h"

namespace zerosim {

CollectivePlans plan_collectives(int64_t ranks, int64_t gpus_per_node, bool nvls_capable,
                                 const RouteOf& route_of) {
  CollectivePlans plans;
  plans.layout = rank_layout(ranks, gpus_per_node);
  plans.nvls_capable = nvls_capable;
  plans.ring = plan_rings(plans.layout, route_of);
  if (plans.layout.nodes > 1) plans.tree = plan_trees(plans.layout, route_of);
  plans.tree_steps = tree_steps(plans.layout);
  return plans;
}

namespace {

bool nvls_is_faster(const CommModel& cm, const CollectivePlans& p, int64_t bytes) {
  const FlowPlan& ring = p.ring;
  if (ring.hop_bandwidth <= 0) return false;
  const int64_t n = p.layout.ranks;
  return nvls_predicted_s(cm, ring.hop_bandwidth, bytes, n) < ring_first_hop_predicted_s(cm, ring, bytes, n);
}

bool tree_is_faster(const CommModel& cm, const CollectivePlans& p, int64_t bytes) {
  return tree_predicted_s(cm, p.tree, p.tree_steps, bytes) <
         ring_predicted_s(cm, p.ring, bytes, p.layout.ranks);
}

}  // namespace

NcclAlgorithm choose_algorithm(const CommModel& cm, const CollectivePlans& plans, CollectiveKind kind,
                               int64_t bytes) {
  if (cm.stepwise_ring || kind != CollectiveKind::all_reduce) return NcclAlgorithm::ring;
  const bool automatic = cm.algorithm == NcclAlgorithm::automatic;
  const RankLayout& layout = plans.layout;
  if (plans.nvls_capable && layout.nodes == 1 && layout.ranks > 2 &&
      (cm.algorithm == NcclAlgorithm::nvls || (automatic && nvls_is_faster(cm, plans, bytes))))
    return NcclAlgorithm::nvls;
  if (layout.nodes > 1 &&
      (cm.algorithm == NcclAlgorithm::tree || (automatic && tree_is_faster(cm, plans, bytes))))
    return NcclAlgorithm::tree;
  return NcclAlgorithm::ring;
}

CollectiveSchedule schedule_collective(const CommModel& cm, const CollectivePlans& plans, CollectiveKind kind,
                                       int64_t bytes) {
  const int64_t n = plans.layout.ranks;
  switch (choose_algorithm(cm, plans, kind, bytes)) {
    case NcclAlgorithm::nvls:
      return nvls_schedule(cm, plans.ring, bytes, n);
    case NcclAlgorithm::tree:
      return tree_schedule(cm, plans.tree, plans.tree_steps, bytes);
    default:
      return ring_schedule(cm, plans.ring, kind, bytes, n);
  }
}

}  // namespace zerosim
