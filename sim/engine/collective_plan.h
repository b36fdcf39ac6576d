#pragma once
// What each NCCL algorithm's planner (nccl_ring.h, nccl_tree.h, nccl_nvls.h) produces, without SimGrid:
// who sends which fraction of the data to whom in one round (FlowPlan), the loads those flows put on the
// platform's links, and how the engine's comm actor runs one collective (CollectiveSchedule). Routes come
// from a RouteOf function: the engine answers it from SimGrid, unit tests from a hand-drawn network.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim/engine/comm_model.h"

namespace zerosim {

// Ranks fill nodes of G GPUs in order: ranks [k·G, (k+1)·G) share node k; the last node may be partial.
struct RankLayout {
  int64_t ranks = 1;
  int64_t gpus_per_node = 1;  // G, within [1, ranks]
  int64_t nodes = 1;
  int64_t node_size(int64_t node) const;
  // The rank at `local` on `node`, or the node's last rank where a partial node has no such GPU.
  int64_t rank_on(int64_t node, int64_t local) const;
  bool full_nodes() const { return ranks == nodes * gpus_per_node; }  // no partial last node
};
RankLayout rank_layout(int64_t ranks, int64_t gpus_per_node);

struct RouteLink {
  std::string name;      // unique per direction: SimGrid names a full-duplex link's halves x_UP and x_DOWN
  double bandwidth = 0;  // B/s
};
struct Route {
  std::vector<RouteLink> links;
  double latency_s = 0;
};
using RouteOf = std::function<Route(int64_t from_rank, int64_t to_rank)>;

// Who a rank sends to in one round of a collective, and which fraction of the algorithm's unit of data
// (the ring's per-rank volume, the tree's buffer, NVLS's push-and-pull volume).
struct FlowSend {
  int64_t to_rank;
  double fraction;
  bool leaves_node = false;  // crosses a NIC: runs at CommModel::net_efficiency of the NIC's rate
};
struct FlowPlan {
  std::vector<std::vector<FlowSend>> sends;  // per rank
  std::vector<int> receives;                 // flows arriving at each rank per round
  int64_t flows = 0;                         // all ranks' sends per round
  double latency_s = 0;                      // the largest route latency among the hops
  std::map<std::string, double> link_load;   // per link direction: Σ fractions of the flows crossing it
  double seconds_per_byte = 0;               // busiest link direction: its load / its rate
  double hop_bandwidth = 0;                  // bottleneck link rate of rank 0's first hop (B/s)
  double net_hop_bandwidth = 0;              // the same for rank 0's first send that leaves the node (B/s)
  // What a node-leaving flow costs relative to one inside the node at the same fraction:
  // efficiency / net_efficiency (link loads, seconds_per_byte and wire bytes all carry it).
  double net_factor = 1.0;
  int64_t nodes = 1;  // nodes the plan spans (its inter-node steps pay CommModel::net_step_latency_s)
  double weight(const FlowSend& send) const { return send.fraction * (send.leaves_node ? net_factor : 1.0); }
};

// Routes every send once and fills in everything of `plan` but its sends: the static view of the
// network that NCCL's tuner-style choice between algorithms needs (the simulation itself shares links).
void route_plan(FlowPlan& plan, const RouteOf& route_of);

// What one inter-node step costs beyond the plan's route latency: NCCL's network step latency where it
// exceeds the wire's (0 for a single-node plan's steps, which never cross the network).
double net_step_extra_s(const CommModel& cm, const FlowPlan& plan);

// Levels of the double binary tree over `nodes` nodes: ⌈log2 nodes⌉.
int64_t node_tree_depth(int64_t nodes);

// How the comm actor runs one collective with the algorithm chosen for it.
struct CollectiveSchedule {
  NcclAlgorithm algorithm = NcclAlgorithm::ring;        // never automatic
  const FlowPlan* plan = nullptr;                       // who sends to whom, every round
  std::function<uint64_t(const FlowSend&)> wire_bytes;  // bytes of one send in one round
  // Pipelined (the default): one round whose flows carry everything, then settle_s of latency.
  // Stepwise (ring validation mode): `rounds` rounds, the launch before them and a step overhead after each.
  bool stepwise = false;
  int64_t rounds = 1;
  double settle_s = 0;
  int64_t bytes_per_rank = 0;  // what rank 0 sends (the report's comm_bytes_per_rank)
  // The shortest time any of its flows may take (NVLSTree's kernel pace, nccl_nvls_tree.h): each flow's
  // rate is capped at its bytes over this, so a kernel-bound collective leaves the rest of its links'
  // capacity to whatever shares them. 0: no cap.
  double min_flow_s = 0;
  int64_t flows = 0;  // flows of one such collective, all ranks and rounds
};

// One round of a plan whose fractions already carry their efficiency relative to CommModel::efficiency
// (NVLSTree, CollNet, multi-node NVLS): wire bytes = bytes · weight / efficiency, then `settle_s`. Rank
// 0's bytes sent count its intra-node fractions times `intra_scale` (undoing that weighting).
CollectiveSchedule weighted_schedule(const CommModel& cm, const FlowPlan& plan, NcclAlgorithm algorithm,
                                     int64_t bytes, double settle_s, double intra_scale);

}  // namespace zerosim
