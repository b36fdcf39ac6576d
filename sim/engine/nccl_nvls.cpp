#include "sim/engine/nccl_nvls.h"

#include <algorithm>

namespace zerosim {

int64_t nvls_chunk_bytes(int64_t bytes, int64_t concurrent_ops) {
  // The same three tests, in the same order, as NCCL 2.18's enqueue.cc (maxChunkSize 128 KiB in one node).
  const int64_t ops = std::max<int64_t>(1, concurrent_ops);
  int64_t chunk = 128 * 1024;
  if (bytes < 64 * ops * chunk && chunk > 65536) chunk = 65536;
  if (bytes < 8 * ops * chunk && chunk > 32768) chunk = 32768;
  if (bytes < 2 * ops * chunk && chunk > 16384) chunk = 16384;
  return chunk;
}

int64_t nvls_chunk_rounds(int64_t bytes, int64_t concurrent_ops) {
  const int64_t ops = std::max<int64_t>(1, concurrent_ops);
  const int64_t per_round = ops * nvls_chunk_bytes(bytes, ops);
  return std::max<int64_t>(1, (bytes + per_round - 1) / per_round);
}

}  // namespace zerosim
