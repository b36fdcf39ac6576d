#pragma once
// NCCL's CollNet all-reduce over InfiniBand switches that reduce in the network (SHARP, with the
// nccl-rdma-sharp plugin and NCCL_COLLNET_ENABLE=1): inside each node the GPUs reduce-scatter and
// all-gather their buffer as NCCL's CollNet chain does, and each GPU's NIC sends its reduced 1/G slice
// up to the switch once and receives the all-node result once, whatever the node count
// (NVIDIA/nccl#320: "the bottleneck becomes NVLink, which still has to transmit ~2x more data
// intra-node"). The switches' reduction is not a host, so the plan sends each slice to the GPU at the same
// local index on the next node: every NIC then carries S/G out and S/G in, as with SHARP.
#include <cstdint>

#include "sim/engine/collective_plan.h"

namespace zerosim {

// Whether CollNet can run: in-network reduction enabled, more than one node, every node full.
bool collnet_possible(const CommModel& cm, const RankLayout& layout);

// The CollNet flows: 2(G−1)/G of the buffer to the next GPU in the node at `efficiency`, and 1/G to the
// same local GPU of the next node at `net_efficiency`.
FlowPlan plan_collnet(const RankLayout& layout, const CommModel& cm, const RouteOf& route_of);

// Fixed costs: the launch, 2(G−1) intra-node steps and NCCL's CollNet network latency (the switch
// reduction included): NCCL's tuner, 2·(ppn−1)·intraLat + interLat.
double collnet_overhead_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout);

// NCCL-tuner-style estimate: the buffer over the busiest link, plus the fixed costs.
double collnet_predicted_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                           int64_t bytes);

// A `bytes`-byte all-reduce on CollNet: one round of the plan's flows, then the fixed costs.
CollectiveSchedule collnet_schedule(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                                    int64_t bytes);

// NCCL's multi-node NVLS (NCCL 2.18.1+, where CollNet is supported: tuning.cc disables NVLS across nodes
// otherwise): NVLink SHARP inside each NVLS-capable node, SHARP in the switches between them. Flows: the
// NVLS push-and-pull volume (1 + 1/G)·S over each NVLink port at nvls_efficiency, and S/G each way on
// each NIC as CollNet's. Fixed costs: NVLS's start-up and chunk handshakes (nccl_nvls.h) and NCCL's NVLS
// network latency (hwLat[NET][NVLS][Simple] = 18 µs, 2.18-2.30).
FlowPlan plan_nvls_collnet(const RankLayout& layout, const CommModel& cm, const RouteOf& route_of);
double nvls_collnet_overhead_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                               int64_t bytes);
double nvls_collnet_predicted_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                                int64_t bytes);
CollectiveSchedule nvls_collnet_schedule(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                                         int64_t bytes);

}  // namespace zerosim
