// The engine's CPU-offload rates (sim/engine/offload_model.h) against hand-worked numbers.
#include <catch2/catch.hpp>

#include "sim/engine/offload_model.h"

using zerosim::OffloadModel;

namespace {

// A DGX A100's host: 2 x 64 cores of EPYC 7742 at DeepSpeedCPUAdam's 5e7 elements/s each, 2 x 140 GB/s,
// NPS4 (8 NUMA nodes); `ranks` ranks with `threads` OpenMP threads each.
OffloadModel dgx_a100(int64_t ranks, int64_t threads) {
  OffloadModel om;
  om.cpu_adam_elements_per_s_per_core = 5e7;
  om.mem_bw_bytes_s = 280e9;
  om.cores = 128;
  om.ranks_per_node = ranks;
  om.cpu_threads_per_rank = threads;
  om.numa_nodes = 8;
  return om;
}

}  // namespace

TEST_CASE("the CPU step is the slower of the cores' share and the memory bandwidth's", "[offload]") {
  OffloadModel om = dgx_a100(4, 128);  // the DeepSpeed launcher: every core, shared
  om.numa_nodes = 1;                   // nothing pinned here: the cores and the node's bandwidth
  // Cores: min(128, 128/4) = 32 per rank -> 1.6e9 elements/s; 1.6e9 elements take 1.0 s.
  // Memory: 4 ranks x 1.6e9 x 42 B = 268.8 GB at 280 GB/s = 0.96 s. The cores are the slower.
  CHECK(om.cpu_step_seconds({1'600'000'000, 42 * int64_t{1'600'000'000}, 0, 0}) == Approx(1.0));
  // At 56 B per element the memory is: 4 x 1.6e9 x 56 / 280e9 = 1.28 s.
  CHECK(om.cpu_step_seconds({1'600'000'000, 56 * int64_t{1'600'000'000}, 0, 0}) == Approx(1.28));
  // One thread per rank (torchrun): 1.6e9 / 5e7 = 32 s.
  om.cpu_threads_per_rank = 1;
  CHECK(om.cpu_step_seconds({1'600'000'000, 42 * int64_t{1'600'000'000}, 0, 0}) == Approx(32.0));
}

TEST_CASE("pinned bytes stream at their one NUMA node's bandwidth", "[offload]") {
  // The DeepSpeed blog's DGX A100 (NPS4: 8 NUMA nodes, 280 GB/s per node -> 35 GB/s each), 2 ranks with 64
  // cores each, ZeRO-2 offload of Qwen2.5-1.5B: 771,870,000 elements (round: 7.72e8) per rank.
  OffloadModel om = dgx_a100(2, 64);
  const int64_t n = 772'000'000;
  // Cores: 7.72e8 / (64 x 5e7) = 0.24125 s. Memory: 2 x 42 B x 7.72e8 / 280e9 = 0.2316 s.
  // Pinned (master r/w 8, gradient 4 + 8, cast 4 + 2 = 26 B): 26 x 7.72e8 = 20.072 GB at 35 GB/s = 0.573486
  // s.
  CHECK(om.cpu_step_seconds({n, 42 * n, 26 * n, 0}) == Approx(0.573486));
  // The same node as NPS1 (2 NUMA nodes, one socket per rank, 140 GB/s): 20.072 / 140 = 0.1434 s, so the
  // cores decide again: 0.24125 s.
  om.numa_nodes = 2;
  CHECK(om.cpu_step_seconds({n, 42 * n, 26 * n, 0}) == Approx(0.24125));
  // 8 ranks on 2 NUMA nodes share them: max(2, 8) x 20.072 GB / 280 GB/s = 0.573486 s (46.5 x 4 ranks per
  // node).
  om.ranks_per_node = 8;
  om.cpu_threads_per_rank = 16;  // 0.965 s on the cores: 7.72e8 / (16 x 5e7)
  CHECK(om.cpu_step_seconds({n, 42 * n, 26 * n, 0}) == Approx(0.965));
  om.cpu_threads_per_rank = 128;  // the cores' share is min(128, 128/8) = 16 anyway
  om.cpu_adam_elements_per_s_per_core = 1e9;
  // Now memory: 8 x 42 x 7.72e8 / 280e9 = 0.9264 s, above the pinned 0.573486.
  CHECK(om.cpu_step_seconds({n, 42 * n, 26 * n, 0}) == Approx(0.9264));
}

TEST_CASE("pinned buffers that outgrow one NUMA node's RAM spill onto the next: more channels", "[offload]") {
  // One rank on a DGX A100 (NPS4: 8 NUMA nodes of 1024 / 8 = 128 GiB and 35 GB/s), LLaMA-2-13B ZeRO-2
  // offload: 1.3e10 elements, 26 B pinned per element = 338 GB of pinned traffic. The cores: 128 threads
  // x 5e7 = 6.4e9 elements/s -> 2.03 s; the node: 42 x 1.3e10 / 280e9 = 1.95 s.
  OffloadModel om = dgx_a100(1, 128);
  om.numa_node_memory_bytes = int64_t{128} << 30;
  const int64_t n = 13'000'000'000;
  // 100 GiB pinned: one node, 338 GB / 35 GB/s = 9.657 s.
  CHECK(om.cpu_step_seconds({n, 42 * n, 26 * n, int64_t{100} << 30}) == Approx(338e9 / 35e9));
  // 160 GiB pinned (master and gradient 64 GiB each after the power-of-two rounding, staging 32): two
  // nodes, 70 GB/s: 4.829 s.
  CHECK(om.cpu_step_seconds({n, 42 * n, 26 * n, int64_t{160} << 30}) == Approx(338e9 / 70e9));
  // Never more than the node has: 2 TiB pinned spans all 8 nodes, 280 GB/s -> 1.207 s, and the cores
  // (2.03 s) decide.
  CHECK(om.cpu_step_seconds({n, 42 * n, 26 * n, int64_t{2048} << 30}) == Approx(1.3e10 / 6.4e9));
}

TEST_CASE("copies run at the pinned fraction of the link, half that from pageable memory", "[offload]") {
  OffloadModel om;
  om.pcie_bytes_s = 31.5e9;  // Gen4 x16
  // 25.2 GB at 0.80 x 31.5 GB/s = 1.0 s pinned; 2.0 s pageable.
  CHECK(om.copy_seconds(25'200'000'000, true) == Approx(1.0));
  CHECK(om.copy_seconds(25'200'000'000, false) == Approx(2.0));
  CHECK(om.wire_bytes(800, true) == Approx(1000.0));
}
