// The replay of PyTorch's CUDA caching allocator (workloads/caching_allocator.h) against sequences traced by
// hand through c10/cuda/CUDACachingAllocator.cpp (round_size, get_allocation_size, get_free_block,
// should_split, free_block, release_cached_blocks, the expandable-segment path). MiB = 1,048,576 bytes.
#include <catch2/catch.hpp>

#include "workloads/caching_allocator.h"

using namespace zerosim;

namespace {
constexpr int64_t MiB = 1'048'576;
}

TEST_CASE("round_size rounds to 512 bytes, or to power-of-two divisions when asked", "[allocator]") {
  CHECK(allocator_round_size(1) == 512);
  CHECK(allocator_round_size(512) == 512);
  CHECK(allocator_round_size(513) == 1024);
  CHECK(allocator_round_size(1'048'577) == 1'049'088);  // 1 MiB + 1 → 2049 · 512
  // roundup_power2_divisions 4: 5 MiB + 1 lies in [4, 8) MiB, whose quarters are 1 MiB → 6 MiB (512-byte
  // rounding alone gives 5 MiB + 512).
  CHECK(allocator_round_size(5 * MiB + 1, 4) == 6 * MiB);
  CHECK(allocator_round_size(5 * MiB + 1, 0) == 5 * MiB + 512);
  CHECK(allocator_round_size(4 * MiB, 4) == 4 * MiB);  // a power of two stays
  // Only sizes above 512 · divisions are rounded by divisions: 1200 B with 4 → 1536 (512-byte rounding).
  CHECK(allocator_round_size(1200, 4) == 1536);
  CHECK(allocator_round_size(3000, 4) == 3072);  // 3000 > 2048: [2048, 4096) in steps of 512 → 3072
}

TEST_CASE("get_allocation_size: 2 MiB below 1 MiB, 20 MiB below 10 MiB, else rounded to 2 MiB",
          "[allocator]") {
  CHECK(allocator_segment_size(512) == 2 * MiB);
  CHECK(allocator_segment_size(1 * MiB) == 2 * MiB);  // kSmallSize itself is small
  CHECK(allocator_segment_size(1 * MiB + 512) == 20 * MiB);
  CHECK(allocator_segment_size(10 * MiB - 512) == 20 * MiB);
  CHECK(allocator_segment_size(10 * MiB) == 10 * MiB);  // kMinLargeAlloc: its own segment
  CHECK(allocator_segment_size(10 * MiB + 512) == 12 * MiB);
}

TEST_CASE("small requests share 2 MiB segments, rounded to 512 bytes", "[allocator]") {
  CachingAllocator a;
  a.malloc(1);  // 512 B from a new 2 MiB segment; 2,097,152 − 512 = 2,096,640 stays cached (≥ 512: split)
  CHECK(a.allocated() == 512);
  CHECK(a.reserved() == 2 * MiB);
  a.malloc(1000);  // 1024 B from the cached 2,096,640
  CHECK(a.allocated() == 1536);
  a.malloc(1 * MiB);  // 1 MiB is still small: from the cached 2,095,616, leaving 1,047,040
  CHECK(a.allocated() == 1536 + 1 * MiB);
  CHECK(a.reserved() == 2 * MiB);
  CHECK(a.segments() == 1);
  a.malloc(1 * MiB);  // 1,047,040 cached is too small: a second 2 MiB segment
  CHECK(a.reserved() == 4 * MiB);
  CHECK(a.segments() == 2);
  CHECK(a.peak_reserved() == 4 * MiB);
}

TEST_CASE("1-10 MiB requests split a 20 MiB segment; from 10 MiB a request gets its own", "[allocator]") {
  CachingAllocator a;
  a.malloc(1 * MiB + 1);  // 1,049,088 B: large pool, a 20 MiB segment split; 19,922,432 cached
  CHECK(a.reserved() == 20 * MiB);
  CHECK(a.allocated() == 1'049'088);
  a.malloc(9 * MiB);  // from the cached 19,922,432: 10,485,248 remains (> 1 MiB: split)
  CHECK(a.reserved() == 20 * MiB);
  CHECK(a.allocated() == 1'049'088 + 9 * MiB);
  a.malloc(10 * MiB);  // 10,485,760 > 10,485,248 cached: its own segment of exactly 10 MiB
  CHECK(a.reserved() == 30 * MiB);
  a.malloc(10 * MiB + 1);  // 10,486,272 → a 12 MiB segment; 2,096,640 (> 1 MiB) split off and cached
  CHECK(a.reserved() == 42 * MiB);
  CHECK(a.allocated() == 1'049'088 + 9 * MiB + 10 * MiB + 10'486'272);
  CHECK(a.segments() == 3);

  SECTION("the boundary: 512 B less than 10 MiB takes a 20 MiB segment") {
    CachingAllocator b;
    b.malloc(10 * MiB - 512);
    CHECK(b.reserved() == 20 * MiB);
    CachingAllocator c;
    c.malloc(10 * MiB);
    CHECK(c.reserved() == 10 * MiB);
  }
}

TEST_CASE("a freed block is reused and split, unsplit when at most 1 MiB would remain", "[allocator]") {
  CachingAllocator a;
  const auto x = a.malloc(4 * MiB);  // 20 MiB segment: [x 4][free 16]
  const auto y = a.malloc(4 * MiB);  // [x 4][y 4][free 12]
  a.free(x);                         // [free 4][y 4][free 12]: y separates them
  CHECK(a.allocated() == 4 * MiB);
  // 3 MiB: best fit is the 4 MiB block; 1 MiB would remain, which is not > kSmallSize: no split, so the
  // whole 4 MiB counts as allocated.
  const auto z = a.malloc(3 * MiB);
  CHECK(a.allocated() == 8 * MiB);
  CHECK(a.reserved() == 20 * MiB);
  a.free(y);  // merges with the free 12 MiB after it: [z 4][free 16]
  a.free(z);  // and z with it: the whole 20 MiB segment is one free block again
  CHECK(a.allocated() == 0);
  CHECK(a.reserved() == 20 * MiB);  // cached, not returned
  a.malloc(18 * MiB);               // fits in the coalesced 20 MiB (2 MiB remain: split)
  CHECK(a.reserved() == 20 * MiB);
  CHECK(a.allocated() == 18 * MiB);
}

TEST_CASE("best fit: the smallest cached block that fits, not the first", "[allocator]") {
  CachingAllocator a;
  const auto big = a.malloc(14 * MiB);    // segment of 14 MiB, lower address
  const auto small = a.malloc(12 * MiB);  // segment of 12 MiB
  a.free(big);
  a.free(small);
  a.malloc(11 * MiB);  // takes the 12 MiB block (1 MiB would remain: no split)
  CHECK(a.allocated() == 12 * MiB);
  a.malloc(13 * MiB);  // the 14 MiB block is still there
  CHECK(a.reserved() == 26 * MiB);
  CHECK(a.allocated() == 26 * MiB);
  a.malloc(11 * MiB);  // nothing cached: a new 12 MiB segment
  CHECK(a.reserved() == 38 * MiB);
}

TEST_CASE("coalescing: neighbours freed in any order merge back into one block", "[allocator]") {
  CachingAllocator a;
  const auto p = a.malloc(6 * MiB), q = a.malloc(6 * MiB), r = a.malloc(6 * MiB);  // one 20 MiB segment
  CHECK(a.segments() == 1);
  a.free(q);  // [p][free 6][r][free 2]
  a.free(p);  // [free 12][r][free 2]
  a.free(r);  // [free 20]
  a.malloc(19 * MiB);
  CHECK(a.segments() == 1);
  CHECK(a.reserved() == 20 * MiB);
}

TEST_CASE("max_split_size: oversize blocks are neither split nor handed to much smaller requests",
          "[allocator]") {
  AllocatorOptions o;
  o.max_split_size_bytes = 40 * MiB;
  CachingAllocator a(o);
  const auto big = a.malloc(100 * MiB);
  a.free(big);  // a cached oversize block (≥ 40 MiB)
  const auto m =
      a.malloc(30 * MiB);  // below max_split: an oversize block is not offered → new 30 MiB segment
  CHECK(a.reserved() == 130 * MiB);
  a.free(m);
  a.malloc(70 * MiB);  // oversize request, but 100 ≥ 70 + 20 (kLargeBuffer): not close enough → new segment
  CHECK(a.reserved() == 200 * MiB);
  a.malloc(90 * MiB);  // 100 < 90 + 20: takes the whole 100 MiB block unsplit
  CHECK(a.reserved() == 200 * MiB);
  CHECK(a.allocated() == 170 * MiB);

  SECTION("without max_split_size the 30 MiB request splits the cached 100 MiB block") {
    CachingAllocator b;
    b.free(b.malloc(100 * MiB));
    b.malloc(30 * MiB);
    CHECK(b.reserved() == 100 * MiB);
  }
}

TEST_CASE("at the capacity the allocator frees its cache and retries; past it, out of memory",
          "[allocator]") {
  AllocatorOptions o;
  o.capacity_bytes = 50 * MiB;
  CachingAllocator a(o);
  a.free(a.malloc(30 * MiB));  // 30 MiB cached
  a.malloc(40 * MiB);          // 30 + 40 > 50: release_cached_blocks frees the 30 MiB segment, then 40 fits
  CHECK(a.reserved() == 40 * MiB);
  CHECK(a.peak_reserved() == 40 * MiB);
  CHECK(a.alloc_retries() == 1);
  CHECK(a.ooms() == 0);
  a.malloc(20 * MiB);  // nothing left to free: OOM (replayed past the capacity)
  CHECK(a.ooms() == 1);
  CHECK(a.reserved() == 60 * MiB);
}

TEST_CASE("expandable segments grow one segment in 20 MiB pages instead of adding segments", "[allocator]") {
  // The same sequence, cudaMalloc segments: 30 + 30 + 40 = 100 MiB reserved, 3 segments.
  auto run = [](bool expandable) {
    AllocatorOptions o;
    o.expandable_segments = expandable;
    CachingAllocator a(o);
    a.malloc(30 * MiB);
    const auto b = a.malloc(30 * MiB);
    a.free(b);
    a.malloc(40 * MiB);
    return a;
  };
  const CachingAllocator plain = run(false);
  CHECK(plain.reserved() == 100 * MiB);
  CHECK(plain.segments() == 3);
  // Expandable: a maps 2 pages (40 MiB) and leaves [a 30][free 10]; b takes the free 10 and one more page
  // (60 MiB mapped); freed, b is the 30 MiB free block at the end of the mapped range; the 40 MiB request
  // finds no cached block of 40 but grows that free block by one page to 50 and splits it:
  // [a 30][c 40][free 10], 80 MiB mapped, no cudaMalloc segment.
  const CachingAllocator grown = run(true);
  CHECK(grown.reserved() == 80 * MiB);
  CHECK(grown.peak_reserved() == 80 * MiB);
  CHECK(grown.segments() == 0);
  CHECK(grown.allocated() == 70 * MiB);

  SECTION("small requests map 2 MiB pages; empty_cache unmaps every free page") {
    AllocatorOptions o;
    o.expandable_segments = true;
    CachingAllocator a(o);
    const auto s = a.malloc(1000);  // small pool: one 2 MiB page, split at 1024
    CHECK(a.reserved() == 2 * MiB);
    const auto l = a.malloc(11 * MiB);  // large pool: one 20 MiB page
    CHECK(a.reserved() == 22 * MiB);
    a.free(s);
    a.free(l);
    a.empty_cache();
    CHECK(a.reserved() == 0);
    CHECK(a.peak_reserved() == 22 * MiB);
  }
}

TEST_CASE("blocks are cached per stream: another stream's free block is never handed out", "[allocator]") {
  // get_free_block searches the pool from (stream, size) in BlockComparatorSize order and stops at a block
  // of another stream, so a 30 MiB block freed on stream 1 does not serve a 30 MiB request on stream 0:
  // that one gets its own segment (2 segments, 60 MiB); back on stream 1 the cached block is reused.
  CachingAllocator a;
  a.free(a.malloc(30 * MiB, 1));
  const auto on_compute = a.malloc(30 * MiB, 0);
  CHECK(a.reserved() == 60 * MiB);
  CHECK(a.segments() == 2);
  const auto on_gather = a.malloc(30 * MiB, 1);
  CHECK(a.reserved() == 60 * MiB);
  CHECK(a.peak_reserved_on(0) == 30 * MiB);  // each stream's share of the peak
  CHECK(a.peak_reserved_on(1) == 30 * MiB);
  CHECK(a.peak_reserved_on(7) == 0);
  // Freed, each block returns to its own stream's pool; release_cached_blocks frees every stream's.
  a.free(on_compute);
  a.free(on_gather);
  a.empty_cache();
  CHECK(a.reserved() == 0);
  CHECK(a.peak_reserved() == 60 * MiB);

  SECTION("small requests too: a 2 MiB small-pool segment per stream") {
    CachingAllocator b;
    b.malloc(1000, 0);
    b.malloc(1000, 1);
    CHECK(b.reserved() == 4 * MiB);
    b.malloc(1000, 1);  // the rest of stream 1's segment
    CHECK(b.reserved() == 4 * MiB);
  }
  SECTION("a split remainder stays with its stream") {
    CachingAllocator b;
    b.free(b.malloc(40 * MiB, 1));
    b.malloc(12 * MiB, 1);  // splits stream 1's 40 MiB block: 28 MiB remain cached on stream 1
    b.malloc(12 * MiB, 0);  // stream 0 cannot take them: its own 12 MiB segment
    CHECK(b.reserved() == 52 * MiB);
    b.malloc(12 * MiB, 1);  // from the 28 MiB remainder
    CHECK(b.reserved() == 52 * MiB);
  }
  SECTION("expandable segments: one growable segment per stream") {
    AllocatorOptions o;
    o.expandable_segments = true;
    CachingAllocator b(o);
    b.free(b.malloc(11 * MiB, 1));  // stream 1 maps one 20 MiB page
    b.malloc(11 * MiB, 0);          // stream 0's own segment maps its own page
    CHECK(b.reserved() == 40 * MiB);
    CHECK(b.segments() == 0);
  }
}

TEST_CASE("zero-byte tensors take no block; bad frees are refused", "[allocator]") {
  CachingAllocator a;
  const auto z = a.malloc(0);
  CHECK(a.reserved() == 0);
  a.free(z);
  const auto x = a.malloc(512);
  a.free(x);
  CHECK_THROWS(a.free(x));
  CHECK_THROWS(a.free(12345));
}

TEST_CASE("random sequences: reserved covers allocated, and freeing everything returns every segment",
          "[allocator]") {
  // Sizes from 1 B to 64 MiB, frees in random order, a fixed seed (deterministic); both segment kinds, with
  // and without max_split_size and a capacity that forces the release path.
  for (const bool expandable : {false, true})
    for (const int64_t capacity : {int64_t{1} << 40, int64_t{300} * MiB}) {
      AllocatorOptions o;
      o.expandable_segments = expandable;
      o.capacity_bytes = capacity;
      if (!expandable) o.max_split_size_bytes = 40 * MiB;
      CachingAllocator a(o);
      INFO("expandable " << expandable << ", capacity " << capacity);
      uint64_t state = 12345;
      auto next = [&] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return state >> 33;
      };
      std::vector<CachingAllocator::Id> live;
      for (int i = 0; i < 4000; ++i) {
        if (live.empty() || next() % 3 != 0) {
          const int64_t bytes =
              static_cast<int64_t>(next() % 4 == 0 ? next() % (64 * MiB) : next() % (2 * MiB)) + 1;
          live.push_back(a.malloc(bytes));
        } else {
          const size_t k = next() % live.size();
          a.free(live[k]);
          live[k] = live.back();
          live.pop_back();
        }
        REQUIRE(a.reserved() >= a.allocated());
        REQUIRE(a.peak_reserved() >= a.reserved());
      }
      for (const auto id : live) a.free(id);
      CHECK(a.allocated() == 0);
      a.empty_cache();
      CHECK(a.reserved() == 0);  // every block merged back into whole segments (or whole free pages)
      CHECK(a.segments() == 0);
    }
}
