#pragma once
// How NCCL cuts an NVLS all-reduce into chunks (src/enqueue.cc, NCCL 2.18, the NCCL_ALGO_NVLS branch of
// the chunk-size computation). Each of the nChannels × nHeads concurrent operations moves its share of
// the buffer one chunk at a time, and every chunk pays a fixed synchronisation cost; NCCL grows the chunk
// with the message (16 → 32 → 64 → 128 KiB), which is why NVLS bandwidth ramps up to 1 GiB and beyond.
#include <cstdint>

namespace zerosim {

// NCCL's NVLS chunk size for a `bytes`-byte all-reduce with `concurrent_ops` = channels × heads:
// 128 KiB, then 64 KiB below 64·ops·128 KiB, 32 KiB below 8·ops·64 KiB, 16 KiB below 2·ops·32 KiB.
int64_t nvls_chunk_bytes(int64_t bytes, int64_t concurrent_ops);

// Chunks each concurrent operation handles in turn: ⌈bytes / (ops · chunk)⌉ (at least 1).
int64_t nvls_chunk_rounds(int64_t bytes, int64_t concurrent_ops);

}  // namespace zerosim
