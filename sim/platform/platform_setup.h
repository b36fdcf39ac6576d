#pragma once
// The platform a run executes on: the user's SimGrid XML (checked first, so SimGrid never aborts on
// it) or one generated from the cluster: keys, which the engine builds in memory (generator()).
#include <functional>
#include <string>
#include <vector>

#include "sim/platform/platform_sink.h"
#include "workloads/run_config.h"

namespace zerosim {

// Writes what a run config's platform file declares into the config, so that the memory model and
// the reports see the cluster the engine runs: the GPU model, and GPUs per node, intra and inter where
// the file says. cluster.gpus, where the config sets it, must not exceed the file's GPU hosts; where it
// does not, the run uses all of them. The host side too: the zone's host, host_memory_bytes and
// pcie_gen props and the CPU hosts of rank 0's node (sockets, cores, memory, bandwidth, CPU Adam rate)
// replace config.host's and cluster.pcie_gen's values, as the file's GPU replaces cluster.gpu. No-op
// for a config without a platform file.
void apply_platform_file(RunConfig& config);

class PreparedPlatform {
 public:
  explicit PreparedPlatform(const RunConfig& config);

  // The platform file ("" for a generated cluster), and for a generated cluster what emits its platform.
  const std::string& file() const { return file_; }
  const std::function<void(PlatformSink&)>& generator() const { return generate_; }
  const std::vector<std::string>& rank_hosts() const { return hosts_; }
  // Per rank, the CPU host its GPU copies to (CPU offload); "" for every rank when the platform file has
  // no CPU hosts (then each GPU has a dedicated PCIe x16 of its generation to host memory).
  const std::vector<std::string>& rank_cpu_hosts() const { return cpu_hosts_; }
  const GpuSpec& gpu() const { return gpu_; }
  int64_t gpus_per_node() const { return gpus_per_node_; }
  bool nvls() const { return nvls_; }
  // NCCL's fraction of the NIC line rate for flows between nodes (the fabric's, or the file's zone prop
  // net_efficiency); 0 when neither says: those flows then run at the intra-node efficiency.
  double net_efficiency() const { return net_efficiency_; }
  // NCCL's CollNet can run: the file's zone prop collnet, or cluster.collnet on a SHARP fabric.
  bool collnet() const { return collnet_; }
  // NICs per node (cluster.nics_per_node, or the file's zone prop nics_per_node); 0: one per GPU.
  int64_t nics_per_node() const { return nics_per_node_; }

 private:
  std::string file_;
  std::function<void(PlatformSink&)> generate_;
  std::vector<std::string> hosts_;
  std::vector<std::string> cpu_hosts_;
  GpuSpec gpu_;
  int64_t gpus_per_node_ = 1;
  bool nvls_ = false;
  double net_efficiency_ = 0;
  bool collnet_ = false;
  int64_t nics_per_node_ = 0;
};

}  // namespace zerosim
