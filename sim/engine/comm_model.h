#pragma once
// The NCCL model's constants (CommModel) and the algorithm choice a user can force (NCCL_ALGO). Plain
// data, shared by the collective planners, the selector and the engine.
#include <cstdint>
#include <string>

#include "workloads/framework_versions.h"

namespace zerosim {

// NCCL_ALGO: `automatic` picks per collective as NCCL's tuner does; `ring`, `tree` and `nvls` force one.
// As in NCCL 2.19.3-2.24.2 (before and after, NCCL fails the call), a forced algorithm that cannot run
// falls back to the ring: tree exists only for multi-node all-reduce, NVLS only for all-reduce inside one
// NVLS-capable node (or across nodes with CollNet).
// `nvls_tree` (NCCL_ALGO=NVLSTree, NCCL >= 2.18): NVLS inside each NVLS-capable node, the double binary
// tree between nodes; multi-node all-reduce only.
// `collnet` (NCCL_ALGO=CollNet, NCCL_COLLNET_ENABLE=1): in-network reduction in SHARP-capable InfiniBand
// switches; multi-node all-reduce only, where the platform enables it.
// `pat` (NCCL_ALGO=PAT, NCCL 2.23+): all-gather and reduce-scatter at one GPU per node.
enum class NcclAlgorithm { automatic, ring, tree, nvls, nvls_tree, collnet, pat };
NcclAlgorithm nccl_algorithm(const std::string& name);  // "auto" | "ring" | "tree" | "nvls" | "nvlstree" |
                                                        // "collnet" | "pat" (validated by callers)
const char* nccl_algorithm_name(
    NcclAlgorithm algorithm);  // "ring", "tree", "nvls", "nvlstree" ("" for automatic)

// SMs (one CTA per NCCL channel) a ring or tree collective's kernel holds on each GPU, by the node's GPU
// interconnect (docs/time-model.md, "Compute slowed by concurrent NCCL"): nvswitch 24, nvlink-bridge 4,
// pcie 2.
int64_t nccl_collective_ctas(const std::string& intra);

struct CommModel {
  NcclAlgorithm algorithm = NcclAlgorithm::automatic;
  double efficiency = 0.80;  // NCCL ring protocols rarely exceed ~80% of link rate (nccl-tests busbw)
  // The same for flows that leave the node, of the NIC's line rate: the fabric's nccl_net_efficiency
  // (platforms/interconnect.yaml, e.g. 0.94 on InfiniBand NDR from NCCL's maintainers' 46-48 GB/s per
  // 400 Gb/s NIC); the platform's zone prop net_efficiency; else as inside the node.
  double net_efficiency = 0.80;
  double launch_s = 5e-6;         // per collective
  double step_overhead_s = 2e-6;  // per ring step, on top of the route latency
  // A step that crosses the network costs at least this, not just its route's wire latency: NCCL's own
  // latency model for its Simple protocol over the network, 14 µs per inter-node step for the ring, the
  // tree and NVLSTree (src/graph/tuning.cc hwLat[NCCL_HW_NET][*][NCCL_PROTO_SIMPLE], NCCL 2.12-2.30): the
  // proxy thread posting, completing and flushing each network chunk.
  double net_step_latency_s = 14e-6;
  // CollNet (SHARP): the job enables it (NCCL_COLLNET_ENABLE=1, cluster.collnet) on a fabric whose switches
  // reduce; its network latency, switch reduction included, is NCCL's own figure (src/graph/tuning.cc
  // hwLat[NCCL_HW_NET][NCCL_ALGO_COLLNET_CHAIN][NCCL_PROTO_SIMPLE] = 30 µs, Direct 31, NCCL 2.21-2.30).
  bool collnet_enabled = false;
  double collnet_latency_s = 30e-6;
  // Multi-node NVLS (NVLink SHARP in the node, SHARP between nodes): NCCL's network latency for it
  // (hwLat[NCCL_HW_NET][NCCL_ALGO_NVLS][NCCL_PROTO_SIMPLE] = 18 µs, NCCL 2.18-2.30).
  double nvls_net_latency_s = 18e-6;
  // NVLSTree's kernel runs slower than its links allow: per NVLS head (one per NIC, at most one per GPU;
  // src/graph/search.cc, NVLS heads are NIC:GPU pairs) a channel's pipeline of scatter, reduce, network
  // send and receive, multicast and gather warps moves at most this much bus bandwidth (nccl-tests busbw
  // = algbw·2(n−1)/n). NCCL's own tuner constants for Hopper, 2 nodes and 3+ nodes (src/graph/tuning.cc
  // perChMaxNVLSTreeBws {0.0, 57.7, 45.5}, NCCL 2.28.3-2.30.7); the kernel they describe (the warp split
  // in src/device/all_reduce.h RunWorkColl NVLS_TREE) is the same from 2.18.1, so they hold for every
  // release with NVLSTree. Hopper's because every NVLS-capable GPU zerosim knows is a Hopper.
  double nvls_tree_head_busbw_two_nodes = 57.7e9;   // B/s
  double nvls_tree_head_busbw_more_nodes = 45.5e9;  // B/s
  // The platform's NICs per node (cluster.nics_per_node, the zone prop nics_per_node); 0: one per GPU.
  int64_t nics_per_node = 0;
  // NVLink SHARP all-reduce (NVLS) on NVSwitch-gen3 nodes: each GPU pushes its buffer into the switch
  // and pulls the reduced result, ≈ (1 + 1/N)·S per direction. Measured 478.9 GB/s busbw on 8x H100 at
  // 8 GiB = 31.39 ms, of which 2.05 ms are chunk synchronisation (below) and 57 µs the pipeline fill of
  // the first 16 MiB loop (nccl_nvls.h): 330 GB/s of wire per direction = 0.734 of NVLink4
  // (docs/time-model.md).
  double nvls_efficiency = 0.734;
  // NVLS runs as nvls_channels × N concurrent operations, each moving its share one NCCL chunk at a time
  // (sim/engine/nccl_nvls.h); a chunk is reduced in the switch and then multicast back, two handshakes of
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
  // SMs a ring or tree collective's kernel holds on each GPU while it runs (one CTA per NCCL channel), which
  // the compute stream loses meanwhile (docs/time-model.md, "Compute slowed by concurrent NCCL"); NVLS
  // collectives hold nvls_channels. 0: no contention (nccl-tests style runs, where nothing else runs).
  int64_t ctas_per_collective = 0;
  // NCCL channels a ring or tree collective runs on (one CTA each; nccl_collective_ctas of the node's
  // interconnect): how much of the buffer the tree's first loop moves (nccl_tree.h tree_fill_s).
  int64_t channels = 24;
  // Validation only: run every ring step as its own round of N flows (O(N²) flows) instead of the
  // pipelined steady state (N flows carrying the whole share).
  bool stepwise_ring = false;
  // What the NCCL release can do (versions.nccl, set by nccl_release; docs/time-model.md "NCCL releases").
  bool nvls_available = true;       // NVLS all-reduce: NCCL 2.17+
  bool nvls_tree_available = true;  // NVLSTree: NCCL 2.18+
  // A forced NCCL_ALGO that cannot run falls back to the ring: 2.19.3 to 2.24.2 (getAlgoInfo's backupAlgo);
  // before and after, NCCL fails the call (2.24.3's release notes: "Strictly enforce the ALGO/PROTO
  // filters, no longer fall back on the ring algorithm").
  bool forced_fallback = false;
  // NVLS needs this many GPUs in the node: 3 until 2.28.3 (src/transport/nvls.cc ncclNvlsInit,
  // `gpuCount <= 2` disables it), 2 from 2.28.7 (`gpuCount < 2`).
  int64_t nvls_min_gpus = 2;
  bool pat_available = true;  // PAT: NCCL 2.23+
  double pat_efficiency =
      0.75;  // PAT's rate relative to the ring's: NCCL's tuner, 0.85 in 2.23, 0.75 from 2.24
  // NVLSTree's first chunk: NCCL_NVLS_CHUNKSIZE (128 KiB; NCCL_NVLSTREE_MAX_CHUNKSIZE caps it at 64 KiB
  // from 4 nodes) from 2.21; the Simple buffer's step (4 MiB / 8 steps = 512 KiB) in 2.18-2.20.
  bool nvls_tree_chunk_from_nvls_chunksize = true;
  std::string nccl_release = kNcclNewest.text();  // for messages
};

// The release-dependent fields of `cm` for NCCL `release`.
void apply_nccl_release(CommModel& cm, const Version& release);

}  // namespace zerosim
