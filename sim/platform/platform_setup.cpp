#include "sim/platform/platform_setup.h"

#include "sim/platform/interconnect_catalogue.h"
#include "sim/platform/platform_builder.h"
#include "sim/platform/platform_check.h"
#include "workloads/config_error.h"
#include "workloads/deepspeed_config.h"

namespace zerosim {

namespace {

// The file's host side over the config's: its catalogue host, then what its CPU hosts and zone say.
void apply_platform_host(const PlatformInfo& info, RunConfig& config) {
  ClusterSpec& cluster = config.cluster;
  if (!info.host.empty()) cluster.host = info.host;
  config.host = resolve_host(cluster, config.gpu, config.file);
  if (info.pcie_gen > 0) cluster.pcie_gen = info.pcie_gen;
  // Rank 0's node stands for every node (a run's nodes are alike).
  const std::string& first = info.gpu_hosts.front().cpu_host;
  std::vector<const PlatformCpuHost*> node;
  const PlatformCpuHost* rank0 = nullptr;
  for (const auto& c : info.cpu_hosts)
    if (c.host == first) rank0 = &c;
  for (const auto& c : info.cpu_hosts)
    if (rank0 && c.node == rank0->node) node.push_back(&c);
  if (rank0) {
    HostSpec& h = config.host;
    h.sockets = static_cast<int64_t>(node.size());
    h.cores_per_socket = rank0->cores;
    // Without the prop, the host's (the catalogue's, or cluster.host_numa_per_socket).
    if (rank0->numa_nodes > 0) h.numa_per_socket = rank0->numa_nodes;
    h.mem_bw_bytes_s = rank0->mem_bw_bytes_s;
    h.cpu_adam_elements_per_s_per_core = rank0->cpu_adam_elements_per_s_per_core;
    h.rates_source = "platform";
    h.memory_bytes = 0;
    for (const auto* c : node) h.memory_bytes += c->memory_bytes;
  }
  if (info.host_memory_bytes > 0) config.host.memory_bytes = info.host_memory_bytes;
}

}  // namespace

void apply_platform_file(RunConfig& config) {
  ClusterSpec& cluster = config.cluster;
  if (cluster.platform.empty()) return;
  const PlatformInfo info = check_platform_file(cluster.platform, cluster.gpus_set ? cluster.gpus : 0);
  if (!cluster.gpus_set) {
    cluster.gpus = static_cast<int64_t>(info.gpu_hosts.size());
    resolve_train_batch_size(config);
  }
  config.gpu = info.gpu_hosts.front().gpu;
  cluster.gpu = config.gpu.id;
  if (info.gpus_per_node > 0) cluster.gpus_per_node = info.gpus_per_node;
  if (!info.intra.empty()) cluster.intra = info.intra;
  if (!info.inter.empty()) cluster.inter = info.inter;
  cluster.collnet = info.collnet;
  if (info.nics_per_node > 0) cluster.nics_per_node = info.nics_per_node;
  if (info.nic_gbps > 0) cluster.nic_gbps = info.nic_gbps;
  if (info.oversubscription > 0) cluster.oversubscription = info.oversubscription;
  apply_platform_host(info, config);
}

PreparedPlatform::PreparedPlatform(const RunConfig& c) {
  if (!c.cluster.platform.empty()) {
    const PlatformInfo info = check_platform_file(c.cluster.platform, c.cluster.gpus);
    file_ = c.cluster.platform;
    for (int64_t r = 0; r < c.cluster.gpus; ++r) {
      hosts_.push_back(info.gpu_hosts[static_cast<size_t>(r)].host);
      cpu_hosts_.push_back(info.gpu_hosts[static_cast<size_t>(r)].cpu_host);
    }
    gpu_ = info.gpu_hosts.front().gpu;
    gpus_per_node_ = info.gpus_per_node > 0 ? info.gpus_per_node : c.cluster.gpus_per_node;
    nvls_ = info.nvls;
    net_efficiency_ = info.net_efficiency;
    collnet_ = info.collnet;
    nics_per_node_ = info.nics_per_node;
    return;
  }
  // Generated: checked now (its errors before any simulation starts), built by the engine in memory.
  check_generated_cluster(c.cluster, c.gpu);
  generate_ = [cluster = c.cluster, gpu = c.gpu, host = c.host](PlatformSink& sink) {
    generate_platform(cluster, gpu, host, sink);
  };
  for (int64_t r = 0; r < c.cluster.gpus; ++r)
    hosts_.push_back(gpu_host_name(r / c.cluster.gpus_per_node, r % c.cluster.gpus_per_node));
  cpu_hosts_ = rank_cpu_host_names(c.cluster, c.gpu, c.host);
  gpu_ = c.gpu;
  gpus_per_node_ = c.cluster.gpus_per_node;
  nvls_ = resolve_intra(c.cluster.intra, c.gpu.id) == "nvswitch" &&
          interconnect_catalogue().gpu_links(c.gpu.id).nvls;
  collnet_ = c.cluster.collnet;
  nics_per_node_ = c.cluster.nics_per_node;
  if (c.cluster.inter != "none")
    net_efficiency_ = interconnect_catalogue().fabric(c.cluster.inter).nccl_net_efficiency;
}

}  // namespace zerosim
