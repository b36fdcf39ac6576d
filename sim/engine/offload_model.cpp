#include "sim/engine/offload_model.h"

#include <algorithm>

namespace zerosim {

double OffloadModel::cpu_step_seconds(int64_t elements, int64_t bytes) const {
  // SimGrid shares a host's cores equally among its executions, each capped at its thread count; the
  // same rule here: k ranks on C cores with T threads each get min(T, C/k) cores apiece.
  const double k = static_cast<double>(ranks_per_socket);
  const double cores = std::min(static_cast<double>(cpu_threads_per_rank), static_cast<double>(cores_per_socket) / k);
  const double compute_s = static_cast<double>(elements) / (cores * cpu_adam_elements_per_s_per_core);
  const double memory_s = k * static_cast<double>(bytes) / mem_bw_bytes_s;
  return std::max(compute_s, memory_s);
}

double OffloadModel::wire_bytes(int64_t bytes, bool pinned) const {
  return static_cast<double>(bytes) / (copy_efficiency * (pinned ? 1.0 : pageable_factor));
}

double OffloadModel::copy_seconds(int64_t bytes, bool pinned) const { return wire_bytes(bytes, pinned) / pcie_bytes_s; }

}  // namespace zerosim
