#pragma once
// The host catalogue (platforms/hosts.yaml, compiled into the binary): the CPU side of a node — sockets,
// cores, host RAM, memory bandwidth, DeepSpeedCPUAdam's per-core throughput, and how the GPUs hang off
// PCIe. CPU offload (docs/time-model.md, "CPU offload") runs on it. Each GPU of platforms/gpus.yaml
// names the node it usually comes in (`host:`); `cluster.host` picks another.
#include <cstdint>
#include <string>
#include <vector>

namespace zerosim {

struct HostSpec {
  std::string id;    // catalogue key, e.g. dgx-a100
  std::string name;  // what it is, e.g. "NVIDIA DGX A100: 2x AMD EPYC 7742"
  int64_t sockets = 1;
  int64_t cores_per_socket = 1;  // physical cores
  // NUMA nodes per socket as the BIOS sets them (AMD EPYC NPS1/2/4, Intel SNC2/4): the socket's memory
  // channels split among them. A pinned host buffer lives on one of them (docs/time-model.md, "CPU offload").
  int64_t numa_per_socket = 1;
  int64_t memory_bytes = 0;   // host RAM of the node
  double mem_bw_bytes_s = 0;  // sustained (STREAM-like) memory bandwidth per socket, B/s
  // DeepSpeedCPUAdam: fp32 elements one core updates per second when memory bandwidth does not limit it.
  double cpu_adam_elements_per_s_per_core = 0;
  // GPUs behind one PCIe switch sharing one x16 uplink to the CPU (DGX A100: 2); 1 = each GPU on its own
  // root port.
  int64_t gpus_per_pcie_switch = 1;
  std::string source;
  // Where cpu_adam_elements_per_s_per_core and mem_bw_bytes_s come from: "catalogue" (platforms/hosts.yaml),
  // "platform" (a platform file's CPU hosts) or "calibration" (a calibration file's host: section, applied
  // by sim/batch). The simulate JSON's host_model says it.
  std::string rates_source = "catalogue";

  int64_t cores() const { return sockets * cores_per_socket; }
  int64_t numa_nodes() const { return sockets * numa_per_socket; }
};

// Throws ConfigError naming `file`/`key` and listing the known hosts.
HostSpec find_host(const std::string& id, const std::string& file = "",
                   const std::string& key = "cluster.host");
std::vector<HostSpec> host_catalogue();
std::vector<std::string> host_ids();

}  // namespace zerosim
