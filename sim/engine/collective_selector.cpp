#include "sim/engine/collective_selector.h"

#include "sim/engine/nccl_collnet.h"
#include "sim/engine/nccl_nvls.h"
#include "sim/engine/nccl_nvls_tree.h"
#include "sim/engine/nccl_pat.h"
#include "sim/engine/nccl_ring.h"
#include "sim/engine/nccl_tree.h"

namespace zerosim {

CollectivePlans plan_collectives(int64_t ranks, int64_t gpus_per_node, bool nvls_capable,
                                 const RouteOf& route_of, const CommModel& cm) {
  CollectivePlans plans;
  plans.layout = rank_layout(ranks, gpus_per_node);
  plans.nvls_capable = nvls_capable;
  const double net_factor = cm.efficiency / cm.net_efficiency;
  plans.ring = plan_rings(plans.layout, route_of, net_factor);
  if (plans.layout.nodes > 1) plans.tree = plan_trees(plans.layout, route_of, net_factor);
  plans.tree_steps = tree_steps(plans.layout);
  if (collnet_possible(cm, plans.layout)) {
    plans.collnet = plan_collnet(plans.layout, cm, route_of);
    if (nvls_capable && plans.layout.gpus_per_node > 2)
      plans.nvls_collnet = plan_nvls_collnet(plans.layout, cm, route_of);
  }
  if (nvls_capable && nvls_tree_possible(plans.layout))
    plans.nvls_tree = plan_nvls_trees(plans.layout, cm, route_of);
  return plans;
}

namespace {

bool nvls_is_faster(const CommModel& cm, const CollectivePlans& p, int64_t bytes) {
  const FlowPlan& ring = p.ring;
  if (ring.hop_bandwidth <= 0) return false;
  const int64_t n = p.layout.ranks;
  return nvls_predicted_s(cm, ring.hop_bandwidth, bytes, n) < ring_first_hop_predicted_s(cm, ring, bytes, n);
}

// The fastest of ring, tree and (where it can run) NVLSTree by their estimates; the ring on a tie.
NcclAlgorithm fastest_multi_node(const CommModel& cm, const CollectivePlans& p, int64_t bytes) {
  NcclAlgorithm best = NcclAlgorithm::ring;
  double best_s = ring_predicted_s(cm, p.ring, bytes, p.layout.ranks);
  if (const double t = tree_predicted_s(cm, p.tree, p.tree_steps, bytes); t < best_s) {
    best = NcclAlgorithm::tree;
    best_s = t;
  }
  if (cm.nvls_tree_available && !p.nvls_tree.sends.empty()) {
    if (const double t = nvls_tree_predicted_s(cm, p.nvls_tree, p.layout, bytes); t < best_s) {
      best = NcclAlgorithm::nvls_tree;
      best_s = t;
    }
  }
  if (!p.collnet.sends.empty()) {
    if (const double t = collnet_predicted_s(cm, p.collnet, p.layout, bytes); t < best_s) {
      best = NcclAlgorithm::collnet;
      best_s = t;
    }
  }
  if (cm.nvls_tree_available && !p.nvls_collnet.sends.empty() &&
      nvls_collnet_predicted_s(cm, p.nvls_collnet, p.layout, bytes) < best_s)
    best = NcclAlgorithm::nvls;
  return best;
}

}  // namespace

bool algorithm_runs(const CommModel& cm, const CollectivePlans& plans, CollectiveKind kind,
                    NcclAlgorithm algorithm) {
  const RankLayout& layout = plans.layout;
  const bool all_reduce = kind == CollectiveKind::all_reduce;
  switch (algorithm) {
    case NcclAlgorithm::nvls:  // across nodes with CollNet from 2.18.1 (the release of NVLSTree)
      if (layout.nodes > 1) return all_reduce && cm.nvls_tree_available && !plans.nvls_collnet.sends.empty();
      return all_reduce && cm.nvls_available && plans.nvls_capable && layout.ranks > 2;
    case NcclAlgorithm::tree:
      return all_reduce && layout.nodes > 1;
    case NcclAlgorithm::nvls_tree:
      return all_reduce && cm.nvls_tree_available && !plans.nvls_tree.sends.empty();
    case NcclAlgorithm::collnet:
      return all_reduce && !plans.collnet.sends.empty();
    case NcclAlgorithm::pat:
      return pat_possible(cm, layout, kind);
    default:
      return true;
  }
}

NcclAlgorithm choose_algorithm(const CommModel& cm, const CollectivePlans& plans, CollectiveKind kind,
                               int64_t bytes) {
  if (cm.stepwise_ring) return NcclAlgorithm::ring;
  if (kind != CollectiveKind::all_reduce) {  // the ring, or PAT where it runs (forced, or faster)
    const bool pat = algorithm_runs(cm, plans, kind, NcclAlgorithm::pat);
    if (cm.algorithm == NcclAlgorithm::pat || cm.algorithm == NcclAlgorithm::automatic)
      if (pat && (cm.algorithm == NcclAlgorithm::pat ||
                  pat_predicted_s(cm, plans.ring, kind, bytes, plans.layout.ranks) <
                      ring_predicted_s(cm, plans.ring, bytes, plans.layout.ranks, kind)))
        return NcclAlgorithm::pat;
    return NcclAlgorithm::ring;
  }
  if (cm.algorithm != NcclAlgorithm::automatic)
    return algorithm_runs(cm, plans, kind, cm.algorithm) ? cm.algorithm : NcclAlgorithm::ring;
  if (plans.layout.nodes > 1) return fastest_multi_node(cm, plans, bytes);
  if (algorithm_runs(cm, plans, kind, NcclAlgorithm::nvls) && nvls_is_faster(cm, plans, bytes))
    return NcclAlgorithm::nvls;
  return NcclAlgorithm::ring;
}

CollectiveSchedule schedule_collective(const CommModel& cm, const CollectivePlans& plans, CollectiveKind kind,
                                       int64_t bytes) {
  const int64_t n = plans.layout.ranks;
  switch (choose_algorithm(cm, plans, kind, bytes)) {
    case NcclAlgorithm::nvls:
      if (plans.layout.nodes > 1) return nvls_collnet_schedule(cm, plans.nvls_collnet, plans.layout, bytes);
      return nvls_schedule(cm, plans.ring, bytes, n);
    case NcclAlgorithm::tree:
      return tree_schedule(cm, plans.tree, plans.tree_steps, bytes);
    case NcclAlgorithm::nvls_tree:
      return nvls_tree_schedule(cm, plans.nvls_tree, plans.layout, bytes);
    case NcclAlgorithm::collnet:
      return collnet_schedule(cm, plans.collnet, plans.layout, bytes);
    case NcclAlgorithm::pat:
      return pat_schedule(cm, plans.ring, kind, bytes, n);
    default:
      return ring_schedule(cm, plans.ring, kind, bytes, n);
  }
}

}  // namespace zerosim
