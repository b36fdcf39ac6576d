// NCCL's NVLS chunk sizes (sim/engine/nccl_nvls.h) against the thresholds of NCCL 2.18's enqueue.cc, worked
// out by hand for one 8-GPU node with 16 NVLS channels: 16 × 8 = 128 concurrent operations.
#include <catch2/catch.hpp>

#include "sim/engine/nccl_nvls.h"

using zerosim::nvls_chunk_bytes;
using zerosim::nvls_chunk_rounds;

TEST_CASE("nvls chunk: 128 KiB from 64·ops·128 KiB, then 64, 32 and 16 KiB", "[nccl][nvls]") {
  const int64_t ops = 16 * 8;
  const int64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
  // 64 · 128 · 128 KiB = 1 GiB: from there on the full 128 KiB chunk.
  CHECK(nvls_chunk_bytes(1 * GiB, ops) == 128 * KiB);
  CHECK(nvls_chunk_bytes(8 * GiB, ops) == 128 * KiB);
  CHECK(nvls_chunk_bytes(1 * GiB - 1, ops) == 64 * KiB);
  // 8 · 128 · 64 KiB = 64 MiB: 64 KiB chunks from 64 MiB to just under 1 GiB.
  CHECK(nvls_chunk_bytes(64 * MiB, ops) == 64 * KiB);
  CHECK(nvls_chunk_bytes(512 * MiB, ops) == 64 * KiB);
  CHECK(nvls_chunk_bytes(64 * MiB - 1, ops) == 32 * KiB);
  // 2 · 128 · 32 KiB = 8 MiB: 32 KiB from 8 MiB, 16 KiB below.
  CHECK(nvls_chunk_bytes(8 * MiB, ops) == 32 * KiB);
  CHECK(nvls_chunk_bytes(8 * MiB - 1, ops) == 16 * KiB);
  CHECK(nvls_chunk_bytes(1024, ops) == 16 * KiB);
}

TEST_CASE("nvls chunk rounds: each concurrent operation's share in chunks, at least one", "[nccl][nvls]") {
  const int64_t ops = 128;
  const int64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
  // 8 GiB / (128 · 128 KiB) = 8 GiB / 16 MiB = 512 rounds.
  CHECK(nvls_chunk_rounds(8 * GiB, ops) == 512);
  // 64 MiB / (128 · 64 KiB) = 64 MiB / 8 MiB = 8 rounds.
  CHECK(nvls_chunk_rounds(64 * MiB, ops) == 8);
  // 64 MiB + 1 byte needs a ninth round for the last byte.
  CHECK(nvls_chunk_rounds(64 * MiB + 1, ops) == 9);
  // 1 KiB fits in one 16 KiB chunk of one operation.
  CHECK(nvls_chunk_rounds(1024, ops) == 1);
  // A degenerate operation count is read as one.
  CHECK(nvls_chunk_rounds(32 * KiB, 0) == 2);
}
