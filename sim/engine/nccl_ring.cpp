#include "sim/engine/nccl_ring.h"

#include <cmath>

namespace zerosim {

FlowPlan plan_rings(const RankLayout& layout, const RouteOf& route_of, double net_factor) {
  FlowPlan plan;
  plan.net_factor = net_factor;
  plan.nodes = layout.nodes;
  const int64_t n = layout.ranks, G = layout.gpus_per_node, nodes = layout.nodes;
  plan.sends.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    const int64_t node = r / G, local = r % G, size = layout.node_size(node);
    auto& sends = plan.sends[static_cast<size_t>(r)];
    if (nodes == 1) {
      if (n > 1) sends.push_back({(r + 1) % n, 1.0});
      continue;
    }
    const int64_t peer = layout.rank_on((node + 1) % nodes, local);
    const int64_t local_next = node * G + (local + 1) % size;
    if (size > 1) sends.push_back({local_next, static_cast<double>(size - 1) / static_cast<double>(size)});
    sends.push_back({peer, 1.0 / static_cast<double>(size), true});
  }
  route_plan(plan, route_of);
  return plan;
}

int64_t ring_steps(CollectiveKind kind, int64_t n) {
  return kind == CollectiveKind::all_reduce ? 2 * (n - 1) : n - 1;
}

namespace {
// The ring steps that cross between nodes: one per node boundary per pass (NCCL's nInterSteps).
double inter_step_extra_s(const CommModel& cm, const FlowPlan& ring, CollectiveKind kind) {
  return static_cast<double>(ring_steps(kind, ring.nodes)) * net_step_extra_s(cm, ring);
}
}  // namespace

double ring_predicted_s(const CommModel& cm, const FlowPlan& ring, int64_t bytes, int64_t n,
                        CollectiveKind kind) {
  const auto volume = static_cast<double>(ring_bytes_per_rank(kind, bytes, n));
  return ring.seconds_per_byte * volume / cm.efficiency +
         static_cast<double>(ring_steps(kind, n)) * (ring.latency_s + cm.step_overhead_s) +
         inter_step_extra_s(cm, ring, kind);
}

double ring_first_hop_predicted_s(const CommModel& cm, const FlowPlan& ring, int64_t bytes, int64_t n) {
  const double s = static_cast<double>(bytes), nn = static_cast<double>(n);
  return 2.0 * (nn - 1) / nn * s / (cm.efficiency * ring.hop_bandwidth) +
         2.0 * (nn - 1) * (ring.latency_s + cm.step_overhead_s);
}

CollectiveSchedule ring_schedule(const CommModel& cm, const FlowPlan& ring, CollectiveKind kind,
                                 int64_t bytes, int64_t n) {
  const int64_t volume = ring_bytes_per_rank(kind, bytes, n);
  const int64_t steps = ring_steps(kind, n);
  const int64_t parts = cm.stepwise_ring ? steps : 1;
  CollectiveSchedule schedule;
  schedule.algorithm = NcclAlgorithm::ring;
  schedule.plan = &ring;
  schedule.wire_bytes = [volume, parts, efficiency = cm.efficiency, &ring](const FlowSend& send) {
    return static_cast<uint64_t>(std::llround(static_cast<double>(volume) * ring.weight(send) /
                                              static_cast<double>(parts) / efficiency));
  };
  schedule.stepwise = cm.stepwise_ring;
  schedule.rounds = parts;
  schedule.settle_s = cm.launch_s + cm.step_overhead_s +
                      static_cast<double>(steps - 1) * (ring.latency_s + cm.step_overhead_s) +
                      (cm.stepwise_ring ? 0.0 : inter_step_extra_s(cm, ring, kind));
  schedule.bytes_per_rank = volume;
  schedule.flows = ring.flows * parts;
  return schedule;
}

}  // namespace zerosim
