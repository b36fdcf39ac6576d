#include "sim/engine/offload_model.h"

#include <algorithm>

namespace zerosim {

double OffloadModel::cpu_step_seconds(const CpuStepWork& work) const {
  const auto elements = static_cast<double>(work.elements);
  const auto bytes = static_cast<double>(work.bytes);
  // The node's ranks run their steps at once: k ranks on C cores with T threads each get min(T, C/k)
  // cores apiece (the kernel's fair share), and 1/k of the memory bandwidth.
  const double k = static_cast<double>(ranks_per_node);
  const double share = std::min(static_cast<double>(cpu_threads_per_rank), static_cast<double>(cores) / k);
  const double compute_s = elements / (share * cpu_adam_elements_per_s_per_core);
  const double memory_s = k * bytes / mem_bw_bytes_s;
  // Each rank's pinned buffers are on the NUMA node its training thread ran on when it pinned them — s of
  // the node's n NUMA nodes when they outgrow one node's RAM (Linux's local policy falls back to the next
  // node) — each of bandwidth B/n: s·B/n to itself while k <= n/s, a 1/k share of the node's B beyond.
  const int64_t n = std::max<int64_t>(numa_nodes, 1);
  int64_t spanned = 1;
  if (numa_node_memory_bytes > 0)
    spanned = std::clamp<int64_t>(
        (work.pinned_footprint_bytes + numa_node_memory_bytes - 1) / numa_node_memory_bytes, 1, n);
  const double per_rank = std::max(static_cast<double>(n) / static_cast<double>(spanned), k);
  const double pinned_s = per_rank * static_cast<double>(work.pinned_bytes) / mem_bw_bytes_s;
  return std::max({compute_s, memory_s, pinned_s});
}

double OffloadModel::wire_bytes(int64_t bytes, bool pinned) const {
  return static_cast<double>(bytes) / (copy_efficiency * (pinned ? 1.0 : pageable_factor));
}

double OffloadModel::copy_seconds(int64_t bytes, bool pinned) const {
  return wire_bytes(bytes, pinned) / pcie_bytes_s;
}

}  // namespace zerosim
