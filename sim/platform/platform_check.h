#pragma once
// Checks a user's SimGrid platform XML before SimGrid sees it. SimGrid aborts the process on a
// malformed platform; zerosim instead reports a ConfigError (exit 2) naming the file and what is wrong:
// missing/unreadable file, not well-formed XML, wrong root or DTD version, unknown ids in routes, bad
// units, no GPU hosts, GPU hosts without usable properties, GPU hosts that cannot reach each other
// (routes are directed: symmetrical="NO" goes one way), fewer GPU hosts than the run asks for; and the
// route tables SimGrid 3.32 aborts, segfaults or loops on (a route declared twice, also through a
// symmetrical route's reverse; an empty route; a <route> naming a zone or another zone's host; a
// <zoneRoute> whose gateways are not inside its zones; routes in Cluster or None zones; zone routings
// other than Full, Floyd, Dijkstra, DijkstraCache, Cluster and None).
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/gpu_catalogue.h"
#include "workloads/host_catalogue.h"

namespace zerosim {

// One GPU host as the engine needs it: its SimGrid name and the GPU it models.
struct PlatformGpuHost {
  std::string host;   // SimGrid host id
  GpuSpec gpu;        // from the host's props, completed from the catalogue when `gpu` names an entry
  int64_t node = -1;  // `node` prop (-1 when absent)
  int64_t local_rank = -1;
  // The CPU host its GPU copies to ("" when the file has none): of the CPU hosts on its node (all of them
  // when either has no `node` prop), the first one a <route> joins it to directly, else the first one.
  std::string cpu_host;
};

// One CPU socket of a node (a <host> with <prop id="kind" value="cpu"/>): what CPU offload runs on.
// Props the host leaves out come from the catalogue host (zone prop `host`, else the GPU's usual node);
// cores is the host's `core` attribute and cpu_adam_elements_per_s_per_core its speed (one flop per
// element), which the props of the same name, where given, must equal.
struct PlatformCpuHost {
  std::string host;     // SimGrid host id
  int64_t node = -1;    // `node` prop (-1 when absent)
  int64_t socket = -1;  // `socket` prop (-1 when absent)
  int64_t cores = 1;
  int64_t numa_nodes = 0;    // `numa_nodes` prop: NUMA nodes in this socket (NPS/SNC); 0 = not given
  int64_t memory_bytes = 0;  // this socket's share of the node's RAM
  double mem_bw_bytes_s = 0;
  double cpu_adam_elements_per_s_per_core = 0;
};

struct PlatformInfo {
  std::string file;
  std::vector<PlatformGpuHost> gpu_hosts;  // rank order: by (node, local_rank) when every host has them,
                                           // otherwise document order
  int64_t hosts = 0;                       // every <host> (and cluster member), GPU or not
  std::string intra, inter;                // zone props; empty when the file does not say
  int64_t gpus_per_node = 0;               // zone prop; 0 when the file does not say
  bool nvls = false;                       // zone prop nvls="true": NVSwitch with NVLink SHARP
  std::vector<PlatformCpuHost> cpu_hosts;  // by (node, socket) when every one has them, else document order
  std::string host;                        // zone prop host: a platforms/hosts.yaml id; empty when absent
  int64_t host_memory_bytes = 0;           // zone prop: host RAM per node; 0 when absent
  int pcie_gen = 0;                        // zone prop: the GPUs' PCIe generation; 0 when absent
  double net_efficiency = 0;               // zone prop: NCCL's fraction of NIC line rate; 0 when absent
  bool collnet = false;                    // zone prop collnet="true": the switches reduce (NCCL CollNet)
  // Zone props nics_per_node, nic_gbps, oversubscription (the links carry their effect; echoed in the
  // run's config.cluster); 0 when absent.
  int64_t nics_per_node = 0;
  double nic_gbps = 0;
  double oversubscription = 0;
};

// `requested_gpus` > 0 also checks that the platform has at least that many GPU hosts.
PlatformInfo check_platform_file(const std::string& path, int64_t requested_gpus = 0);
// Same checks on XML text already in memory (`origin` names it in messages).
PlatformInfo check_platform_xml(const std::string& xml, const std::string& origin,
                                int64_t requested_gpus = 0);

// The first `requested_gpus` GPU hosts of a checked platform file, in rank order (all when 0).
std::vector<std::string> gpu_hosts(const std::string& path, int64_t requested_gpus = 0);

}  // namespace zerosim
