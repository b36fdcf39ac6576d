#include "sim/engine/nccl_tree.h"

#include <cmath>

namespace zerosim {

int64_t btree_parent(int64_t n, int64_t rank) {
  if (rank == 0) return -1;
  int64_t bit = 1;
  while (bit < n && !(bit & rank)) bit <<= 1;
  int64_t up = (rank ^ bit) | (bit << 1);
  if (up >= n) up = rank ^ bit;  // the would-be parent is out of range: attach one level up
  return up;
}

std::array<int64_t, 2> dtree_parents(int64_t n, int64_t rank) {
  const int64_t first = btree_parent(n, rank);
  int64_t second = -1;
  if (n % 2 == 1) {  // shift by one
    const int64_t up = btree_parent(n, (rank - 1 + n) % n);
    second = up == -1 ? -1 : (up + 1) % n;
  } else {  // mirror
    const int64_t up = btree_parent(n, n - 1 - rank);
    second = up == -1 ? -1 : n - 1 - up;
  }
  return {first, second};
}

void add_node_tree_sends(FlowPlan& plan, const RankLayout& layout, int64_t rank, double per_tree) {
  const int64_t node = rank / layout.gpus_per_node, local = rank % layout.gpus_per_node;
  for (int64_t parent : dtree_parents(layout.nodes, node))
    if (parent >= 0) {
      const int64_t up = layout.rank_on(parent, local);
      plan.sends[static_cast<size_t>(rank)].push_back({up, per_tree, true});  // reduce, up
      plan.sends[static_cast<size_t>(up)].push_back({rank, per_tree, true});  // broadcast, down
    }
}

FlowPlan plan_trees(const RankLayout& layout, const RouteOf& route_of, double net_factor) {
  FlowPlan plan;
  plan.net_factor = net_factor;
  plan.nodes = layout.nodes;
  const int64_t n = layout.ranks, G = layout.gpus_per_node;
  plan.sends.resize(static_cast<size_t>(n));
  auto send = [&](int64_t from, int64_t to, double fraction) {
    plan.sends[static_cast<size_t>(from)].push_back({to, fraction});
  };
  const double per_tree = 0.5 / static_cast<double>(G);
  for (int64_t r = 0; r < n; ++r) {
    const int64_t node = r / G, local = r % G, size = layout.node_size(node);
    if (size > 1) {
      const double chain = static_cast<double>(size - 1) / static_cast<double>(size);
      const int64_t next = node * G + (local + 1) % size, prev = node * G + (local - 1 + size) % size;
      if (next == prev) {
        send(r, next, 2 * chain);
      } else {
        send(r, next, chain);
        send(r, prev, chain);
      }
    }
    add_node_tree_sends(plan, layout, r, per_tree);
  }
  route_plan(plan, route_of);
  return plan;
}

int64_t tree_steps(const RankLayout& layout) {
  return 2 * ((layout.gpus_per_node - 1) + node_tree_depth(layout.nodes));
}

double tree_fill_s(const CommModel& cm, const FlowPlan& tree, int64_t steps, int64_t bytes) {
  if (tree.net_hop_bandwidth <= 0 || tree.hop_bandwidth <= 0) return 0;
  const int64_t levels = 2 * node_tree_depth(tree.nodes), chain_hops = steps - levels;
  const double g = static_cast<double>(chain_hops / 2 + 1);  // steps = 2·((G−1) + depth)
  const double loop =
      static_cast<double>(std::min(bytes, std::max<int64_t>(1, cm.channels) * kTreeChunkBytes));
  const double rate = cm.efficiency * cm.tree_efficiency;
  const double first = static_cast<double>(chain_hops) * loop / g / (rate * tree.hop_bandwidth) +
                       static_cast<double>(levels) * loop / (2.0 * g) /
                           (cm.net_efficiency * cm.tree_efficiency * tree.net_hop_bandwidth);
  return std::max(0.0, first - tree.seconds_per_byte * loop / rate);
}

double tree_predicted_s(const CommModel& cm, const FlowPlan& tree, int64_t steps, int64_t bytes) {
  return tree.seconds_per_byte * static_cast<double>(bytes) / (cm.efficiency * cm.tree_efficiency) +
         static_cast<double>(steps) * (tree.latency_s + cm.step_overhead_s) +
         static_cast<double>(2 * node_tree_depth(tree.nodes)) * net_step_extra_s(cm, tree) +
         tree_fill_s(cm, tree, steps, bytes);
}

CollectiveSchedule tree_schedule(const CommModel& cm, const FlowPlan& tree, int64_t steps, int64_t bytes) {
  const double buffer = static_cast<double>(bytes);
  double rank0_fraction = 0;
  for (const auto& send : tree.sends[0]) rank0_fraction += send.fraction;
  CollectiveSchedule schedule;
  schedule.algorithm = NcclAlgorithm::tree;
  schedule.plan = &tree;
  schedule.wire_bytes = [buffer, divisor = cm.efficiency * cm.tree_efficiency, &tree](const FlowSend& send) {
    return static_cast<uint64_t>(std::llround(buffer * tree.weight(send) / divisor));
  };
  schedule.settle_s = cm.launch_s + cm.step_overhead_s +
                      static_cast<double>(steps - 1) * (tree.latency_s + cm.step_overhead_s) +
                      static_cast<double>(2 * node_tree_depth(tree.nodes)) * net_step_extra_s(cm, tree) +
                      tree_fill_s(cm, tree, steps, bytes);
  schedule.bytes_per_rank = std::llround(buffer * rank0_fraction);
  schedule.flows = tree.flows;
  return schedule;
}

}  // namespace zerosim
