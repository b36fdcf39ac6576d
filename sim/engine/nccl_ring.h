#pragma once
// NCCL's ring: the flows of one collective in its pipelined steady state (or, for validation, step by
// step), its latency terms, and the tuner's time estimate that the selector compares other algorithms with.
#include <cstdint>

#include "sim/engine/collective_plan.h"
#include "sim/engine/comm_model.h"
#include "workloads/step_graph.h"

namespace zerosim {

// Rings as NCCL builds them: inside one node a single ring; across nodes one ring per NIC (channel),
// each crossing nodes on its own rail, so a rank sends (G−1)/G of its share to a node neighbour over
// NVLink/PCIe and 1/G over its NIC to the same local rank of the next node. Fractions are of the
// per-rank ring volume (ring_bytes_per_rank).
FlowPlan plan_rings(const RankLayout& layout, const RouteOf& route_of, double net_factor = 1.0);

// Steps of a ring collective on n ranks: 2(n−1) for all-reduce (reduce-scatter then all-gather), else n−1.
int64_t ring_steps(CollectiveKind kind, int64_t n);

// NCCL-tuner-style all-reduce estimate from the busiest link: its share of the per-rank ring volume at
// `efficiency` of its rate, plus one route latency and step overhead per ring step.
double ring_predicted_s(const CommModel& cm, const FlowPlan& ring, int64_t bytes, int64_t n,
                        CollectiveKind kind = CollectiveKind::all_reduce);

// The same estimate from rank 0's first hop, 2(N−1)/N·S at its rate: what NVLS is compared with inside
// one node, where every hop is alike.
double ring_first_hop_predicted_s(const CommModel& cm, const FlowPlan& ring, int64_t bytes, int64_t n);

// A `bytes`-byte collective on the ring: pipelined, N concurrent neighbour flows each carrying the rank's
// whole share, then the launch and one latency per step; stepwise (cm.stepwise_ring), each of the
// ring_steps rounds carries 1/steps of it.
CollectiveSchedule ring_schedule(const CommModel& cm, const FlowPlan& ring, CollectiveKind kind,
                                 int64_t bytes, int64_t n);

}  // namespace zerosim
