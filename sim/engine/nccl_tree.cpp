#include "sim/engine/nccl_tree.h"

namespace zerosim {

int64_t btree_parent(int64_t n, int64_t rank) {
  if (rank == 0) return -1;
  int64_t bit = 1;
  while (bit < n && !(bit & rank)) bit <<= 1;
  int64_t up = (rank ^ bit) | (bit << 1);
  if (up >= n) up = rank ^ bit;  // the would-be parent is out of range: attach one level up
  return up;
}

std::array<int64_t, 2> dtree_parents(int64_t n, int64_t rank) {
  const int64_t first = btree_parent(n, rank);
  int64_t second = -1;
  if (n % 2 == 1) {  // shift by one
    const int64_t up = btree_parent(n, (rank - 1 + n) % n);
    second = up == -1 ? -1 : (up + 1) % n;
  } else {  // mirror
    const int64_t up = btree_parent(n, n - 1 - rank);
    second = up == -1 ? -1 : n - 1 - up;
  }
  return {first, second};
}

}  // namespace zerosim
