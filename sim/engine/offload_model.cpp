#include "sim/engine/offload_model.h"

#include <algorithm>

namespace zerosim {

double OffloadModel::cpu_step_seconds(int64_t elements, int64_t bytes) const {
  // The node's ranks run their steps at once: k ranks on C cores with T threads each get min(T, C/k)
  // cores apiece (the kernel's fair share), and 1/k of the memory bandwidth.
  const double k = static_cast<double>(ranks_per_node);
  const double share = std::min(static_cast<double>(cpu_threads_per_rank), static_cast<double>(cores) / k);
  const double compute_s = static_cast<double>(elements) / (share * cpu_adam_elements_per_s_per_core);
  const double memory_s = k * static_cast<double>(bytes) / mem_bw_bytes_s;
  return std::max(compute_s, memory_s);
}

double OffloadModel::wire_bytes(int64_t bytes, bool pinned) const {
  return static_cast<double>(bytes) / (copy_efficiency * (pinned ? 1.0 : pageable_factor));
}

double OffloadModel::copy_seconds(int64_t bytes, bool pinned) const {
  return wire_bytes(bytes, pinned) / pcie_bytes_s;
}

}  // namespace zerosim
