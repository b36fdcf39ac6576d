#pragma once
// A replay of PyTorch's CUDA caching allocator (c10/cuda/CUDACachingAllocator.cpp, DeviceCachingAllocator)
// for one device: what `torch.cuda.max_memory_reserved` becomes for a sequence of tensor
// allocations and frees. Sizes are rounded as round_size does, requests of at most 1 MiB come from 2 MiB
// small-pool segments, larger ones from 20 MiB segments below 10 MiB and from 2 MiB-rounded segments above
// (get_allocation_size); a request takes the smallest cached block that fits (get_free_block), which is
// split when enough remains (should_split); freed blocks merge with free neighbours of their segment
// (free_block, try_merge_blocks) and stay cached. A segment that does not fit in `capacity_bytes` makes the
// allocator release cached blocks and retry, as on a cudaMalloc OOM. docs/memory-model.md §5 has the code
// references and what is approximated (no events, CUDA graphs or garbage collection). Blocks are cached per
// stream: a request only takes a cached block of its own stream (BlockComparatorSize orders by stream first,
// get_free_block stops at another stream's block), and a segment belongs to the stream that created it.
#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

namespace zerosim {

// PYTORCH_CUDA_ALLOC_CONF, as far as it changes reserved memory (CUDAAllocatorConfig).
struct AllocatorOptions {
  bool expandable_segments = false;
  std::optional<int64_t> max_split_size_bytes;  // unset: no limit (SIZE_MAX)
  int64_t roundup_power2_divisions = 0;         // 0: off; else a power of two ≥ 2, for every size
  // Device memory the allocator may reserve (the GPU's memory less what lives outside it: CUDA context,
  // NCCL buffers). Past it a new segment fails as cudaMalloc would.
  int64_t capacity_bytes = std::numeric_limits<int64_t>::max();
};

// The allocator's constants (CUDACachingAllocator.cpp, identical in PyTorch 2.1-2.6).
inline constexpr int64_t kMinBlockSize = 512;        // every size rounds up to 512 B
inline constexpr int64_t kSmallSize = 1 << 20;       // largest "small" request: 1 MiB
inline constexpr int64_t kSmallBuffer = 2 << 20;     // small-pool segments: 2 MiB
inline constexpr int64_t kLargeBuffer = 20 << 20;    // 1-10 MiB requests share 20 MiB segments
inline constexpr int64_t kMinLargeAlloc = 10 << 20;  // from 10 MiB a segment is the request's own
inline constexpr int64_t kRoundLarge = 2 << 20;      // ... rounded up to 2 MiB

// round_size: 512-byte rounding, or roundup_power2_next_division when divisions are set.
int64_t allocator_round_size(int64_t bytes, int64_t roundup_power2_divisions = 0);
// get_allocation_size: the segment cudaMalloc'd for a rounded request nothing cached can serve.
int64_t allocator_segment_size(int64_t rounded);

class CachingAllocator {
 public:
  using Id = int64_t;
  explicit CachingAllocator(AllocatorOptions options = {});

  // A tensor of `bytes` (0 is allowed and takes nothing, as in PyTorch) allocated while `stream` is the
  // current stream: it is served from, and returns to, that stream's cached blocks.
  Id malloc(int64_t bytes, int stream = 0);
  void free(Id id);

  int64_t allocated() const { return allocated_; }  // Σ block sizes handed out (allocated_bytes)
  int64_t reserved() const { return reserved_; }    // Σ segments (reserved_bytes)
  int64_t peak_allocated() const { return peak_allocated_; }
  int64_t peak_reserved() const { return peak_reserved_; }
  // What `stream`'s segments held when reserved memory peaked (they sum to peak_reserved).
  int64_t peak_reserved_on(int stream) const;
  int64_t segments() const { return segments_; }            // cudaMalloc'd segments now (expandable: 0)
  int64_t alloc_retries() const { return alloc_retries_; }  // num_alloc_retries: caches freed to fit
  int64_t ooms() const {
    return ooms_;
  }                    // requests that failed even after freeing the cache (replayed anyway)
  void empty_cache();  // torch.cuda.empty_cache(): release_cached_blocks

 private:
  struct Block {
    int64_t ptr = 0, size = 0;
    int prev = -1, next = -1;  // neighbours in the same segment
    int stream = 0;            // the stream whose pool the block's segment belongs to
    bool small = false, allocated = false, mapped = true, expandable = false, live = true;
  };
  struct Pool {
    std::set<std::tuple<int64_t, int64_t, int>> free;  // (size, ptr, block): BlockComparatorSize order
    std::set<std::pair<int64_t, int>> unmapped;        // (ptr, block): expandable address space not backed
    bool small = false;
    int stream = 0;
  };

  AllocatorOptions opt_;
  std::vector<Block> blocks_;
  std::vector<int> spare_;  // indices of deleted blocks, reused
  std::vector<int> id_block_;
  // Per stream (its index, streams are small non-negative ids), the large pool then the small one: get_pool.
  // A deque keeps every Pool where it is as streams are added.
  std::deque<std::array<Pool, 2>> pools_;
  int64_t next_address_ = 0;
  int64_t allocated_ = 0, reserved_ = 0, peak_allocated_ = 0, peak_reserved_ = 0;
  int64_t segments_ = 0, alloc_retries_ = 0, ooms_ = 0;
  std::map<int, int64_t> stream_reserved_, peak_stream_reserved_;

  int64_t max_split() const;
  Pool& pool(int stream, bool small);
  int new_block(const Block& b);
  void delete_block(int b);
  void insert_free(int b);
  void erase_free(int b);
  int get_free_block(Pool& p, int64_t size);
  int alloc_block(Pool& p, int64_t size, int64_t alloc_size, bool force);
  bool release_available_cached_blocks(Pool& p, int64_t size);
  void release_cached_blocks();
  void release_blocks(Pool& p);
  void release_block(int b);
  bool should_split(const Block& b, int64_t size) const;
  int split(int b, int64_t size);
  void free_block(int b);
  int64_t try_merge_blocks(int dst, int src);
  void grow_reserved(int64_t bytes, int stream);
  void shrink_reserved(int64_t bytes, int stream);
  // Expandable segments (expandable_segments:True).
  int64_t page(const Pool& p) const { return p.small ? kSmallBuffer : kLargeBuffer; }
  int find_expandable_block(Pool& p, int64_t size);
  bool map_block(int b, int64_t size, bool force);
  int try_allocate_expandable_block(Pool& p, int64_t size, bool force);
  void unmap_block(int b);
};

}  // namespace zerosim
