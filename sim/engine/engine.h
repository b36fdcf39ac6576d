#pragma once
// Executes a StepGraph on a SimGrid platform: one compute actor and one communication actor per rank
// (the CUDA compute stream and the NCCL stream), compute ops as executions on the rank's GPU host,
// collectives as ring, tree or NVLS flows over the platform's links. One engine per process (SimGrid's rule).
#include <cstdint>
#include <string>
#include <vector>

#include "sim/engine/compute_model.h"
#include "workloads/run_config.h"
#include "workloads/step_graph.h"

namespace zerosim {

struct TraceEvent {
  int rank;
  Stream stream;
  std::string name;
  double start_s, end_s;
  std::string algorithm = {};  // collectives: the NCCL algorithm simulated (ring, tree, nvls)
};

struct SimResult {
  double step_s = 0;
  double forward_s = 0, backward_s = 0, optimizer_s = 0;  // compute-stream busy time, rank 0
  double comm_s = 0;          // communication-stream busy time (transfers), rank 0
  double exposed_comm_s = 0;  // compute stream idle, waiting for communication
  double overhead_s = 0;      // framework hooks on the compute stream
  int64_t flows = 0;          // simulated point-to-point flows
  int64_t collectives = 0;    // per rank
  int64_t compute_tasks = 0;  // per rank (compute ops and hooks)
  int64_t comm_bytes_per_rank = 0;  // bytes rank 0 sent
  int64_t ring_collectives = 0, tree_collectives = 0, nvls_collectives = 0;  // NCCL algorithm chosen, per rank
  std::vector<double> task_durations;  // rank 0, by task id (critical path)
  std::vector<TraceEvent> trace;       // filled when requested
};

// NCCL_ALGO: `automatic` picks per collective as NCCL's tuner does; `ring`, `tree` and `nvls` force one.
// As in NCCL (from 2.19.3; 2.18 fails the call), a forced algorithm that cannot run falls back to the
// ring: tree exists only for multi-node all-reduce, NVLS only for all-reduce inside one NVLS-capable node.
enum class NcclAlgorithm { automatic, ring, tree, nvls };
NcclAlgorithm nccl_algorithm(const std::string& name);  // "auto" | "ring" | "tree" | "nvls" (validated by callers)

struct CommModel {
  NcclAlgorithm algorithm = NcclAlgorithm::automatic;
  double efficiency = 0.80;        // NCCL ring protocols rarely exceed ~80% of link rate (nccl-tests busbw)
  double launch_s = 5e-6;          // per collective
  double step_overhead_s = 2e-6;   // per ring step, on top of the route latency
  // NVLink SHARP all-reduce (NVLS) on NVSwitch-gen3 nodes: each GPU pushes its buffer into the switch
  // and pulls the reduced result, ≈ (1 + 1/N)·S per direction. Measured 478.9 GB/s busbw on 8x H100 at
  // 8 GiB = 31.39 ms, of which 2.05 ms are chunk synchronisation (below): 330 GB/s of wire per
  // direction = 0.73 of NVLink4 (docs/time-model.md).
  double nvls_efficiency = 0.733;
  // NVLS runs as nvls_channels × N concurrent operations, each moving its share one NCCL chunk at a time
  // (sim/nccl_nvls.h); a chunk is reduced in the switch and then multicast back, two handshakes of
  // step_overhead_s each. NCCL 2.18's NCCL_NVLS_NCHANNELS default is 16.
  int64_t nvls_channels = 16;
  int64_t nvls_chunk_handshakes = 2;
  // NVLS start-up latency: NCCL's own tuning model (src/graph/tuning.cc hwLat[NVLINK][NVLS][Simple],
  // 23-25 µs across NCCL 2.18-2.2x). NCCL picks NVLS only where its model predicts it to be faster
  // than the ring; zerosim makes the same comparison.
  double nvls_latency_s = 25e-6;
  // NCCL's tree moves data at 0.92 of the rate its ring reaches on the same links (src/graph/tuning.cc:
  // `if (a == NCCL_ALGO_TREE) busBw = std::min(busBw*.92, ...)`, NCCL 2.12-2.2x).
  double tree_efficiency = 0.92;
  // Validation only: run every ring step as its own round of N flows (O(N²) flows) instead of the
  // pipelined steady state (N flows carrying the whole share).
  bool stepwise_ring = false;
};

struct EngineOptions {
  std::string platform_file;   // SimGrid XML to load
  std::vector<std::string> rank_hosts;  // host id per rank, node-major
  int64_t gpus_per_node = 8;            // ranks [k·G, (k+1)·G) share a node
  bool nvls = false;                    // the node's NVSwitch reduces in-network (H100/H200 SXM)
  bool record_trace = false;
  CommModel comm;
};

SimResult run_step(const StepGraph& graph, const ComputeModel& compute, const EngineOptions& options);

}  // namespace zerosim
