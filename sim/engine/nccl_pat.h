#pragma once
// NCCL's PAT ("Parallel Aggregated Trees", NCCL 2.23+) for all-gather and reduce-scatter at one GPU per
// node: a logarithmic exchange instead of the ring's n−1 steps, so a large job's small all-gathers (ZeRO-3's
// fetches) do not pay a network step per node. Each NIC carries what the ring's does, (n−1)/n of the data,
// at NCCL's PAT rate (the tuner's busBw × 0.85 in 2.23, × 0.75 from 2.24); its fixed cost is NCCL's own
// model of it: 8 µs + log2(n) · interLat / 3.5 + n · 2.8 µs (src/graph/tuning.cc, PAT branch, 2.23-2.30;
// interLat is the network's tree latency at one GPU per node). The flows are the ring's.
#include <cstdint>

#include "sim/engine/collective_plan.h"
#include "workloads/step_graph.h"

namespace zerosim {

// Whether PAT can run: NCCL 2.23+, one GPU per node on more than one node, all-gather or reduce-scatter.
bool pat_possible(const CommModel& cm, const RankLayout& layout, CollectiveKind kind);

// NCCL's fixed cost of a PAT collective over n ranks (its tuner's latency), plus the launch.
double pat_overhead_s(const CommModel& cm, int64_t n);

// NCCL-tuner-style estimate over the ring's links: the ring's volume at efficiency · pat_efficiency.
double pat_predicted_s(const CommModel& cm, const FlowPlan& ring, CollectiveKind kind, int64_t bytes,
                       int64_t n);

// A `bytes`-byte all-gather or reduce-scatter on PAT: one round of the ring's flows, then the fixed cost.
CollectiveSchedule pat_schedule(const CommModel& cm, const FlowPlan& ring, CollectiveKind kind, int64_t bytes,
                                int64_t n);

}  // namespace zerosim
