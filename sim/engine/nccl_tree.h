#pragma once
// NCCL's double binary tree over the nodes of a communicator (src/graph/trees.cc, ncclGetBtree and
// ncclGetDtree): tree 0 is a binary tree rooted at 0 built from the ranks' lowest set bit; tree 1 is its
// mirror (n even) or its shift by one (n odd), so that a node that is interior in one tree is a leaf in
// the other and every node's NIC carries about the same load.
#include <array>
#include <cstdint>

namespace zerosim {

// Parent of `rank` in NCCL's binary tree over n ranks, −1 for the root (rank 0).
int64_t btree_parent(int64_t n, int64_t rank);

// Parents of `rank` in the two trees of NCCL's double binary tree, −1 for a root.
std::array<int64_t, 2> dtree_parents(int64_t n, int64_t rank);

}  // namespace zerosim
