#pragma once
// What the engine needs to run CPU offload's work (docs/time-model.md, "CPU offload"): copies between GPU
// memory and pinned host memory, and DeepSpeedCPUAdam on the host's cores. Where the platform has CPU
// hosts, copies are flows over its PCIe links and CPU Adam runs on its cores, so the GPUs of a node share
// what they really share. A platform without CPU hosts gets the documented default below: a PCIe x16 of
// the GPU's generation per GPU, nothing shared, and the catalogue host's cores.
#include <cstdint>

namespace zerosim {

struct OffloadModel {
  // Pinned cudaMemcpyAsync reaches this fraction of the x16 link's physical rate (docs/platforms.md,
  // "Host side"): the copy's bytes go on the wire as bytes / copy_efficiency.
  double copy_efficiency = 0.80;
  // A copy to or from pageable host memory is staged by the driver through a pinned bounce buffer and
  // runs at about half the pinned rate (docs/platforms.md, "Host side").
  double pageable_factor = 0.5;
  // OpenMP threads DeepSpeedCPUAdam runs with on each rank (the process's intra-op threads).
  int64_t cpu_threads_per_rank = 1;
  // The default for platforms without CPU hosts.
  double pcie_bytes_s = 0;                    // each GPU's x16 link, physical
  double cpu_adam_elements_per_s_per_core = 0;  // a CPU host's speed
  double mem_bw_bytes_s = 0;                    // per socket, sustained
  int64_t cores_per_socket = 1;
  int64_t ranks_per_socket = 1;  // ranks of a node sharing one socket's cores and memory

  // Seconds one rank's CPU step over `elements` moving `bytes` of host memory takes when every rank of
  // the socket runs it at once: its cores' share, or the socket's memory bandwidth's, whichever is slower.
  double cpu_step_seconds(int64_t elements, int64_t bytes) const;
  // Seconds one copy of `bytes` takes on a GPU's own x16 link.
  double copy_seconds(int64_t bytes, bool pinned) const;
  // What the copy puts on the wire, in a simulation at the links' physical rates.
  double wire_bytes(int64_t bytes, bool pinned) const;
};

}  // namespace zerosim
