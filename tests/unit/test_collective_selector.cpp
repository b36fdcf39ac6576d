// The algorithm selector (sim/engine/collective_selector.h): NCCL-tuner-style choice from predicted
// latency + bytes on the busiest link, on the hand-drawn network of hand_drawn_network.h, and the
// fallback to the ring where a forced algorithm cannot run.
#include <catch2/catch.hpp>

#include "hand_drawn_network.h"
#include "sim/engine/collective_selector.h"

using namespace zerosim;
using zerosim::testing::HandDrawnNetwork;

namespace {

constexpr int64_t KiB = 1024, MiB = 1024 * KiB;

NcclAlgorithm choose(const CollectivePlans& plans, int64_t bytes,
                     NcclAlgorithm forced = NcclAlgorithm::automatic,
                     CollectiveKind kind = CollectiveKind::all_reduce) {
  CommModel cm;
  cm.algorithm = forced;
  return choose_algorithm(cm, plans, kind, bytes);
}

}  // namespace

TEST_CASE("selector: tree below its crossover with the ring, ring above it (4 nodes of 1 GPU)",
          "[engine][selector]") {
  const HandDrawnNetwork net{.gpus_per_node = 1};
  const CollectivePlans plans = plan_collectives(4, 1, false, net.routes());
  // Ring: each rank sends its whole share over its NIC (load 1 of V = 2·3/4·S = 1.5·S) in 2(4−1) = 6 steps:
  //   ring(S) = 1.5·S / (0.8 · 50e9) + 6 · (5 µs + 2 µs) + 6 inter-node steps · (14 − 5) µs
  //           = 3.75e-11·S + 96 µs.
  // Tree over 4 nodes (tree 0: 0 ← 2 ← {1, 3}; tree 1, its mirror: 3 ← 1 ← {0, 2}): nodes 1 and 2 are
  // interior in one tree and talk to 4 neighbours, 1/2 of S each, so their NICs carry 2·S; steps
  // 2·((1−1) + ⌈log2 4⌉) = 4:
  //   tree(S) = 2·S / (0.8 · 0.92 · 50e9) + 4 · 7 µs + 2·2 inter-node steps · (14 − 5) µs
  //           = 5.4348e-11·S + 64 µs.
  // Crossover: 32 µs = (5.4348e-11 − 3.75e-11)·S → S ≈ 1,899,335 B.
  CHECK(plans.ring.seconds_per_byte == Approx(1.0 / 50e9));
  CHECK(plans.tree.seconds_per_byte == Approx(2.0 / 50e9));
  CHECK(plans.tree_steps == 4);
  CHECK(choose(plans, 256 * KiB) == NcclAlgorithm::tree);  // tree 78.2 µs < ring 105.8 µs
  CHECK(choose(plans, 1'850'000) == NcclAlgorithm::tree);
  CHECK(choose(plans, 1'950'000) == NcclAlgorithm::ring);
  CHECK(choose(plans, 4 * MiB) == NcclAlgorithm::ring);  // ring 253 µs < tree 292 µs
  // Only all-reduce has a tree: an all-gather at one GPU per node runs PAT (NCCL 2.23+, nccl_pat.h) at
  // this size, the ring otherwise; the stepwise validation mode always runs the ring.
  CHECK(choose(plans, 256 * KiB, NcclAlgorithm::automatic, CollectiveKind::all_gather) == NcclAlgorithm::pat);
  CommModel stepwise;
  stepwise.stepwise_ring = true;
  CHECK(choose_algorithm(stepwise, plans, CollectiveKind::all_reduce, 256 * KiB) == NcclAlgorithm::ring);
}

TEST_CASE("selector: NVLS inside an 8-GPU NVLS node, the ring on 3 GPUs", "[engine][selector]") {
  const HandDrawnNetwork net{.gpus_per_node = 8};
  // 8 GPUs, 1 MiB (16 KiB chunks, 1 round of 128 operations):
  //   NVLS (1 + 1/8)·S / (0.733 · 400e9) + 25 µs + 1 · 2 · 2 µs = 4.02 µs + 29 µs = 33.0 µs;
  //   ring 2·7/8·S / (0.8 · 400e9) + 14 · (1 µs + 2 µs) = 5.73 µs + 42 µs = 47.7 µs.
  const CollectivePlans eight = plan_collectives(8, 8, true, net.routes());
  CHECK(choose(eight, 1 * MiB) == NcclAlgorithm::nvls);
  // 3 GPUs: NVLS moves (1 + 1/3)/0.733 = 1.82 bytes per byte against the ring's (4/3)/0.8 = 1.67, and
  // its fixed costs (≥ 29 µs) exceed the ring's 4 · 3 µs = 12 µs: the ring at every size.
  const CollectivePlans three = plan_collectives(3, 8, true, net.routes());
  CHECK(choose(three, 1 * MiB) == NcclAlgorithm::ring);
  CHECK(choose(three, 1024 * MiB) == NcclAlgorithm::ring);
  // Without in-switch reduction there is no NVLS.
  CHECK(choose(plan_collectives(8, 8, false, net.routes()), 1 * MiB) == NcclAlgorithm::ring);
}

TEST_CASE("selector: a forced algorithm runs where it can and falls back to the ring elsewhere",
          "[engine][selector]") {
  const HandDrawnNetwork one_gpu{.gpus_per_node = 1}, eight_gpus{.gpus_per_node = 8};
  const CollectivePlans nodes = plan_collectives(4, 1, true, one_gpu.routes());  // NVLS-capable nodes
  const CollectivePlans node = plan_collectives(8, 8, true, eight_gpus.routes());
  // Forced where automatic would choose otherwise (see the crossover above and the NVLS case).
  CHECK(choose(nodes, 4 * MiB, NcclAlgorithm::tree) == NcclAlgorithm::tree);
  CHECK(choose(nodes, 256 * KiB, NcclAlgorithm::ring) == NcclAlgorithm::ring);
  CHECK(choose(node, 1 * MiB, NcclAlgorithm::ring) == NcclAlgorithm::ring);
  CHECK(choose(plan_collectives(3, 8, true, eight_gpus.routes()), 1 * MiB, NcclAlgorithm::nvls) ==
        NcclAlgorithm::nvls);
  // Where it cannot run (or zerosim has no model: the engine refuses those, forced_algorithm_unmodelled):
  // no tree inside one node, no NVLS across nodes without CollNet or for all_gather.
  CHECK(choose(node, 1 * MiB, NcclAlgorithm::tree) == NcclAlgorithm::ring);
  CHECK(choose(nodes, 1 * MiB, NcclAlgorithm::nvls) == NcclAlgorithm::ring);
  CHECK(choose(node, 1 * MiB, NcclAlgorithm::nvls, CollectiveKind::all_gather) == NcclAlgorithm::ring);
  // NVLS on 2 GPUs: from NCCL 2.28.7 (nvls.cc `gpuCount < 2`), not before (`gpuCount <= 2`).
  CommModel cm_2_28_3;
  apply_nccl_release(cm_2_28_3, Version{2, 28, 3});
  cm_2_28_3.algorithm = NcclAlgorithm::nvls;
  const CollectivePlans two_old = plan_collectives(2, 8, true, eight_gpus.routes(), cm_2_28_3);
  CHECK(choose_algorithm(cm_2_28_3, two_old, CollectiveKind::all_reduce, 1 * MiB) == NcclAlgorithm::ring);
  CHECK(choose(plan_collectives(2, 8, true, eight_gpus.routes()), 1 * MiB, NcclAlgorithm::nvls) ==
        NcclAlgorithm::nvls);
  // schedule_collective runs the chosen one.
  CommModel cm;
  // Forced algorithms NCCL would run that zerosim has no model of (the engine refuses them).
  CHECK(forced_algorithm_unmodelled(cm, node, CollectiveKind::all_gather, NcclAlgorithm::nvls) ==
        "NVLS all_gather inside one node");
  CHECK(forced_algorithm_unmodelled(cm, node, CollectiveKind::all_reduce, NcclAlgorithm::tree) ==
        "the tree all_reduce inside one node");
  CHECK(forced_algorithm_unmodelled(cm, node, CollectiveKind::all_reduce, NcclAlgorithm::nvls).empty());
  CHECK(forced_algorithm_unmodelled(cm, nodes, CollectiveKind::all_reduce, NcclAlgorithm::tree).empty());
  CHECK(forced_algorithm_unmodelled(cm, nodes, CollectiveKind::all_gather, NcclAlgorithm::nvls).empty());
  CHECK(schedule_collective(cm, node, CollectiveKind::all_reduce, 1 * MiB).algorithm == NcclAlgorithm::nvls);
  CHECK(schedule_collective(cm, nodes, CollectiveKind::all_reduce, 4 * MiB).algorithm == NcclAlgorithm::ring);
}
