#include "sim/engine/collective_plan.h"

#include <algorithm>
#include <cmath>

namespace zerosim {

int64_t RankLayout::node_size(int64_t node) const {
  return std::min(gpus_per_node, ranks - node * gpus_per_node);
}

int64_t RankLayout::rank_on(int64_t node, int64_t local) const {
  return node * gpus_per_node + std::min(local, node_size(node) - 1);
}

RankLayout rank_layout(int64_t ranks, int64_t gpus_per_node) {
  const int64_t G = std::max<int64_t>(1, std::min(gpus_per_node, ranks));
  return {ranks, G, (ranks + G - 1) / G};
}

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

double net_step_extra_s(const CommModel& cm, const FlowPlan& plan) {
  return plan.nodes > 1 ? std::max(0.0, cm.net_step_latency_s - plan.latency_s) : 0.0;
}

int64_t node_tree_depth(int64_t nodes) {
  int64_t depth = 0;
  while ((int64_t{1} << depth) < nodes) ++depth;
  return depth;
}

void route_plan(FlowPlan& plan, const RouteOf& route_of) {
  plan.receives.assign(plan.sends.size(), 0);
  std::map<std::string, double> rate;
  const auto narrow = [](double& bottleneck, double bandwidth) {
    bottleneck = bottleneck == 0 ? bandwidth : std::min(bottleneck, bandwidth);
  };
  for (size_t r = 0; r < plan.sends.size(); ++r)
    for (const auto& send : plan.sends[r]) {
      ++plan.receives[static_cast<size_t>(send.to_rank)];
      ++plan.flows;
      const Route route = route_of(static_cast<int64_t>(r), send.to_rank);
      plan.latency_s = std::max(plan.latency_s, route.latency_s);
      const bool first_hop = r == 0 && &send == &plan.sends[0].front();
      const bool first_net_hop = r == 0 && send.leaves_node && plan.net_hop_bandwidth == 0;
      for (const auto& link : route.links) {
        plan.link_load[link.name] += plan.weight(send);
        rate[link.name] = link.bandwidth;
        if (first_hop) narrow(plan.hop_bandwidth, link.bandwidth);
        if (first_net_hop) narrow(plan.net_hop_bandwidth, link.bandwidth);
      }
    }
  for (const auto& [link, fraction] : plan.link_load)
    if (rate[link] > 0) plan.seconds_per_byte = std::max(plan.seconds_per_byte, fraction / rate[link]);
}

}  // namespace zerosim
