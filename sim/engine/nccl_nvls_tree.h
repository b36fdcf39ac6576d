#pragma once
// NCCL's NVLSTree all-reduce (NCCL >= 2.18; NCCL_ALGO=NVLSTree): NVLink SHARP inside each NVLS-capable
// node and the double binary tree between nodes. Inside a node the switch reduces each GPU's buffer and
// every GPU ends up holding one reduced 1/G slice; each GPU's NIC then carries its slice through the
// node-level tree (reduce up, broadcast down) and the switch multicasts the result back (src/enqueue.cc
// and src/device/all_reduce.h, runTreeSplit / NVLS tree paths). Both parts run at once on different
// chunks, so the slower of the two sets the rate, unless the kernel itself is slower still: each NVLS
// head's channel runs every stage on one SM, at most NCCL's per-head bus bandwidth (the kernel's pace).
#include <cstdint>

#include "sim/engine/collective_plan.h"

namespace zerosim {

// The NVLSTree flows (multi-node layouts of equal full nodes): per GPU, the NVLS push-and-pull volume
// (1 + 1/G)·S to its ring neighbour in the node (crossing its own NVLink port up and the neighbour's
// down, as in nccl_nvls.h), at nvls_efficiency; and its NIC's 1/(2G) of the buffer to and from each
// tree neighbour node, at net_efficiency. Fractions are of the buffer, already divided by their
// efficiency relative to CommModel::efficiency, so seconds_per_byte / efficiency is the wire time.
FlowPlan plan_nvls_trees(const RankLayout& layout, const CommModel& cm, const RouteOf& route_of);

// NVLS heads per node: one per NIC, at most one per GPU (src/graph/search.cc, the NVLS search pairs each NIC
// with its local GPU and refuses a second head on the same GPU; CommModel::nics_per_node, 0: one per GPU).
int64_t nvls_tree_heads(const CommModel& cm, const RankLayout& layout);

// The kernel's floor on NVLSTree's time per byte of the buffer: nccl-tests' bus volume 2(n−1)/n over the
// heads' bus bandwidth, heads × CommModel::nvls_tree_head_busbw_* (2 nodes, or more); 0 without a figure.
// The schedule caps every flow's rate so that none beats it (nvls_tree_kernel_floor_s).
double nvls_tree_kernel_seconds_per_byte(const CommModel& cm, const RankLayout& layout);

// The least time NVLSTree's flows may take for a `bytes`-byte all-reduce: the kernel's floor less the chunk
// handshakes the overhead already charges (nccl_nvls.h nvls_handshakes_s), so that flows plus handshakes
// take at least the floor: NCCL's per-head figure is the whole kernel's rate, its handshakes included.
double nvls_tree_kernel_floor_s(const CommModel& cm, const RankLayout& layout, int64_t bytes);

// NCCL's NVLSTree chunk for a `bytes`-byte all-reduce with `concurrent_ops` = channels × GPUs per node
// (src/enqueue.cc, NVLS_TREE branch): starting from NCCL_NVLS_CHUNKSIZE (128 KiB, 64 KiB from 4 nodes)
// from NCCL 2.21, from the Simple buffer's step (512 KiB) in 2.18-2.20; then 256 KiB below
// 32·ops·chunk, 128 KiB below 16·ops·chunk, 64 KiB below 4·ops·chunk, 32 KiB below ops·chunk.
int64_t nvls_tree_chunk_bytes(const CommModel& cm, int64_t bytes, int64_t concurrent_ops, int64_t nodes);

// Whether NVLSTree can run: more than one node, every node full, at least CommModel::nvls_min_gpus GPUs
// per node (3 before NCCL 2.28.7, 2 from).
bool nvls_tree_possible(const CommModel& cm, const RankLayout& layout);

// Fixed costs: NVLS's start-up latency and two handshakes per NVLSTree chunk each concurrent operation
// moves (as NVLS's, nccl_nvls.h, with the chunk above) and one network step
// (CommModel::net_step_latency_s, at least the route's latency) and step overhead per level of the
// node tree, up and down (NCCL's tuner: intraLat + 2·log2(nNodes)·interLat).
double nvls_tree_overhead_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                            int64_t bytes);

// NVLSTree's pipeline fill: the first loop (nccl_nvls.h nvls_loop_bytes, with NVLSTree's chunk) runs its
// stages one after another: NVLS's scatter and reduce, the reduced slice up the node tree and the result
// back down, d = ⌈log2 nodes⌉ levels of L/(2G) over the NIC each way (half the channels use each of the two
// trees), then NVLS's multicast and gather: (2 + 2/G)·L on the NVLink port at nvls_efficiency plus d·L/G on
// the NIC at net_efficiency. What it takes beyond the steady-state loop (L over the plan's busiest link)
// is the fill (0 where the plan has no NIC rate). Both at the links' rates: the kernel's pace (below) is a
// steady-state figure.
double nvls_tree_fill_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout, int64_t bytes);

// NCCL-tuner-style estimate: the buffer over the busiest link or the kernel's floor, whichever is longer,
// plus the fixed costs and the fill.
double nvls_tree_predicted_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                             int64_t bytes);

// A `bytes`-byte all-reduce on NVLSTree: one round of the plan's flows, none faster than the kernel's floor,
// then the launch, the fixed costs and the fill.
CollectiveSchedule nvls_tree_schedule(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                                      int64_t bytes);

}  // namespace zerosim
