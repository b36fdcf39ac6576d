#include "sim/engine/nccl_collnet.h"

#include <algorithm>
#include <cmath>

#include "sim/engine/nccl_nvls.h"

namespace zerosim {

bool collnet_possible(const CommModel& cm, const RankLayout& layout) {
  return cm.collnet_enabled && layout.nodes > 1 && layout.ranks == layout.nodes * layout.gpus_per_node;
}

FlowPlan plan_collnet(const RankLayout& layout, const CommModel& cm, const RouteOf& route_of) {
  FlowPlan plan;
  plan.net_factor = cm.efficiency / cm.net_efficiency;
  plan.nodes = layout.nodes;
  const int64_t n = layout.ranks, G = layout.gpus_per_node;
  const double g = static_cast<double>(G);
  plan.sends.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    const int64_t node = r / G, local = r % G;
    auto& sends = plan.sends[static_cast<size_t>(r)];
    if (G > 1) sends.push_back({node * G + (local + 1) % G, 2.0 * (g - 1.0) / g});
    sends.push_back({((node + 1) % layout.nodes) * G + local, 1.0 / g, true});
  }
  route_plan(plan, route_of);
  return plan;
}

double collnet_overhead_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout) {
  return cm.launch_s + static_cast<double>(2 * (layout.gpus_per_node - 1)) * cm.step_overhead_s +
         std::max(cm.collnet_latency_s, plan.latency_s);
}

double collnet_predicted_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                           int64_t bytes) {
  return plan.seconds_per_byte * static_cast<double>(bytes) / cm.efficiency +
         collnet_overhead_s(cm, plan, layout);
}

namespace {
// Wire bytes of a plan whose fractions are already weighted to the intra-node efficiency, and rank 0's
// bytes sent (`intra_scale` undoes the weighting folded into its intra-node fractions).
CollectiveSchedule weighted_schedule(const CommModel& cm, const FlowPlan& plan, NcclAlgorithm algorithm,
                                     int64_t bytes, double settle_s, double intra_scale) {
  const double buffer = static_cast<double>(bytes);
  double rank0 = 0;
  for (const auto& send : plan.sends[0]) rank0 += send.fraction * (send.leaves_node ? 1.0 : intra_scale);
  CollectiveSchedule schedule;
  schedule.algorithm = algorithm;
  schedule.plan = &plan;
  schedule.wire_bytes = [buffer, efficiency = cm.efficiency, &plan](const FlowSend& send) {
    return static_cast<uint64_t>(std::llround(buffer * plan.weight(send) / efficiency));
  };
  schedule.settle_s = settle_s;
  schedule.bytes_per_rank = std::llround(buffer * rank0);
  schedule.flows = plan.flows;
  return schedule;
}
}  // namespace

CollectiveSchedule collnet_schedule(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                                    int64_t bytes) {
  return weighted_schedule(cm, plan, NcclAlgorithm::collnet, bytes, collnet_overhead_s(cm, plan, layout),
                           1.0);
}

FlowPlan plan_nvls_collnet(const RankLayout& layout, const CommModel& cm, const RouteOf& route_of) {
  FlowPlan plan;
  plan.net_factor = cm.efficiency / cm.net_efficiency;
  plan.nodes = layout.nodes;
  const int64_t n = layout.ranks, G = layout.gpus_per_node;
  const double g = static_cast<double>(G);
  plan.sends.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    const int64_t node = r / G, local = r % G;
    auto& sends = plan.sends[static_cast<size_t>(r)];
    sends.push_back({node * G + (local + 1) % G, (1.0 + 1.0 / g) * cm.efficiency / cm.nvls_efficiency});
    sends.push_back({((node + 1) % layout.nodes) * G + local, 1.0 / g, true});
  }
  route_plan(plan, route_of);
  return plan;
}

double nvls_collnet_overhead_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                               int64_t bytes) {
  return nvls_overhead_s(cm, bytes, layout.gpus_per_node) + std::max(cm.nvls_net_latency_s, plan.latency_s);
}

double nvls_collnet_predicted_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                                int64_t bytes) {
  return plan.seconds_per_byte * static_cast<double>(bytes) / cm.efficiency +
         nvls_collnet_overhead_s(cm, plan, layout, bytes);
}

CollectiveSchedule nvls_collnet_schedule(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                                         int64_t bytes) {
  return weighted_schedule(cm, plan, NcclAlgorithm::nvls, bytes,
                           cm.launch_s + nvls_collnet_overhead_s(cm, plan, layout, bytes),
                           cm.nvls_efficiency / cm.efficiency);
}

}  // namespace zerosim
