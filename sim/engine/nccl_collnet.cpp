#include "sim/engine/nccl_collnet.h"

#include <algorithm>
#include <cmath>

#include "sim/engine/nccl_nvls.h"

namespace zerosim {

bool collnet_possible(const CommModel& cm, const RankLayout& layout) {
  return cm.collnet_enabled && layout.nodes > 1 && layout.full_nodes();
}

namespace {
// Every GPU sends `intra` of the buffer to the next GPU of its node (none when 0 or alone) and its 1/G
// slice to the same local GPU of the next node, which loads each NIC with S/G each way as SHARP does.
FlowPlan plan_node_slices(const RankLayout& layout, const CommModel& cm, const RouteOf& route_of,
                          double intra) {
  FlowPlan plan;
  plan.net_factor = cm.efficiency / cm.net_efficiency;
  plan.nodes = layout.nodes;
  const int64_t n = layout.ranks, G = layout.gpus_per_node;
  plan.sends.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    const int64_t node = r / G, local = r % G;
    auto& sends = plan.sends[static_cast<size_t>(r)];
    if (G > 1 && intra > 0) sends.push_back({node * G + (local + 1) % G, intra});
    sends.push_back({((node + 1) % layout.nodes) * G + local, 1.0 / static_cast<double>(G), true});
  }
  route_plan(plan, route_of);
  return plan;
}
}  // namespace

FlowPlan plan_collnet(const RankLayout& layout, const CommModel& cm, const RouteOf& route_of) {
  const double g = static_cast<double>(layout.gpus_per_node);
  return plan_node_slices(layout, cm, route_of, 2.0 * (g - 1.0) / g);
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

CollectiveSchedule collnet_schedule(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                                    int64_t bytes) {
  return weighted_schedule(cm, plan, NcclAlgorithm::collnet, bytes, collnet_overhead_s(cm, plan, layout),
                           1.0);
}

FlowPlan plan_nvls_collnet(const RankLayout& layout, const CommModel& cm, const RouteOf& route_of) {
  const double g = static_cast<double>(layout.gpus_per_node);
  return plan_node_slices(layout, cm, route_of, (1.0 + 1.0 / g) * cm.efficiency / cm.nvls_efficiency);
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
