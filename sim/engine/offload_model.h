#pragma once
// What the engine needs to run CPU offload's work (docs/time-model.md, "CPU offload"): copies between GPU
// memory and host memory, and the CPU step (DeepSpeedCPUAdam) on the node's cores. Where the platform has
// CPU hosts, copies are flows over its PCIe links, so the GPUs of a node share what they really share; a
// platform without them gives each GPU its own x16 link of its generation (pcie_bytes_s).
#include <cstdint>

namespace zerosim {

// One rank's CPU step: DeepSpeedCPUAdam and its unscale and cast passes over the rank's partition.
struct CpuStepWork {
  int64_t elements = 0;      // fp32 elements updated
  int64_t bytes = 0;         // host memory traffic
  int64_t pinned_bytes = 0;  // the part of `bytes` in pinned (page-locked) buffers
  // What the rank has pinned in all (its buffers, rounded as the allocator rounds them): more than one
  // NUMA node's RAM spills onto the next node, whose channels then serve part of the pinned traffic.
  int64_t pinned_footprint_bytes = 0;
};

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
  int64_t numa_nodes = 1;                       // the node's NUMA nodes, each with an equal share of it
  int64_t numa_node_memory_bytes = 0;  // RAM per NUMA node (the node's over numa_nodes); 0 = unbounded
  int64_t cores = 1;                   // the node's physical cores
  int64_t ranks_per_node = 1;
  double pcie_bytes_s = 0;  // a GPU's own x16 link, physical: copies on platforms without CPU hosts

  // Seconds one rank's CPU step takes while every rank of the node runs its own: its share of the cores
  // (at most its threads), of the node's memory bandwidth, or — for the pinned bytes, whose pages sit on
  // the NUMA node of the thread that allocated them (and the next ones, where they did not fit) — of
  // those nodes' bandwidth, whichever is slowest (a CPU roofline).
  double cpu_step_seconds(const CpuStepWork& work) const;
  // What a copy puts on the wire, in a simulation at the links' physical rates.
  double wire_bytes(int64_t bytes, bool pinned) const;
  // Seconds one copy takes on a GPU's own x16 link (platforms without CPU hosts).
  double copy_seconds(int64_t bytes, bool pinned) const;
};

}  // namespace zerosim
