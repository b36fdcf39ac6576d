// NVLSTree (sim/engine/nccl_nvls_tree.h): NCCL's chunk rule per release, the plan's link loads on the
// hand-drawn network, and the release gates of the selector (comm_model.h apply_nccl_release).
#include <catch2/catch.hpp>

#include "hand_drawn_network.h"
#include "sim/engine/collective_selector.h"
#include "sim/engine/nccl_collnet.h"
#include "sim/engine/nccl_nvls_tree.h"
#include "sim/engine/nccl_pat.h"

using namespace zerosim;
using zerosim::testing::HandDrawnNetwork;

namespace {
constexpr int64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
}  // namespace

TEST_CASE("NVLSTree chunks: NCCL 2.21+ from NCCL_NVLS_CHUNKSIZE, 2.18-2.20 from the buffer step",
          "[engine][nvlstree]") {
  CommModel cm;  // newest release: 128 KiB, 64 KiB from 4 nodes
  const int64_t ops = 16 * 8;
  CHECK(nvls_tree_chunk_bytes(cm, 16 * GiB, ops, 2) == 128 * KiB);  // 16 GiB ≥ 4·128·128 KiB = 64 MiB
  CHECK(nvls_tree_chunk_bytes(cm, 32 * MiB, ops, 2) == 64 * KiB);   // < 64 MiB; ≥ 1·128·64 KiB = 8 MiB
  CHECK(nvls_tree_chunk_bytes(cm, 4 * MiB, ops, 2) == 32 * KiB);    // < 8 MiB
  CHECK(nvls_tree_chunk_bytes(cm, 16 * GiB, ops, 4) == 64 * KiB);   // NVLSTREE_MAX_CHUNKSIZE from 4 nodes
  CHECK(nvls_tree_chunk_bytes(cm, 4 * MiB, ops, 4) == 32 * KiB);
  apply_nccl_release(cm, Version{2, 18, 5});                        // 512 KiB = 4 MiB Simple buffer / 8 steps
  CHECK(nvls_tree_chunk_bytes(cm, 16 * GiB, ops, 2) == 512 * KiB);  // ≥ 32·128·512 KiB = 2 GiB
  CHECK(nvls_tree_chunk_bytes(cm, 1 * GiB, ops, 2) == 256 * KiB);   // < 2 GiB; ≥ 16·128·256 KiB = 512 MiB
  CHECK(nvls_tree_chunk_bytes(cm, 256 * MiB, ops, 2) == 128 * KiB);  // < 512 MiB; ≥ 4·128·128 KiB
  CHECK(nvls_tree_chunk_bytes(cm, 16 * GiB, ops, 8) == 512 * KiB);   // no 4-node cap before 2.21
}

TEST_CASE("NVLSTree plan: NVLS volume on each NVLink port, S/(2G) per tree neighbour on each NIC",
          "[engine][nvlstree]") {
  const HandDrawnNetwork net{.gpus_per_node = 8};
  CommModel cm;
  cm.net_efficiency = 0.94;
  const CollectivePlans plans = plan_collectives(16, 8, true, net.routes(), cm);
  const FlowPlan& p = plans.nvls_tree;
  REQUIRE_FALSE(p.sends.empty());
  // NVLink port up: (1 + 1/8) · 0.80 / 0.734 = 1.22616 (units of S at the intra efficiency).
  CHECK(p.link_load.at("n0g0-nvlink_UP") == Approx(1.125 * 0.8 / 0.734));
  // Two nodes: each GPU's NIC sends S/16 up one tree and S/16 down the other, weighted 0.80 / 0.94.
  CHECK(p.link_load.at("n0g0-nic_UP") == Approx(2.0 / 16.0 * 0.8 / 0.94));
  // The NVLink ports limit: 1.22616 / 400e9 B/s.
  CHECK(p.seconds_per_byte == Approx(1.125 * 0.8 / 0.734 / 400e9));
  CHECK(p.hop_bandwidth == Approx(400e9));
  CHECK(p.net_hop_bandwidth == Approx(50e9));
  // Pipeline fill: the first loop is 16 channels × 8 heads × 128 KiB = 16 MiB. NVLS's stages one after
  // another, (2 + 2/8) · 16,777,216 / (0.734 · 400e9) = 128.572 µs, and one tree level up and down,
  // 16,777,216 / 8 / (0.94 · 50e9) = 44.620 µs: 173.192 µs; less the links' steady loop, 1.125 · 16,777,216 /
  // 293.6e9 = 64.286 µs: 108.906 µs.
  CHECK(nvls_tree_fill_s(cm, p, plans.layout, 16 * GiB) == Approx(108.906e-6).epsilon(1e-4));
  // 16 GiB: 1.125 · S / (0.734 · 400e9) = 65.830 ms of wire, longer than the kernel's floor (below,
  // 65.689 ms); 25 µs NVLS latency; 1024 chunk rounds of 128 KiB × 128 operations × 2 handshakes × 2 µs =
  // 4.096 ms; one tree level up and down at NCCL's 14 µs network step (≥ the 5 µs route) + 2 µs = 32 µs;
  // the fill.
  const double wire = 1.125 * 16.0 * static_cast<double>(GiB) / (0.734 * 400e9);
  CHECK(nvls_tree_predicted_s(cm, p, plans.layout, 16 * GiB) ==
        Approx(wire + 25e-6 + 4.096e-3 + 32e-6 + 108.906e-6));
  // Not on partial nodes, 2-GPU nodes or one node.
  CHECK(plan_collectives(12, 8, true, net.routes(), cm).nvls_tree.sends.empty());
  CHECK(plan_collectives(8, 8, true, net.routes(), cm).nvls_tree.sends.empty());
}

TEST_CASE("NVLSTree's kernel pace: heads × NCCL's per-head busbw, 57.7 GB/s on 2 nodes, 45.5 on more",
          "[engine][nvlstree]") {
  CommModel cm;
  const RankLayout two = rank_layout(16, 8), four = rank_layout(32, 8);
  // Heads: one per NIC, at most one per GPU.
  CHECK(nvls_tree_heads(cm, two) == 8);  // nics_per_node 0: one NIC per GPU
  cm.nics_per_node = 4;
  CHECK(nvls_tree_heads(cm, two) == 4);
  cm.nics_per_node = 16;
  CHECK(nvls_tree_heads(cm, two) == 8);
  cm.nics_per_node = 0;
  // 2 nodes: bus volume 2 · 15/16 = 1.875 per byte over 8 · 57.7e9 = 461.6e9 B/s: 4.0620e-12 s/B.
  CHECK(nvls_tree_kernel_seconds_per_byte(cm, two) == Approx(1.875 / 461.6e9));
  // 4 nodes: 2 · 31/32 = 1.9375 over 8 · 45.5e9 = 364e9 B/s.
  CHECK(nvls_tree_kernel_seconds_per_byte(cm, four) == Approx(1.9375 / 364e9));
  // 4 NICs per node on 2 nodes: 4 heads, 1.875 / 230.8e9.
  cm.nics_per_node = 4;
  CHECK(nvls_tree_kernel_seconds_per_byte(cm, two) == Approx(1.875 / 230.8e9));
  cm.nics_per_node = 0;
  cm.nvls_tree_head_busbw_two_nodes = 0;  // no figure: no floor
  CHECK(nvls_tree_kernel_seconds_per_byte(cm, two) == 0);
}

TEST_CASE("NVLSTree's floor: flows plus handshakes take at least the kernel's time", "[engine][nvlstree]") {
  // NVLink4 ports at 450e9 B/s as on an H100: the links would allow 1.125 · S / (0.734 · 450e9), so the
  // kernel sets the pace.
  const HandDrawnNetwork net{.gpus_per_node = 8, .nvlink_Bps = 450e9};
  CommModel cm;
  cm.net_efficiency = 0.94;
  const CollectivePlans plans = plan_collectives(16, 8, true, net.routes(), cm);
  const FlowPlan& p = plans.nvls_tree;
  REQUIRE_FALSE(p.sends.empty());
  const double s = 16.0 * static_cast<double>(GiB);
  const double wire = 1.125 * s / (0.734 * 450e9);  // 58.516 ms
  const double kernel = 1.875 * s / 461.6e9;        // 69.785 ms
  // The floor: the kernel's 69.785 ms less the 4.096 ms of chunk handshakes the overhead charges.
  CHECK(nvls_tree_kernel_floor_s(cm, plans.layout, 16 * GiB) == Approx(kernel - 4.096e-3));
  CHECK(nvls_tree_kernel_floor_s(cm, plans.layout, 16 * GiB) > wire);
  // Predicted: the floor, plus NVLS's 25 µs, the handshakes and two 16 µs network steps, plus the fill.
  CHECK(nvls_tree_predicted_s(cm, p, plans.layout, 16 * GiB) ==
        Approx(kernel + 25e-6 + 32e-6 + nvls_tree_fill_s(cm, p, plans.layout, 16 * GiB)));
  // The schedule caps every flow at its bytes over the floor; a small buffer's handshakes exceed it.
  CHECK(nvls_tree_schedule(cm, p, plans.layout, 16 * GiB).min_flow_s == Approx(kernel - 4.096e-3));
  CHECK(nvls_tree_schedule(cm, p, plans.layout, 64 * KiB).min_flow_s == 0);
}

TEST_CASE("selector: NCCL releases gate NVLS (2.17.1) and NVLSTree (2.18.1)",
          "[engine][selector][nvlstree]") {
  const HandDrawnNetwork net{.gpus_per_node = 8};
  CommModel cm;
  const CollectivePlans one = plan_collectives(8, 8, true, net.routes(), cm);
  const CollectivePlans two = plan_collectives(16, 8, true, net.routes(), cm);
  CHECK(choose_algorithm(cm, one, CollectiveKind::all_reduce, 1 * GiB) == NcclAlgorithm::nvls);
  CHECK(choose_algorithm(cm, two, CollectiveKind::all_reduce, 1 * GiB) == NcclAlgorithm::nvls_tree);
  apply_nccl_release(cm, Version{2, 17, 1});
  CHECK(choose_algorithm(cm, one, CollectiveKind::all_reduce, 1 * GiB) == NcclAlgorithm::nvls);
  CHECK(choose_algorithm(cm, two, CollectiveKind::all_reduce, 1 * GiB) != NcclAlgorithm::nvls_tree);
  apply_nccl_release(cm, Version{2, 16, 5});
  CHECK(choose_algorithm(cm, one, CollectiveKind::all_reduce, 1 * GiB) == NcclAlgorithm::ring);
  CHECK_FALSE(algorithm_runs(cm, one, CollectiveKind::all_reduce, NcclAlgorithm::nvls));
  CHECK_FALSE(cm.forced_fallback);
  apply_nccl_release(cm, Version{2, 19, 3});
  CHECK(cm.forced_fallback);
  apply_nccl_release(cm, Version{2, 24, 2});
  CHECK(cm.forced_fallback);
  apply_nccl_release(cm, Version{2, 24, 3});  // "Strictly enforce the ALGO/PROTO filters"
  CHECK_FALSE(cm.forced_fallback);
  // NVLS on 2 GPUs from 2.28.7 (nvls.cc `gpuCount < 2`; `gpuCount <= 2` before).
  apply_nccl_release(cm, Version{2, 28, 7});
  CHECK(cm.nvls_min_gpus == 2);
  apply_nccl_release(cm, Version{2, 28, 3});
  CHECK(cm.nvls_min_gpus == 3);
}

TEST_CASE("CollNet plan: the node's chain on NVLink, S/G each way on each NIC, whatever the node count",
          "[engine][collnet]") {
  const HandDrawnNetwork net{.gpus_per_node = 8};
  CommModel cm;
  cm.net_efficiency = 0.94;
  CHECK(plan_collectives(32, 8, false, net.routes(), cm).collnet.sends.empty());  // not enabled
  cm.collnet_enabled = true;
  const CollectivePlans plans = plan_collectives(32, 8, false, net.routes(), cm);
  const FlowPlan& p = plans.collnet;
  REQUIRE_FALSE(p.sends.empty());
  CHECK(p.link_load.at("n0g0-nvlink_UP") == Approx(1.75));                 // 2·(8−1)/8 of S
  CHECK(p.link_load.at("n0g0-nic_UP") == Approx(1.0 / 8.0 * 0.8 / 0.94));  // S/8, at the NIC's efficiency
  CHECK(p.seconds_per_byte == Approx(1.75 / 400e9));
  // 1 GiB: 1.75 · S / (0.8 · 400e9) = 5.872 ms; launch 5 µs + 2·7 intra-node steps of 2 µs + NCCL's 30 µs
  // CollNet latency (above the 5 µs route) = 63 µs.
  const double wire = 1.75 * static_cast<double>(GiB) / (0.8 * 400e9);
  CHECK(collnet_predicted_s(cm, p, plans.layout, GiB) == Approx(wire + 63e-6));
  CHECK(choose_algorithm(cm, plans, CollectiveKind::all_reduce, GiB) == NcclAlgorithm::collnet);
  // NVLS-capable nodes: multi-node NVLS (NVLink SHARP + SHARP) instead.
  const CollectivePlans nvls = plan_collectives(32, 8, true, net.routes(), cm);
  CHECK(nvls.nvls_collnet.link_load.at("n0g0-nvlink_UP") == Approx(1.125 * 0.8 / 0.734));
  CHECK(choose_algorithm(cm, nvls, CollectiveKind::all_reduce, GiB) == NcclAlgorithm::nvls);
}

TEST_CASE("PAT: all-gather / reduce-scatter at one GPU per node, NCCL 2.23+, with NCCL's latency model",
          "[engine][pat]") {
  CommModel cm;
  const RankLayout one_per_node = rank_layout(64, 1), eight_per_node = rank_layout(64, 8);
  CHECK(pat_possible(cm, one_per_node, CollectiveKind::all_gather));
  CHECK(pat_possible(cm, one_per_node, CollectiveKind::reduce_scatter));
  CHECK_FALSE(pat_possible(cm, one_per_node, CollectiveKind::all_reduce));
  CHECK_FALSE(pat_possible(cm, eight_per_node, CollectiveKind::all_gather));
  // 64 ranks: launch 5 µs + 8 µs + log2(64) = 6 levels × 14 µs / 3.5 + 64 × 2.8 µs = 5 + 8 + 24 + 179.2 µs.
  CHECK(pat_overhead_s(cm, 64) == Approx(216.2e-6));
  CHECK(cm.pat_efficiency == 0.75);
  apply_nccl_release(cm, Version{2, 23, 4});
  CHECK(cm.pat_efficiency == 0.85);  // tuning.cc: busBw *= .85 in 2.23, .75 from 2.24
  apply_nccl_release(cm, Version{2, 22, 3});
  CHECK_FALSE(pat_possible(cm, one_per_node, CollectiveKind::all_gather));
}
