#include "sim/engine/nccl_nvls_tree.h"

#include <algorithm>
#include <cmath>

#include "sim/engine/nccl_nvls.h"
#include "sim/engine/nccl_tree.h"

namespace zerosim {

int64_t nvls_tree_chunk_bytes(const CommModel& cm, int64_t bytes, int64_t concurrent_ops, int64_t nodes) {
  constexpr int64_t KiB = 1024;
  const int64_t ops = std::max<int64_t>(1, concurrent_ops);
  int64_t chunk = !cm.nvls_tree_chunk_from_nvls_chunksize ? 512 * KiB : nodes >= 4 ? 64 * KiB : 128 * KiB;
  if (bytes < 32 * ops * chunk && chunk > 256 * KiB) chunk = 256 * KiB;
  if (bytes < 16 * ops * chunk && chunk > 128 * KiB) chunk = 128 * KiB;
  if (bytes < 4 * ops * chunk && chunk > 64 * KiB) chunk = 64 * KiB;
  if (bytes < 1 * ops * chunk && chunk > 32 * KiB) chunk = 32 * KiB;
  return chunk;
}

bool nvls_tree_possible(const CommModel& cm, const RankLayout& layout) {
  return layout.nodes > 1 && layout.gpus_per_node >= cm.nvls_min_gpus && layout.full_nodes();
}

FlowPlan plan_nvls_trees(const RankLayout& layout, const CommModel& cm, const RouteOf& route_of) {
  FlowPlan plan;
  plan.net_factor = cm.efficiency / cm.net_efficiency;
  plan.nodes = layout.nodes;
  const int64_t n = layout.ranks, G = layout.gpus_per_node;
  plan.sends.resize(static_cast<size_t>(n));
  const double g = static_cast<double>(G);
  const double nvls = (1.0 + 1.0 / g) * cm.efficiency / cm.nvls_efficiency;
  for (int64_t r = 0; r < n; ++r) {
    const int64_t node = r / G, local = r % G;
    plan.sends[static_cast<size_t>(r)].push_back({node * G + (local + 1) % G, nvls});
    add_node_tree_sends(plan, layout, r, 0.5 / g);
  }
  route_plan(plan, route_of);
  return plan;
}

int64_t nvls_tree_heads(const CommModel& cm, const RankLayout& layout) {
  const int64_t G = layout.gpus_per_node;
  return cm.nics_per_node > 0 ? std::min(G, cm.nics_per_node) : G;
}

double nvls_tree_kernel_seconds_per_byte(const CommModel& cm, const RankLayout& layout) {
  const double per_head =
      layout.nodes <= 2 ? cm.nvls_tree_head_busbw_two_nodes : cm.nvls_tree_head_busbw_more_nodes;
  if (per_head <= 0) return 0;
  const double n = static_cast<double>(layout.ranks);
  return 2.0 * (n - 1.0) / n / (static_cast<double>(nvls_tree_heads(cm, layout)) * per_head);
}

namespace {
// NVLSTree's concurrent operations (channels × GPUs per node) and its chunk for a `bytes`-byte buffer.
int64_t concurrent_ops(const CommModel& cm, const RankLayout& layout) {
  return cm.nvls_channels * layout.gpus_per_node;
}
int64_t chunk_for(const CommModel& cm, const RankLayout& layout, int64_t bytes) {
  return nvls_tree_chunk_bytes(cm, bytes, concurrent_ops(cm, layout), layout.nodes);
}
}  // namespace

double nvls_tree_kernel_floor_s(const CommModel& cm, const RankLayout& layout, int64_t bytes) {
  const double seconds_per_byte = nvls_tree_kernel_seconds_per_byte(cm, layout);
  if (seconds_per_byte <= 0) return 0;
  const double handshakes =
      nvls_handshakes_s(cm, bytes, concurrent_ops(cm, layout), chunk_for(cm, layout, bytes));
  return std::max(0.0, seconds_per_byte * static_cast<double>(bytes) - handshakes);
}

double nvls_tree_overhead_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                            int64_t bytes) {
  return nvls_sync_s(cm, bytes, concurrent_ops(cm, layout), chunk_for(cm, layout, bytes)) +
         static_cast<double>(2 * node_tree_depth(layout.nodes)) *
             (plan.latency_s + net_step_extra_s(cm, plan) + cm.step_overhead_s);
}

double nvls_tree_fill_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout, int64_t bytes) {
  if (plan.net_hop_bandwidth <= 0 || plan.hop_bandwidth <= 0) return 0;
  const int64_t G = layout.gpus_per_node;
  const int64_t loop = nvls_loop_bytes(bytes, concurrent_ops(cm, layout), chunk_for(cm, layout, bytes));
  const double l = static_cast<double>(loop);
  const double network = static_cast<double>(node_tree_depth(layout.nodes)) * l /
                         (static_cast<double>(G) * cm.net_efficiency * plan.net_hop_bandwidth);
  const double first = nvls_first_loop_s(cm, plan.hop_bandwidth, loop, G) + network;
  return std::max(0.0, first - plan.seconds_per_byte * l / cm.efficiency);
}

double nvls_tree_predicted_s(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                             int64_t bytes) {
  return std::max(plan.seconds_per_byte * static_cast<double>(bytes) / cm.efficiency,
                  nvls_tree_kernel_floor_s(cm, layout, bytes)) +
         nvls_tree_overhead_s(cm, plan, layout, bytes) + nvls_tree_fill_s(cm, plan, layout, bytes);
}

CollectiveSchedule nvls_tree_schedule(const CommModel& cm, const FlowPlan& plan, const RankLayout& layout,
                                      int64_t bytes) {
  CollectiveSchedule schedule = weighted_schedule(
      cm, plan, NcclAlgorithm::nvls_tree, bytes,
      cm.launch_s + nvls_tree_overhead_s(cm, plan, layout, bytes) + nvls_tree_fill_s(cm, plan, layout, bytes),
      cm.nvls_efficiency / cm.efficiency);
  schedule.min_flow_s = nvls_tree_kernel_floor_s(cm, layout, bytes);
  return schedule;
}

}  // namespace zerosim
