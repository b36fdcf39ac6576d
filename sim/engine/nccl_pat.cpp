#include "sim/engine/nccl_pat.h"

#include <cmath>

namespace zerosim {

bool pat_possible(const CommModel& cm, const RankLayout& layout, CollectiveKind kind) {
  return cm.pat_available && layout.gpus_per_node == 1 && layout.nodes > 1 &&
         (kind == CollectiveKind::all_gather || kind == CollectiveKind::reduce_scatter);
}

double pat_overhead_s(const CommModel& cm, int64_t n) {
  return cm.launch_s + 8e-6 + static_cast<double>(node_tree_depth(n)) * cm.net_step_latency_s / 3.5 +
         static_cast<double>(n) * 2.8e-6;
}

double pat_predicted_s(const CommModel& cm, const FlowPlan& ring, CollectiveKind kind, int64_t bytes,
                       int64_t n) {
  const auto volume = static_cast<double>(ring_bytes_per_rank(kind, bytes, n));
  return ring.seconds_per_byte * volume / (cm.efficiency * cm.pat_efficiency) + pat_overhead_s(cm, n);
}

CollectiveSchedule pat_schedule(const CommModel& cm, const FlowPlan& ring, CollectiveKind kind, int64_t bytes,
                                int64_t n) {
  const int64_t volume = ring_bytes_per_rank(kind, bytes, n);
  CollectiveSchedule schedule;
  schedule.algorithm = NcclAlgorithm::pat;
  schedule.plan = &ring;
  schedule.wire_bytes = [volume, divisor = cm.efficiency * cm.pat_efficiency, &ring](const FlowSend& send) {
    return static_cast<uint64_t>(std::llround(static_cast<double>(volume) * ring.weight(send) / divisor));
  };
  schedule.settle_s = pat_overhead_s(cm, n);
  schedule.bytes_per_rank = volume;
  schedule.flows = ring.flows;
  return schedule;
}

}  // namespace zerosim
