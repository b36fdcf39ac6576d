#pragma once
// Generates a SimGrid platform (XML, DTD 4.1) for a cluster described by the run config's `cluster:`
// keys: one host per GPU named node{n}-gpu{g}, NVSwitch / NVLink-bridge / PCIe inside a node, one NIC
// per GPU into a leaf/spine fat tree (rail-optimised or not) between nodes; and per node and CPU socket
// a CPU host node{n}-cpu{s}-host (platforms/hosts.yaml) that each GPU reaches over its PCIe x16 link,
// the PCIe switch uplink it shares (where it does) and the socket's memory link. Every rate and latency
// comes from platforms/interconnect.yaml and hosts.yaml; the XML starts with comments naming their sources.
//
// Routing: one DijkstraCache zone whose <route>s join adjacent elements only. SimGrid picks the path
// with the fewest links, so each edge's link count is chosen to make the physical path the unique
// shortest one (see the comment in platform_builder.cpp) — no route ever passes through another GPU.
#include <string>
#include <vector>

#include "sim/platform/platform_sink.h"
#include "workloads/gpu_catalogue.h"
#include "workloads/host_catalogue.h"
#include "workloads/run_config.h"

namespace zerosim {

// How messages name the cluster settings: the run config's keys by default; `zerosim platform` passes
// its flags, so the user reads the names they typed.
struct ClusterKeys {
  std::string file;  // where the settings came from ("" = the run config)
  std::string gpu = "cluster.gpu";
  std::string gpus = "cluster.gpus";
  std::string gpus_per_node = "cluster.gpus_per_node";
  std::string intra = "cluster.intra";
  std::string inter = "cluster.inter";
  std::string host = "cluster.host";
  std::string host_memory_gib = "cluster.host_memory_gib";
  std::string host_cpu_cores = "cluster.host_cpu_cores";
  std::string pcie_gen = "cluster.pcie_gen";
  std::string nics_per_node = "cluster.nics_per_node";
  std::string nic_gbps = "cluster.nic_gbps";
  std::string oversubscription = "cluster.oversubscription";
  std::string collnet = "cluster.collnet";
};

// Hosts = cluster.nodes() x cluster.gpus_per_node (whole nodes; ranks map node-major onto them).
// Throws ConfigError (file and key from `keys`) for values the hardware cannot have: inter=none with
// more than one node, nvswitch on a GPU without an SXM/NVSwitch form, nvlink-bridge on a GPU without a
// bridge, ...
// `host` is the CPU side of every node; without it, resolve_host(cluster, gpu) (cluster.host or the GPU's
// usual node, with cluster.host_memory_gib and host_cpu_cores applied). cluster.pcie_gen (0 = the GPU's
// own) sets the rate of every GPU's x16 link and of the PCIe switch uplinks.
std::string build_platform_xml(const ClusterSpec& cluster, const GpuSpec& gpu, const HostSpec& host,
                               const ClusterKeys& keys = {});
// The checks build_platform_xml makes before it writes anything (the same ConfigErrors).
void check_generated_cluster(const ClusterSpec& cluster, const GpuSpec& gpu, const ClusterKeys& keys = {});
// The same platform, element by element into `sink` (the XML writer, or the engine's SimGrid sink).
void generate_platform(const ClusterSpec& cluster, const GpuSpec& gpu, const HostSpec& host,
                       PlatformSink& sink, const ClusterKeys& keys = {});
std::string build_platform_xml(const ClusterSpec& cluster, const GpuSpec& gpu, const ClusterKeys& keys = {});

// `intra: auto` → nvswitch when the GPU has an SXM/NVSwitch form (interconnect catalogue), else pcie.
std::string resolve_intra(const std::string& intra, const std::string& gpu_id);

// `pcie_gen: 0` (auto) → the GPU's own PCIe generation (interconnect catalogue); Gen4 for a GPU the
// catalogue does not know (a platform file's own GPU).
int resolve_pcie_gen(int pcie_gen, const std::string& gpu_id);

// SimGrid host names the generator uses (tests and the engine's reports refer to them).
std::string gpu_host_name(long node, long local_rank);
std::string cpu_host_name(long node, long socket);  // node{n}-cpu{s}-host

// The CPU host each rank's GPU routes to in the platform build_platform_xml writes (rank order, node-major).
std::vector<std::string> rank_cpu_host_names(const ClusterSpec& cluster, const GpuSpec& gpu,
                                             const HostSpec& host);

}  // namespace zerosim
