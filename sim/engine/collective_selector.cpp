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
    if (nvls_capable && plans.layout.gpus_per_node >= cm.nvls_min_gpus)
      plans.nvls_collnet = plan_nvls_collnet(plans.layout, cm, route_of);
  }
  if (nvls_capable && nvls_tree_possible(cm, plans.layout))
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

// The fastest of ring, tree and, where they can run, NVLSTree, CollNet and multi-node NVLS by their
// estimates; the earlier in that order on a tie.
NcclAlgorithm fastest_multi_node(const CommModel& cm, const CollectivePlans& p, int64_t bytes) {
  NcclAlgorithm best = NcclAlgorithm::ring;
  double best_s = ring_predicted_s(cm, p.ring, bytes, p.layout.ranks);
  auto consider = [&](NcclAlgorithm algorithm, bool runs, const auto& predicted_s) {
    if (!runs) return;
    if (const double t = predicted_s(); t < best_s) {
      best = algorithm;
      best_s = t;
    }
  };
  consider(NcclAlgorithm::tree, true, [&] { return tree_predicted_s(cm, p.tree, p.tree_steps, bytes); });
  consider(NcclAlgorithm::nvls_tree, cm.nvls_tree_available && !p.nvls_tree.sends.empty(),
           [&] { return nvls_tree_predicted_s(cm, p.nvls_tree, p.layout, bytes); });
  consider(NcclAlgorithm::collnet, !p.collnet.sends.empty(),
           [&] { return collnet_predicted_s(cm, p.collnet, p.layout, bytes); });
  consider(NcclAlgorithm::nvls, cm.nvls_tree_available && !p.nvls_collnet.sends.empty(),
           [&] { return nvls_collnet_predicted_s(cm, p.nvls_collnet, p.layout, bytes); });
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
      return all_reduce && cm.nvls_available && plans.nvls_capable && layout.ranks >= cm.nvls_min_gpus;
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

std::string forced_algorithm_unmodelled(const CommModel& cm, const CollectivePlans& plans,
                                        CollectiveKind kind, NcclAlgorithm algorithm) {
  const RankLayout& layout = plans.layout;
  const bool gather_or_scatter = kind == CollectiveKind::all_gather || kind == CollectiveKind::reduce_scatter;
  // NVLS's all-gather and reduce-scatter run wherever its all-reduce does inside one node.
  if (algorithm == NcclAlgorithm::nvls && gather_or_scatter && layout.nodes == 1 &&
      algorithm_runs(cm, plans, CollectiveKind::all_reduce, NcclAlgorithm::nvls))
    return std::string("NVLS ") + collective_name(kind) + " inside one node";
  if (algorithm == NcclAlgorithm::tree && kind == CollectiveKind::all_reduce && layout.nodes == 1 &&
      layout.ranks > 1)
    return "the tree all_reduce inside one node";
  return "";
}

NcclAlgorithm choose_algorithm(const CommModel& cm, const CollectivePlans& plans, CollectiveKind kind,
                               int64_t bytes) {
  if (cm.stepwise_ring) return NcclAlgorithm::ring;
  if (kind != CollectiveKind::all_reduce) {  // the ring, or PAT where it runs (forced, or faster)
    if (!algorithm_runs(cm, plans, kind, NcclAlgorithm::pat)) return NcclAlgorithm::ring;
    if (cm.algorithm == NcclAlgorithm::pat) return NcclAlgorithm::pat;
    const int64_t n = plans.layout.ranks;
    const bool faster =
        cm.algorithm == NcclAlgorithm::automatic &&
        pat_predicted_s(cm, plans.ring, kind, bytes, n) < ring_predicted_s(cm, plans.ring, bytes, n, kind);
    return faster ? NcclAlgorithm::pat : NcclAlgorithm::ring;
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
