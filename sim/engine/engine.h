#pragma once
// Executes a StepGraph on a SimGrid platform: one compute actor and one communication actor per rank
// (the CUDA compute stream and the NCCL stream), compute ops as executions on the rank's GPU host
// (compute_model.h), collectives as the flows of the NCCL algorithm that collective_selector.h picks
// (nccl_ring.h, nccl_tree.h, nccl_nvls.h) over the platform's links; with CPU offload, copies between GPU
// and host memory as flows to the rank's CPU host and the CPU step on the training thread
// (offload_model.h). One engine per process (SimGrid's rule).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/engine/comm_model.h"
#include "sim/engine/compute_model.h"
#include "sim/engine/offload_model.h"
#include "sim/platform/platform_sink.h"
#include "workloads/run_config.h"
#include "workloads/step_graph.h"

namespace zerosim {

// The trace's tracks per rank: the CUDA compute stream, the NCCL stream, the training thread's CPU work
// (DeepSpeedCPUAdam), the PCIe copies of CPU offload, and the training thread issuing kernels and running
// framework hooks (host).
enum class Track { compute, nccl, cpu, pcie, host };

struct TraceEvent {
  int rank;
  Track track;
  std::string name;
  double start_s, end_s;
  std::string algorithm = {};  // collectives: the NCCL algorithm simulated (ring, tree, nvls)
};

struct SimResult {
  double step_s = 0;
  double forward_s = 0, backward_s = 0, optimizer_s = 0;  // compute-stream busy time, rank 0
  double comm_s = 0;          // communication-stream busy time in collectives, rank 0
  double exposed_comm_s = 0;  // compute stream idle, waiting for communication (not offload copies)
  // The training thread (docs/time-model.md, "The host that launches kernels"): its seconds issuing kernels
  // and running framework hooks, and the time the compute stream idled waiting for it to issue the next
  // kernel. overhead_s is the ZeRO-3 hooks' share of host_s; what it costs the step is in exposed_host_s.
  double host_s = 0;
  double exposed_host_s = 0;
  // What the compute stream lost to NCCL's kernels holding SMs while collectives ran beside it.
  double overlap_slowdown_s = 0;
  double overhead_s = 0;
  // CPU offload (docs/time-model.md): DeepSpeedCPUAdam on the host while the GPU waits; the PCIe copies
  // between GPU and host memory (busy time on the streams that issue them) and the part of them the compute
  // stream waited for. exposed_comm_s excludes exposed_offload_copy_s.
  double cpu_optimizer_s = 0;
  double offload_copy_s = 0;
  double exposed_offload_copy_s = 0;
  int64_t offload_copy_bytes_per_rank = 0;
  int64_t flows = 0;                // point-to-point flows of the step's collectives (replayed ones too)
  int64_t collectives = 0;          // per rank
  int64_t compute_tasks = 0;        // per rank (compute ops and hooks)
  int64_t comm_bytes_per_rank = 0;  // bytes rank 0 sent
  int64_t ring_collectives = 0, tree_collectives = 0, nvls_collectives = 0, nvls_tree_collectives = 0,
          collnet_collectives = 0, pat_collectives = 0;  // NCCL algorithm chosen, per rank
  std::vector<double> task_durations;                    // rank 0, by task id (critical path)
  std::vector<TraceEvent> trace;                         // filled when requested
};

struct EngineOptions {
  std::string platform_file;  // SimGrid XML to load
  // A generated cluster instead: emits its platform, which the engine builds in memory (platform_file
  // is then unused; simgrid_engine.h).
  std::function<void(PlatformSink&)> generate_platform;
  std::vector<std::string> rank_hosts;  // host id per rank, node-major
  int64_t gpus_per_node = 8;            // ranks [k·G, (k+1)·G) share a node
  bool nvls = false;                    // the node's NVSwitch reduces in-network (H100/H200 SXM)
  bool record_trace = false;
  CommModel comm;
  // Where the forced NCCL algorithm came from, for the error when the NCCL release cannot run it: the run
  // config and its key, or the command and its flag.
  std::string nccl_algo_file;
  std::string nccl_algo_key = "cluster.nccl_algo";
  // CPU offload: per rank, the CPU host (SimGrid host) its GPU copies to and runs CPU Adam on; empty, or ""
  // for a rank, where the platform has none (then `offload`'s default rates apply).
  std::vector<std::string> rank_cpu_hosts;
  OffloadModel offload;
};

SimResult run_step(const StepGraph& graph, const ComputeModel& compute, const EngineOptions& options);

}  // namespace zerosim
