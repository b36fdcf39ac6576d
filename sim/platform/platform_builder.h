#pragma once
// Generates a SimGrid platform (XML, DTD 4.1) for a cluster described by the run config's `cluster:`
// keys: one host per GPU named node{n}-gpu{g}, NVSwitch / NVLink-bridge / PCIe inside a node, one NIC
// per GPU into a leaf/spine fat tree (rail-optimised or not) between nodes. Every rate and latency
// comes from platforms/interconnect.yaml; the XML starts with a comment naming their sources.
//
// Routing: one DijkstraCache zone whose <route>s join adjacent elements only. SimGrid picks the path
// with the fewest links, so each edge's link count is chosen to make the physical path the unique
// shortest one (see the comment in platform_builder.cpp) — no route ever passes through another GPU.
#include <string>

#include "workloads/gpu_catalogue.h"
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
};

// Hosts = cluster.nodes() x cluster.gpus_per_node (whole nodes; ranks map node-major onto them).
// Throws ConfigError (file and key from `keys`) for values the hardware cannot have: inter=none with
// more than one node, nvswitch on a GPU without an SXM/NVSwitch form, nvlink-bridge on a GPU without a
// bridge, ...
std::string build_platform_xml(const ClusterSpec& cluster, const GpuSpec& gpu, const ClusterKeys& keys = {});

// `intra: auto` → nvswitch when the GPU has an SXM/NVSwitch form (interconnect catalogue), else pcie.
std::string resolve_intra(const std::string& intra, const std::string& gpu_id);

// SimGrid link names the generator uses (tests and the engine's reports refer to them).
std::string gpu_host_name(long node, long local_rank);

}  // namespace zerosim
