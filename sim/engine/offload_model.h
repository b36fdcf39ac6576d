#pragma once
// What the engine needs to run CPU offload's work (docs/time-model.md, "CPU offload"): copies between GPU
// memory and host memory, and the CPU step (DeepSpeedCPUAdam) on the node's cores. Where the platform has
// CPU hosts, copies are flows over its PCIe links, so the GPUs of a node share what they really share; a
// platform without them gives each GPU its own x16 link of its generation (pcie_bytes_s).
#include <cstdint>

namespace zerosim {

struct OffloadModel {
  // Pinned cudaMemcpyAsync reaches this fraction of the x16 link's physical rate (docs/platforms.md,
  // "Host side"): the copy's bytes go on the wire as bytes / copy_efficiency.
  double copy_efficiency = 0.80;
  // A copy to or from pageable host memory is staged by the driver through a pinned bounce buffer and
  // runs at about half the pinned rate (docs/platforms.md, "Host side").
  double pageable_factor = 0.5;
  // The CPU step of every rank of a node runs at once on the node's cores — the OS spreads each process's
  // OpenMP threads over both sockets — so it is the same for every rank: these describe the node.
  int64_t cpu_threads_per_rank = 1;             // OpenMP threads of DeepSpeedCPUAdam per rank
  double cpu_adam_elements_per_s_per_core = 0;  // DeepSpeedCPUAdam, one core, memory not limiting
  double mem_bw_bytes_s = 0;                    // the node's sustained host memory bandwidth
  int64_t cores = 1;                            // the node's physical cores
  int64_t ranks_per_node = 1;
  double pcie_bytes_s = 0;  // a GPU's own x16 link, physical: copies on platforms without CPU hosts

  // Seconds one rank's CPU step over `elements` moving `bytes` of host memory takes while every rank of
  // the node runs its own: its share of the cores (at most its threads) or of the memory bandwidth,
  // whichever is slower (a CPU roofline).
  double cpu_step_seconds(int64_t elements, int64_t bytes) const;
  // What a copy puts on the wire, in a simulation at the links' physical rates.
  double wire_bytes(int64_t bytes, bool pinned) const;
  // Seconds one copy takes on a GPU's own x16 link (platforms without CPU hosts).
  double copy_seconds(int64_t bytes, bool pinned) const;
};

}  // namespace zerosim
