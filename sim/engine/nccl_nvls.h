#pragma once
// NCCL's NVLink SHARP all-reduce (NVLS) inside one NVSwitch-gen3 node: how NCCL cuts it into chunks
// (src/enqueue.cc, NCCL 2.18, the NCCL_ALGO_NVLS branch of the chunk-size computation), its flows, its
// fixed costs and the tuner's time estimate. Each of the nChannels × nHeads concurrent operations moves
// its share of the buffer one chunk at a time, and every chunk pays a fixed synchronisation cost; NCCL
// grows the chunk with the message (16 → 32 → 64 → 128 KiB), which is why NVLS bandwidth ramps up to
// 1 GiB and beyond.
#include <cstdint>

#include "sim/engine/collective_plan.h"
#include "sim/engine/comm_model.h"

namespace zerosim {

// NCCL's NVLS chunk size for a `bytes`-byte all-reduce with `concurrent_ops` = channels × heads:
// 128 KiB, then 64 KiB below 64·ops·128 KiB, 32 KiB below 8·ops·64 KiB, 16 KiB below 2·ops·32 KiB.
int64_t nvls_chunk_bytes(int64_t bytes, int64_t concurrent_ops);

// Chunks each concurrent operation handles in turn: ⌈bytes / (ops · chunk)⌉ (at least 1).
int64_t nvls_chunk_rounds(int64_t bytes, int64_t concurrent_ops);

// The handshakes alone: two per chunk each of the `concurrent_ops` operations moves (the part of
// nvls_sync_s that grows with the buffer).
double nvls_handshakes_s(const CommModel& cm, int64_t bytes, int64_t concurrent_ops, int64_t chunk);

// NVLS's fixed costs for `bytes` moved by `concurrent_ops` operations `chunk` bytes at a time: NCCL's
// start-up latency, then one synchronisation per handshake for every chunk each operation moves. Shared
// with NVLSTree, whose chunk rule differs (nccl_nvls_tree.h).
double nvls_sync_s(const CommModel& cm, int64_t bytes, int64_t concurrent_ops, int64_t chunk);

// Bytes of a GPU's buffer its first NCCL loop moves: every channel takes nHeads chunks per loop
// (src/device/all_reduce.h, RunWorkColl NVLS and NVLS_TREE: loopCount = nHeads · chunkCount), so
// ops · chunk across the `concurrent_ops` = channels × heads operations, or the whole buffer if smaller.
int64_t nvls_loop_bytes(int64_t bytes, int64_t concurrent_ops, int64_t chunk);

// The first loop through NVLS's stages one after another, on a GPU's NVLink port of rate `hop_bandwidth`
// at nvls_efficiency: the scatter pushes the loop into the switch (L out), the heads reduce their chunks
// (L/G in) and multicast the result (L/G out), and the gather takes the loop back (L in): (2 + 2/G)·L.
// In the steady state these stages overlap on different loops, out and in at once, (1 + 1/G)·L a loop.
double nvls_first_loop_s(const CommModel& cm, double hop_bandwidth, int64_t loop_bytes, int64_t gpus);

// NVLS's pipeline fill on n GPUs: the first loop's time beyond the steady-state loop the wire time already
// charges, (1 + 1/n)·L / (nvls_efficiency · hop_bandwidth). It grows with NCCL's chunk, so it is what
// makes NVLS's bandwidth ramp through the mid sizes (docs/time-model.md, "How NVLS is modelled").
double nvls_fill_s(const CommModel& cm, double hop_bandwidth, int64_t bytes, int64_t n);

// NVLS's fixed costs on top of its wire time on n GPUs, with NVLS's chunk (NCCL's chunk size grows with the
// message).
double nvls_overhead_s(const CommModel& cm, int64_t bytes, int64_t n);

// NCCL-tuner-style estimate: (1 + 1/N)·S over a GPU's NVLink port of rate `hop_bandwidth` at
// nvls_efficiency, plus the fixed costs and the pipeline fill.
double nvls_predicted_s(const CommModel& cm, double hop_bandwidth, int64_t bytes, int64_t n);

// A `bytes`-byte all-reduce with NVLS: one round of (S + ⌈S/N⌉) / nvls_efficiency bytes per GPU, then
// the launch, the fixed costs and the pipeline fill. Its flows are the single-node ring's (one per GPU,
// fraction 1): a flow to the ring neighbour crosses the GPU's own NVLink port up and the neighbour's down, as
// NVLS's push into the switch and pull of the reduced result do.
CollectiveSchedule nvls_schedule(const CommModel& cm, const FlowPlan& single_node_ring, int64_t bytes,
                                 int64_t n);

}  // namespace zerosim
