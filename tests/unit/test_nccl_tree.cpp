// NCCL's double binary tree (sim/engine/nccl_tree.h) against the trees drawn in NCCL's src/graph/trees.cc.
#include <catch2/catch.hpp>

#include "sim/engine/nccl_tree.h"

using zerosim::btree_parent;
using zerosim::dtree_parents;

TEST_CASE("btree: parents of NCCL's 14-rank illustration", "[nccl][tree]") {
  // 0---------------8
  //          ______/ \______
  //         4               12
  //       /   \            /  \
  //     2       6       10     \
  //    / \     / \     /  \     \
  //   1   3   5   7   9   11    13
  const int64_t expected[14] = {-1, 2, 4, 2, 8, 6, 4, 6, 0, 10, 12, 10, 8, 12};
  for (int64_t r = 0; r < 14; ++r) {
    INFO("rank " << r);
    CHECK(btree_parent(14, r) == expected[r]);
  }
  // Lowest set bit of 13 is 1: (13^1)|2 = 14 is out of range, so 13 attaches to 13^1 = 12.
  CHECK(btree_parent(14, 13) == 12);
}

TEST_CASE("dtree: the second tree mirrors the first for an even count and shifts it for an odd one",
          "[nccl][tree]") {
  // n = 12 (even): tree 1 is the mirror r -> 11 - r. In tree 0, 11's parent is 10 (lowest bit 1:
  // (11^1)|2 = 10), so in tree 1 rank 0's parent is 11 - 10 = 1; the mirrored root is 11.
  CHECK(dtree_parents(12, 0)[0] == -1);
  CHECK(dtree_parents(12, 0)[1] == 1);
  CHECK(dtree_parents(12, 11)[1] == -1);
  CHECK(dtree_parents(12, 3)[1] == 11);  // mirror of 8 -> 0 is 3 -> 11
  // n = 13 (odd): tree 1 is tree 0 shifted by one: rank r plays r-1. Rank 1 plays 0 (the root);
  // rank 0 plays 12, whose parent in tree 0 is 8, i.e. 9 after the shift.
  CHECK(dtree_parents(13, 1)[1] == -1);
  CHECK(dtree_parents(13, 0)[1] == 9);
  // Every non-root rank has exactly one parent per tree, and each tree has n - 1 edges with no cycles:
  // following parents from any rank reaches the root within log2(n) + 1 steps.
  for (int64_t n : {2, 3, 5, 8, 13, 64, 100}) {
    for (int tree = 0; tree < 2; ++tree) {
      int roots = 0;
      for (int64_t r = 0; r < n; ++r) {
        int64_t at = r;
        int steps = 0;
        while (dtree_parents(n, at)[static_cast<size_t>(tree)] >= 0 && steps <= 64) {
          at = dtree_parents(n, at)[static_cast<size_t>(tree)];
          ++steps;
        }
        CHECK(steps <= 8);
        roots += dtree_parents(n, r)[static_cast<size_t>(tree)] < 0;
      }
      CHECK(roots == 1);
    }
  }
}
