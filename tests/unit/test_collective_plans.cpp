// The NCCL planners (sim/engine/nccl_ring.h, nccl_tree.h, nccl_nvls.h) on the hand-drawn network of
// hand_drawn_network.h: who sends what to whom, the load on each link and the schedule the engine runs,
// against numbers worked out by hand. Two nodes of 4 GPUs (ranks 0-3 on n0, 4-7 on n1) unless stated.
#include <catch2/catch.hpp>

#include "hand_drawn_network.h"
#include "sim/engine/collective_selector.h"
#include "sim/engine/nccl_nvls.h"
#include "sim/engine/nccl_ring.h"
#include "sim/engine/nccl_tree.h"

using namespace zerosim;
using zerosim::testing::HandDrawnNetwork;

namespace {

constexpr int64_t KiB = 1024, MiB = 1024 * KiB;

void check_send(const FlowSend& send, int64_t to_rank, double fraction) {
  CHECK(send.to_rank == to_rank);
  CHECK(send.fraction == Approx(fraction));
}

}  // namespace

TEST_CASE("ring plan: across two nodes 3/4 of a rank's share goes over NVLink and 1/4 over its NIC",
          "[engine][ring]") {
  const HandDrawnNetwork net{.gpus_per_node = 4};
  const FlowPlan ring = plan_rings(rank_layout(8, 4), net.routes());
  // One ring per NIC rail: rank 0 sends (G−1)/G = 3/4 to its node neighbour 1 and 1/G = 1/4 to the
  // same local rank of the next node, 4; the last of a node wraps to its first (3 → 0).
  REQUIRE(ring.sends[0].size() == 2);
  check_send(ring.sends[0][0], 1, 0.75);
  check_send(ring.sends[0][1], 4, 0.25);
  check_send(ring.sends[3][0], 0, 0.75);
  check_send(ring.sends[7][1], 3, 0.25);
  CHECK(ring.flows == 16);  // 8 ranks × 2 sends, each rank receiving 2
  for (int receives : ring.receives) CHECK(receives == 2);

  // An 8 MiB all-reduce on 8 ranks: each rank moves 2(N−1)/N·S = 2·7·(8 MiB / 8) = 14 MiB = 14,680,064 B.
  const int64_t S = 8 * MiB, V = ring_bytes_per_rank(CollectiveKind::all_reduce, S, 8);
  CHECK(V == 14680064);
  // Per-link loads, in units of V: a GPU's NVLink port up carries its 3/4 (11,010,048 B), the node's
  // crossbar all four GPUs' 4 × 3/4 = 3, its NIC up 1/4 (3,670,016 B) and the peer's NIC down the same.
  CHECK(ring.link_load.at("n0g0-nvlink_UP") * static_cast<double>(V) == Approx(11010048));
  CHECK(ring.link_load.at("n0g1-nvlink_DOWN") == Approx(0.75));
  CHECK(ring.link_load.at("n0-xbar") == Approx(3.0));
  CHECK(ring.link_load.at("n0g0-nic_UP") * static_cast<double>(V) == Approx(3670016));
  CHECK(ring.link_load.at("n1g0-nic_DOWN") == Approx(0.25));
  // Busiest link per byte: NIC 0.25 / 50e9 = 5e-12 s/B beats NVLink 0.75 / 400e9 = 1.875e-12 and the
  // crossbar 3 / (4 · 400e9) = 1.875e-12. The slowest route is the NIC's, 5 µs; rank 0's first hop is
  // NVLink, whose narrowest link is the 400 GB/s port.
  CHECK(ring.seconds_per_byte == Approx(5e-12));
  CHECK(ring.latency_s == Approx(5e-6));
  CHECK(ring.hop_bandwidth == Approx(400e9));
}

TEST_CASE("ring schedule: pipelined wire bytes and latency, and the stepwise rounds", "[engine][ring]") {
  const HandDrawnNetwork net{.gpus_per_node = 4};
  const FlowPlan ring = plan_rings(rank_layout(8, 4), net.routes());
  CommModel cm;
  const int64_t S = 8 * MiB;  // V = 14,680,064 B per rank (above)
  const CollectiveSchedule pipelined = ring_schedule(cm, ring, CollectiveKind::all_reduce, S, 8);
  // Wire bytes are the share over the 0.80 efficiency: 14,680,064 · 0.75 / 0.8 = 13,762,560 over NVLink,
  // 14,680,064 · 0.25 / 0.8 = 4,587,520 over the NIC.
  CHECK(pipelined.wire_bytes(ring.sends[0][0]) == 13762560);
  CHECK(pipelined.wire_bytes(ring.sends[0][1]) == 4587520);
  // Launch 5 µs + one step overhead 2 µs + 13 more steps of (5 µs route + 2 µs) = 98 µs, and the
  // 2(2−1) = 2 steps that cross between the two nodes pay NCCL's 14 µs network step instead of the 5 µs
  // route: + 2 · 9 µs = 116 µs.
  CHECK(pipelined.settle_s == Approx(116e-6));
  CHECK(pipelined.bytes_per_rank == 14680064);
  CHECK(pipelined.flows == 16);
  CHECK_FALSE(pipelined.stepwise);

  cm.stepwise_ring = true;
  const CollectiveSchedule stepwise = ring_schedule(cm, ring, CollectiveKind::all_reduce, S, 8);
  // 2(N−1) = 14 rounds, each carrying 1/14 of the share: 3,670,016 / 14 / 0.8 = 327,680 B over the NIC.
  CHECK(stepwise.stepwise);
  CHECK(stepwise.rounds == 14);
  CHECK(stepwise.wire_bytes(ring.sends[0][1]) == 327680);
  CHECK(stepwise.flows == 16 * 14);
}

TEST_CASE("tree plan: chains inside the nodes, each NIC carries S/G on two nodes", "[engine][tree]") {
  const HandDrawnNetwork net{.gpus_per_node = 4};
  const FlowPlan tree = plan_trees(rank_layout(8, 4), net.routes());
  // Two nodes: in tree 0 node 1's parent is node 0, in tree 1 (the mirror) node 0's parent is node 1.
  // Rank 0 sends (G−1)/G = 3/4 of the buffer to each chain neighbour (1 and 3), and 1/(2G) = 1/8 to
  // rank 4 twice: reducing up tree 1 and broadcasting down tree 0.
  REQUIRE(tree.sends[0].size() == 4);
  check_send(tree.sends[0][0], 1, 0.75);
  check_send(tree.sends[0][1], 3, 0.75);
  check_send(tree.sends[0][2], 4, 0.125);
  check_send(tree.sends[0][3], 4, 0.125);
  CHECK(tree.flows == 32);
  for (int receives : tree.receives) CHECK(receives == 4);

  // Per-link loads, in units of the buffer S = 8 MiB: NVLink port up 3/4 + 3/4 = 1.5 (12 MiB), the
  // crossbar 4 × 1.5 = 6, the NIC 2 × 1/8 = 1/4 = S/G (2 MiB), against the ring's 1/4 of 2·7/8·S = 0.4375·S.
  const double S = 8.0 * MiB;
  CHECK(tree.link_load.at("n0g0-nvlink_UP") * S == Approx(12.0 * MiB));
  CHECK(tree.link_load.at("n0g0-nvlink_DOWN") == Approx(1.5));
  CHECK(tree.link_load.at("n0-xbar") == Approx(6.0));
  CHECK(tree.link_load.at("n0g0-nic_UP") * S == Approx(2.0 * MiB));
  CHECK(tree.link_load.at("n1g3-nic_DOWN") == Approx(0.25));
  // NIC 0.25 / 50e9 = 5e-12 s/B; NVLink 1.5 / 400e9 = 3.75e-12; crossbar 6 / 1.6e12 = 3.75e-12.
  CHECK(tree.seconds_per_byte == Approx(5e-12));
  CHECK(tree.latency_s == Approx(5e-6));
  // 2·((G−1) + ⌈log2 2⌉) = 2·(3 + 1) = 8 steps, against the ring's 2(8−1) = 14.
  CHECK(tree_steps(rank_layout(8, 4)) == 8);
}

TEST_CASE("tree schedule: wire bytes at 0.80 · 0.92 of the rate, latency per tree step", "[engine][tree]") {
  const HandDrawnNetwork net{.gpus_per_node = 4};
  const FlowPlan tree = plan_trees(rank_layout(8, 4), net.routes());
  const CommModel cm;
  const CollectiveSchedule schedule = tree_schedule(cm, tree, 8, 8 * MiB);
  // Chain: 8,388,608 · 0.75 / 0.736 = 8,548,173.9 → 8,548,174. NIC: 8,388,608 / 8 / 0.736 = 1,424,695.7 →
  // 1,424,696.
  CHECK(schedule.wire_bytes(tree.sends[0][0]) == 8548174);
  CHECK(schedule.wire_bytes(tree.sends[0][2]) == 1424696);
  // Rank 0 sends 3/4 + 3/4 + 1/8 + 1/8 = 7/4 of the buffer = 14,680,064 B.
  CHECK(schedule.bytes_per_rank == 14680064);
  // Launch 5 µs + 2 µs + 7 more steps of (5 µs + 2 µs) = 56 µs, and the node tree's one level, up and
  // down, at NCCL's 14 µs network step instead of the 5 µs route: + 2 · 9 µs = 74 µs.
  // Pipeline fill: the first loop is the whole 8 MiB (24 channels × 512 KiB = 12 MiB is more). Chain:
  // 6 hops × 8,388,608 / 4 = 2,097,152 B at 0.736 · 400e9 = 42.741 µs; node tree: 2 levels × S/8 =
  // 1,048,576 B at 0.80 · 0.92 · 50e9 = 56.989 µs; less the steady loop, 5e-12 s/B · S / 0.736 = 56.989 µs:
  // 42.741 µs. 74 + 42.741 = 116.741 µs.
  CHECK(tree_fill_s(cm, tree, 8, 8 * MiB) == Approx(42.741e-6).epsilon(1e-4));
  CHECK(schedule.settle_s == Approx(116.741e-6).epsilon(1e-4));
  // A 512 KiB buffer: chain 6 × 131,072 B / 294.4e9 = 2.671 µs, tree 2 × 65,536 B / 36.8e9 = 3.562 µs,
  // steady 5e-12 · 524,288 / 0.736 = 3.562 µs: 2.671 µs (the fill shrinks with the loop).
  CHECK(tree_fill_s(cm, tree, 8, 512 * KiB) == Approx(2.671e-6).epsilon(1e-3));
  // On 2 channels (a PCIe node's rings) the first loop is 2 × 512 KiB = 1 MiB: 42.741 µs / 8 = 5.343 µs.
  CommModel pcie = cm;
  pcie.channels = 2;
  CHECK(tree_fill_s(pcie, tree, 8, 8 * MiB) == Approx(5.343e-6).epsilon(1e-3));
  CHECK(schedule.flows == 32);
}

TEST_CASE("nvls schedule: (S + S/N) over the GPU's NVLink port, with NCCL's chunk synchronisation",
          "[engine][nvls]") {
  const HandDrawnNetwork net{.gpus_per_node = 8};
  const FlowPlan ring = plan_rings(rank_layout(8, 8), net.routes());
  // One node: a single ring, each GPU's one flow crossing its port up, the crossbar and the next port down.
  check_send(ring.sends[7][0], 0, 1.0);
  CHECK(ring.link_load.at("n0g3-nvlink_UP") == Approx(1.0));
  CHECK(ring.link_load.at("n0-xbar") == Approx(8.0));
  const CommModel cm;
  const CollectiveSchedule schedule = nvls_schedule(cm, ring, 8 * MiB, 8);
  // Push S = 8,388,608 and pull the reduced S/N = 1,048,576: 9,437,184 B, over 0.734 = 12,857,198.9 →
  // 12,857,199.
  CHECK(schedule.bytes_per_rank == 9437184);
  CHECK(schedule.wire_bytes(ring.sends[0][0]) == 12857199);
  CHECK(schedule.flows == 8);
  // 16 channels × 8 GPUs = 128 operations; 8 MiB = 2·128·32 KiB takes 32 KiB chunks, 4 MiB a round:
  // 2 rounds × 2 handshakes × 2 µs = 8 µs, + NCCL's 25 µs NVLS latency + the 5 µs launch = 38 µs.
  CHECK(nvls_overhead_s(cm, 8 * MiB, 8) == Approx(33e-6));
  // Pipeline fill: the first loop is 128 operations × 32 KiB = 4 MiB; its stages one after another take
  // (2 + 2/8) · 4,194,304 / (0.734 · 400e9) = 32.143 µs, of which the steady state charges half:
  // 16.071 µs. 38 + 16.071 = 54.071 µs.
  CHECK(nvls_loop_bytes(8 * MiB, 128, 32 * KiB) == 4 * MiB);
  CHECK(nvls_first_loop_s(cm, 400e9, 4 * MiB, 8) == Approx(32.143e-6).epsilon(1e-4));
  CHECK(nvls_fill_s(cm, 400e9, 8 * MiB, 8) == Approx(16.071e-6).epsilon(1e-4));
  CHECK(schedule.settle_s == Approx(54.071e-6).epsilon(1e-4));
  // A 1 MiB buffer is smaller than its loop (128 × 16 KiB = 2 MiB): 1.125 · 1,048,576 / 293.6e9 = 4.018 µs.
  CHECK(nvls_fill_s(cm, 400e9, 1 * MiB, 8) == Approx(4.018e-6).epsilon(1e-3));
}
