#pragma once
// The interconnect catalogue (platforms/interconnect.yaml, compiled into the binary): every link rate
// and latency the platform generator writes, with its source. SI units here (B/s, s).
#include <map>
#include <string>
#include <vector>

namespace zerosim {

// Which intra-node links a GPU model has and how fast they are.
struct GpuLinks {
  std::string gpu;                   // catalogue id (platforms/gpus.yaml)
  int pcie_gen = 4;                  // generation of the GPU's x16 host link
  double nvswitch_bytes_s = 0;       // per GPU per direction into an NVSwitch; 0 = no SXM/NVSwitch form
  double nvlink_bridge_bytes_s = 0;  // per direction within a bridged pair; 0 = no bridge
  bool nvls = false;                 // NVSwitch with NVLink SHARP (in-switch all-reduce)
  std::string source;
};

// An inter-node fabric: NIC + leaf/spine switches of one technology.
struct FabricSpec {
  std::string id;            // ib-hdr200, ...
  double port_bytes_s = 0;   // NIC and switch port rate per direction
  double nic_latency_s = 0;  // one NIC's share of the end-to-end latency
  int switch_ports = 0;      // leaf switch radix (half down, half up)
  double switch_latency_s = 0;
  int nic_pcie_gen = 4;
  // The fraction of the NIC's line rate NCCL's inter-node transfers reach (CommModel::net_efficiency).
  double nccl_net_efficiency = 0.94;
  bool sharp = false;  // the switches reduce in the network (InfiniBand SHARP): NCCL's CollNet can run
  std::string sharp_source;
  std::string source;
  std::string nccl_net_efficiency_source;
};

struct InterconnectCatalogue {
  std::map<std::string, GpuLinks> gpus;
  std::map<int, double> pcie_x16_bytes_s;  // by generation
  std::map<int, std::string> pcie_sources;
  double pcie_link_latency_s = 0;
  std::string pcie_latency_source;
  double pcie_switch_uplink_latency_s = 0;  // a shared PCIe switch's uplink to the CPU
  std::string pcie_switch_uplink_source;

  double root_complex_latency_s = 0;
  std::string root_complex_source;
  double socket_link_bytes_s = 0;
  double socket_link_latency_s = 0;
  std::string socket_link_source;
  int max_gpus_single_socket = 2;
  double memory_latency_s = 0;  // a CPU socket's host memory
  std::string memory_latency_source;

  double nvlink_port_latency_s = 0;
  double nvswitch_latency_s = 0;
  double nvlink_bridge_latency_s = 0;
  std::string nvlink_latency_source;

  std::map<std::string, FabricSpec> fabrics;

  // Lookups that fail with a ConfigError naming `key` and the allowed values.
  const GpuLinks& gpu_links(const std::string& gpu_id, const std::string& file = "",
                            const std::string& key = "cluster.gpu") const;
  const FabricSpec& fabric(const std::string& id, const std::string& file = "",
                           const std::string& key = "cluster.inter") const;
  double pcie_rate(int gen) const;  // x16, per direction
};

const InterconnectCatalogue& interconnect_catalogue();

// Allowed values of ClusterSpec::intra and ::inter ("none" included), for messages and --help.
std::vector<std::string> intra_kinds();
std::vector<std::string> inter_kinds();

}  // namespace zerosim
