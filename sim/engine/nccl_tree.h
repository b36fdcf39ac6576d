#pragma once
// NCCL's tree all-reduce across nodes: the double binary tree over the nodes of a communicator
// (src/graph/trees.cc, ncclGetBtree and ncclGetDtree), the flows it puts on the platform in its pipelined
// steady state, its latency terms and the tuner's time estimate. Tree 0 is a binary tree rooted at 0
// built from the ranks' lowest set bit; tree 1 is its mirror (n even) or its shift by one (n odd), so
// that a node that is interior in one tree is a leaf in the other and every node's NIC carries about
// the same load.
#include <array>
#include <cstdint>

#include "sim/engine/collective_plan.h"
#include "sim/engine/comm_model.h"

namespace zerosim {

// Parent of `rank` in NCCL's binary tree over n ranks, −1 for the root (rank 0).
int64_t btree_parent(int64_t n, int64_t rank);

// Parents of `rank` in the two trees of NCCL's double binary tree, −1 for a root.
std::array<int64_t, 2> dtree_parents(int64_t n, int64_t rank);

// The tree all-reduce's flows (multi-node layouts only). Channel j's chain runs through the node
// starting at GPU j, whose NIC (rail j) joins the node to its parent and children in the double binary
// tree over nodes; each of the two trees carries half of the channel's 1/G of the buffer, reduced going
// up and broadcast coming down. Summed over the G channels a GPU sends (G−1)/G of the buffer to each
// chain neighbour, and its NIC 1/(2G) to each tree neighbour of its node on its rail. Fractions are of
// the buffer.
FlowPlan plan_trees(const RankLayout& layout, const RouteOf& route_of, double net_factor = 1.0);

// The node-level double binary tree's sends of `rank` (and to it from its parents): `per_tree` of the
// buffer up to each parent node's GPU at the same local index, and as much back down. Shared by the
// tree and NVLSTree plans.
void add_node_tree_sends(FlowPlan& plan, const RankLayout& layout, int64_t rank, double per_tree);

// Latency steps of the tree all-reduce: up and down the intra-node chain and the node tree,
// 2·((G−1) + ⌈log2 nodes⌉).
int64_t tree_steps(const RankLayout& layout);

// NCCL's tree chunk: one step of the Simple protocol's buffer, 4 MiB / NCCL_STEPS = 512 KiB (src/enqueue.cc
// calcCollChunking: chunkSteps 1 for the tree; NCCL_BUFFSIZE's default 4 MiB, NCCL 2.12-2.30).
inline constexpr int64_t kTreeChunkBytes = int64_t{512} * 1024;

// The tree's pipeline fill: its first loop (CommModel::channels chunks, or the whole buffer if smaller)
// is stored and forwarded hop by hop, each channel's chunk a whole Simple step (src/device/all_reduce.h,
// runTreeSplit): up the chain inside the node (G−1 hops, each GPU forwarding L/G, the chunks of the
// channels at that position of their chain), up and down the node tree (2·⌈log2 nodes⌉ levels of L/(2G)
// per NIC: half the channels use each of the two trees), and down the chain again. What that takes beyond
// the steady-state loop (L over the plan's busiest link) is the fill; it is why the tree's bandwidth ramps
// through the tens of MB.
double tree_fill_s(const CommModel& cm, const FlowPlan& tree, int64_t steps, int64_t bytes);

// NCCL-tuner-style estimate: the buffer's load on the busiest link at efficiency · tree_efficiency of its
// rate, plus one route latency and step overhead per tree step and the pipeline fill.
double tree_predicted_s(const CommModel& cm, const FlowPlan& tree, int64_t steps, int64_t bytes);

// A `bytes`-byte all-reduce on the tree: one round of the plan's flows, then the launch, one latency
// per step and the pipeline fill.
CollectiveSchedule tree_schedule(const CommModel& cm, const FlowPlan& tree, int64_t steps, int64_t bytes);

}  // namespace zerosim
