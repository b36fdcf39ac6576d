#include "workloads/caching_allocator.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace zerosim {

// Function names in comments are DeviceCachingAllocator's (c10/cuda/CUDACachingAllocator.cpp).

int64_t allocator_round_size(int64_t bytes, int64_t divisions) {
  if (bytes < kMinBlockSize) return kMinBlockSize;
  // round_size → roundup_power2_next_division: the power-of-two interval [2^k, 2^(k+1)) split into
  // `divisions` steps (1200 B with 4 divisions → 1280 B).
  if (divisions > 1 && bytes > kMinBlockSize * divisions) {
    const auto size = static_cast<uint64_t>(bytes);
    if (std::has_single_bit(size)) return bytes;
    const uint64_t floor = std::bit_floor(size);
    const uint64_t step = floor >> std::countr_zero(static_cast<uint64_t>(divisions));
    if (step == 0) return static_cast<int64_t>(floor << 1);
    const uint64_t down = size & ~(step - 1);
    return static_cast<int64_t>(down == size ? size : down + step);
  }
  return kMinBlockSize * ((bytes + kMinBlockSize - 1) / kMinBlockSize);
}

int64_t allocator_segment_size(int64_t rounded) {
  if (rounded <= kSmallSize) return kSmallBuffer;
  if (rounded < kMinLargeAlloc) return kLargeBuffer;
  return kRoundLarge * ((rounded + kRoundLarge - 1) / kRoundLarge);
}

CachingAllocator::CachingAllocator(AllocatorOptions options) : opt_(options) {
  if (opt_.roundup_power2_divisions != 0 &&
      (opt_.roundup_power2_divisions < 2 ||
       !std::has_single_bit(static_cast<uint64_t>(opt_.roundup_power2_divisions))))
    throw std::invalid_argument("roundup_power2_divisions must be 0 or a power of two >= 2");
}

int64_t CachingAllocator::max_split() const {
  return opt_.max_split_size_bytes.value_or(std::numeric_limits<int64_t>::max());
}

CachingAllocator::Pool& CachingAllocator::pool(int stream, bool small) {
  if (stream < 0) throw std::invalid_argument("negative stream");
  while (pools_.size() <= static_cast<size_t>(stream)) {
    const int id = static_cast<int>(pools_.size());
    pools_.emplace_back();
    pools_.back()[0].stream = pools_.back()[1].stream = id;
    pools_.back()[1].small = true;
  }
  return pools_[static_cast<size_t>(stream)][small ? 1 : 0];
}

int CachingAllocator::new_block(const Block& b) {
  if (!spare_.empty()) {
    const int i = spare_.back();
    spare_.pop_back();
    blocks_[static_cast<size_t>(i)] = b;
    return i;
  }
  blocks_.push_back(b);
  return static_cast<int>(blocks_.size() - 1);
}

void CachingAllocator::delete_block(int b) {
  blocks_[static_cast<size_t>(b)].live = false;
  spare_.push_back(b);
}

void CachingAllocator::insert_free(int b) {
  const Block& k = blocks_[static_cast<size_t>(b)];
  pool(k.stream, k.small).free.emplace(k.size, k.ptr, b);
}

void CachingAllocator::erase_free(int b) {
  const Block& k = blocks_[static_cast<size_t>(b)];
  pool(k.stream, k.small).free.erase({k.size, k.ptr, b});
}

void CachingAllocator::grow_reserved(int64_t bytes, int stream) {
  reserved_ += bytes;
  stream_reserved_[stream] += bytes;
  if (reserved_ > peak_reserved_) {
    peak_reserved_ = reserved_;
    peak_stream_reserved_ = stream_reserved_;
  }
}

void CachingAllocator::shrink_reserved(int64_t bytes, int stream) {
  reserved_ -= bytes;
  stream_reserved_[stream] -= bytes;
}

int64_t CachingAllocator::peak_reserved_on(int stream) const {
  const auto it = peak_stream_reserved_.find(stream);
  return it == peak_stream_reserved_.end() ? 0 : it->second;
}

CachingAllocator::Id CachingAllocator::malloc(int64_t bytes, int stream) {
  if (bytes < 0) throw std::invalid_argument("negative allocation");
  const Id id = static_cast<Id>(id_block_.size());
  if (bytes == 0) {  // CUDACachingAllocator::allocate hands out a null pointer without a block
    id_block_.push_back(-1);
    return id;
  }
  const int64_t size = allocator_round_size(bytes, opt_.roundup_power2_divisions);
  Pool& p = pool(stream, size <= kSmallSize);  // get_pool, then only this stream's blocks
  const int64_t alloc_size = allocator_segment_size(size);
  // malloc: the cache first; then a new segment; then free oversize cached blocks and retry; then free
  // every unsplit cached block and retry (release_cached_blocks); past that PyTorch raises OOM.
  int b = get_free_block(p, size);
  if (b < 0) b = alloc_block(p, size, alloc_size, false);
  if (b < 0 && release_available_cached_blocks(p, size)) b = alloc_block(p, size, alloc_size, false);
  if (b < 0) {
    release_cached_blocks();
    ++alloc_retries_;
    b = alloc_block(p, size, alloc_size, false);
  }
  if (b < 0) {  // CUDA out of memory: replayed past the capacity so the peak says by how much
    ++ooms_;
    b = alloc_block(p, size, alloc_size, true);
  }
  // alloc_found_block
  if (should_split(blocks_[static_cast<size_t>(b)], size)) b = split(b, size);
  Block& k = blocks_[static_cast<size_t>(b)];
  k.allocated = true;
  allocated_ += k.size;
  peak_allocated_ = std::max(peak_allocated_, allocated_);
  id_block_.push_back(b);
  return id;
}

void CachingAllocator::free(Id id) {
  if (id < 0 || id >= static_cast<Id>(id_block_.size())) throw std::invalid_argument("unknown allocation");
  const int b = id_block_[static_cast<size_t>(id)];
  id_block_[static_cast<size_t>(id)] = -2;
  if (b == -1) return;  // a zero-byte tensor
  if (b == -2) throw std::invalid_argument("double free");
  Block& k = blocks_[static_cast<size_t>(b)];
  k.allocated = false;
  allocated_ -= k.size;
  free_block(b);
}

// get_free_block: the smallest cached block of at least `size` (ties: lowest address), with the
// max_split_size rules: an oversize block serves only a request that is itself oversize and within
// kLargeBuffer (20 MiB) of it.
int CachingAllocator::get_free_block(Pool& p, int64_t size) {
  auto it = p.free.lower_bound({size, std::numeric_limits<int64_t>::min(), -1});
  if (it == p.free.end()) return -1;
  if (blocks_[static_cast<size_t>(std::get<2>(*it))].expandable) {
    // Best fit counts a block that ends where unmapped address space begins as able to grow into it,
    // so such a block is passed over for any larger one that cannot.
    auto expandable_size = [&](int b) {
      const Block& k = blocks_[static_cast<size_t>(b)];
      const bool grows = k.next >= 0 && !blocks_[static_cast<size_t>(k.next)].mapped;
      return k.size + (grows ? blocks_[static_cast<size_t>(k.next)].size : 0);
    };
    auto next = std::next(it);
    while (blocks_[static_cast<size_t>(std::get<2>(*it))].expandable && next != p.free.end() &&
           expandable_size(std::get<2>(*next)) < expandable_size(std::get<2>(*it)))
      it = next++;
  }
  const int64_t found = std::get<0>(*it);
  if (size < max_split() && found >= max_split()) return -1;
  if (size >= max_split() && found >= size + kLargeBuffer) return -1;
  const int b = std::get<2>(*it);
  p.free.erase(it);
  return b;
}

// alloc_block: a new segment of `alloc_size` (cudaMalloc), or with expandable segments more pages mapped.
int CachingAllocator::alloc_block(Pool& p, int64_t size, int64_t alloc_size, bool force) {
  if (opt_.expandable_segments) return try_allocate_expandable_block(p, size, force);
  if (!force && reserved_ + alloc_size > opt_.capacity_bytes) return -1;
  Block k;
  k.ptr = next_address_, k.size = alloc_size, k.small = p.small, k.stream = p.stream;
  next_address_ += alloc_size;
  ++segments_;
  grow_reserved(alloc_size, p.stream);
  return new_block(k);
}

// release_available_cached_blocks: with max_split_size set, free the smallest oversize cached block that
// covers the request, or else the largest ones until enough is freed.
bool CachingAllocator::release_available_cached_blocks(Pool& p, int64_t size) {
  // The real code would assert on an expandable block here (release_block); not replayed.
  if (!opt_.max_split_size_bytes || opt_.expandable_segments) return false;
  const int64_t key = std::max(size, max_split());
  auto unsplit = [&](int b) {
    const Block& k = blocks_[static_cast<size_t>(b)];
    return k.prev < 0 && k.next < 0;
  };
  auto it = p.free.lower_bound({key, std::numeric_limits<int64_t>::min(), -1});
  if (it != p.free.end()) {
    if (!unsplit(std::get<2>(*it))) return false;
    release_block(std::get<2>(*it));
    return true;
  }
  if (it == p.free.begin()) return false;
  int64_t released = 0;
  --it;
  while (released < key && std::get<0>(*it) >= max_split() && unsplit(std::get<2>(*it))) {
    const int b = std::get<2>(*it);
    released += std::get<0>(*it);
    const bool first = it == p.free.begin();
    if (!first) --it;
    release_block(b);
    if (first) break;
  }
  return released >= key;
}

// release_cached_blocks: free every cached block that is a whole segment, every stream's, the large pool
// before the small one; unmap the free pages of expandable segments.
void CachingAllocator::release_cached_blocks() {
  for (const int which : {0, 1})  // the large pools, then the small ones
    for (auto& per_stream : pools_) release_blocks(per_stream[static_cast<size_t>(which)]);
}

void CachingAllocator::empty_cache() { release_cached_blocks(); }

void CachingAllocator::release_blocks(Pool& p) {
  std::vector<int> to_unmap, to_release;
  for (const auto& [size, ptr, b] : p.free) {
    const Block& k = blocks_[static_cast<size_t>(b)];
    if (k.expandable)
      to_unmap.push_back(b);
    else if (k.prev < 0 && k.next < 0)
      to_release.push_back(b);
  }
  for (int b : to_release) release_block(b);
  for (int b : to_unmap) {
    unmap_block(b);
    const Block& k = blocks_[static_cast<size_t>(b)];
    if (!k.mapped && k.prev < 0 && k.next < 0) {  // release_expandable_segment: nothing left mapped
      p.unmapped.erase({k.ptr, b});
      delete_block(b);
    }
  }
}

// release_block: cudaFree of a whole cached segment.
void CachingAllocator::release_block(int b) {
  erase_free(b);
  shrink_reserved(blocks_[static_cast<size_t>(b)].size, blocks_[static_cast<size_t>(b)].stream);
  --segments_;
  delete_block(b);
}

// should_split: the small pool (and every expandable segment) splits whenever 512 B remain; the large
// pool only when more than 1 MiB would remain and the request is below max_split_size.
bool CachingAllocator::should_split(const Block& k, int64_t size) const {
  const int64_t remaining = k.size - size;
  if (k.small || opt_.expandable_segments) return remaining >= kMinBlockSize;
  return size < max_split() && remaining > kSmallSize;
}

// alloc_found_block's split: the request takes the front of the block, the rest stays cached.
int CachingAllocator::split(int b, int64_t size) {
  Block front = blocks_[static_cast<size_t>(b)];
  front.size = size;
  front.next = b;
  const int f = new_block(front);
  Block& rest = blocks_[static_cast<size_t>(b)];  // new_block may have grown the vector
  if (rest.prev >= 0) blocks_[static_cast<size_t>(rest.prev)].next = f;
  rest.prev = f;
  rest.ptr += size;
  rest.size -= size;
  insert_free(b);
  return f;
}

// free_block: merge with free neighbours of the same segment, then cache.
void CachingAllocator::free_block(int b) {
  const int prev = blocks_[static_cast<size_t>(b)].prev, next = blocks_[static_cast<size_t>(b)].next;
  try_merge_blocks(b, prev);
  try_merge_blocks(b, next);
  insert_free(b);
}

// try_merge_blocks: dst absorbs src when src is a free block of the same mapping state. Neither is in a
// pool set on entry except src (dst's caller inserts it afterwards).
int64_t CachingAllocator::try_merge_blocks(int dst, int src) {
  if (src < 0) return 0;
  Block& s = blocks_[static_cast<size_t>(src)];
  Block& d = blocks_[static_cast<size_t>(dst)];
  if (s.allocated || s.mapped != d.mapped) return 0;
  if (s.mapped)
    erase_free(src);
  else
    pool(s.stream, s.small).unmapped.erase({s.ptr, src});
  if (d.prev == src) {
    d.ptr = s.ptr;
    d.prev = s.prev;
    if (d.prev >= 0) blocks_[static_cast<size_t>(d.prev)].next = dst;
  } else {
    d.next = s.next;
    if (d.next >= 0) blocks_[static_cast<size_t>(d.next)].prev = dst;
  }
  const int64_t subsumed = s.size;
  d.size += subsumed;
  delete_block(src);
  return subsumed;
}

// ---- expandable segments --------------------------------------------------------------------------

// find_expandable_block: the lowest-address run of free and unmapped blocks with room for `size`; else a
// new segment whose address space is 1 1/8 of the device (PyTorch sizes it by the GPU's total memory).
int CachingAllocator::find_expandable_block(Pool& p, int64_t size) {
  auto room = [&](int b) {
    int64_t bytes = 0;
    while (bytes < size && b >= 0 && !blocks_[static_cast<size_t>(b)].allocated) {
      bytes += blocks_[static_cast<size_t>(b)].size;
      b = blocks_[static_cast<size_t>(b)].next;
    }
    return bytes >= size;
  };
  for (const auto& [ptr, u] : p.unmapped) {
    int c = u;
    const int prev = blocks_[static_cast<size_t>(c)].prev;
    if (prev >= 0 && !blocks_[static_cast<size_t>(prev)].allocated) c = prev;
    if (room(c)) return c;
  }
  constexpr int64_t kTiB = int64_t{1} << 40;
  const int64_t pg = page(p);
  const int64_t device = std::min(opt_.capacity_bytes, kTiB);
  const int64_t space = ((device + device / 8 + pg - 1) / pg) * pg;
  Block k;
  next_address_ = ((next_address_ + kLargeBuffer - 1) / kLargeBuffer) * kLargeBuffer;  // page-aligned base
  k.ptr = next_address_, k.size = space, k.small = p.small, k.stream = p.stream, k.mapped = false,
  k.expandable = true;
  next_address_ += space;
  const int b = new_block(k);
  p.unmapped.emplace(k.ptr, b);
  return b;
}

// map_block: back the first `size` bytes of an unmapped block with whole pages (2 MiB in the small pool,
// 20 MiB in the large one), merge them with free neighbours and cache them.
bool CachingAllocator::map_block(int b, int64_t size, bool force) {
  Pool& p = pool(blocks_[static_cast<size_t>(b)].stream, blocks_[static_cast<size_t>(b)].small);
  const int64_t pg = page(p);
  const int64_t mapped = std::min(blocks_[static_cast<size_t>(b)].size, ((size + pg - 1) / pg) * pg);
  if (!force && reserved_ + mapped > opt_.capacity_bytes) return false;  // cuMemCreate out of memory
  p.unmapped.erase({blocks_[static_cast<size_t>(b)].ptr, b});
  blocks_[static_cast<size_t>(b)].mapped = true;
  if (mapped < blocks_[static_cast<size_t>(b)].size) {
    Block rest = blocks_[static_cast<size_t>(b)];
    rest.ptr += mapped;
    rest.size -= mapped;
    rest.mapped = false;
    rest.prev = b;
    const int r = new_block(rest);
    Block& k = blocks_[static_cast<size_t>(b)];
    if (k.next >= 0) blocks_[static_cast<size_t>(k.next)].prev = r;
    k.next = r;
    k.size = mapped;
    p.unmapped.emplace(rest.ptr, r);
  }
  try_merge_blocks(b, blocks_[static_cast<size_t>(b)].prev);
  try_merge_blocks(b, blocks_[static_cast<size_t>(b)].next);
  insert_free(b);
  grow_reserved(mapped, p.stream);
  return true;
}

// try_allocate_expandable_block: map pages at the candidate until it holds `size`.
int CachingAllocator::try_allocate_expandable_block(Pool& p, int64_t size, bool force) {
  int c = find_expandable_block(p, size);
  if (!blocks_[static_cast<size_t>(c)].mapped &&
      !map_block(c, std::min(blocks_[static_cast<size_t>(c)].size, size), force))
    return -1;
  while (blocks_[static_cast<size_t>(c)].size < size) {
    const int next = blocks_[static_cast<size_t>(c)].next;
    // free → unmapped → …: map the unmapped block, which merges with c (a mapped free block next to it
    // would have been merged into c already).
    if (next < 0 || blocks_[static_cast<size_t>(next)].mapped) return -1;
    const int64_t remaining = size - blocks_[static_cast<size_t>(c)].size;
    if (!map_block(next, std::min(remaining, blocks_[static_cast<size_t>(next)].size), force)) return -1;
    c = next;
  }
  erase_free(c);
  return c;
}

// unmap_block: give back the whole pages inside a free block of an expandable segment.
void CachingAllocator::unmap_block(int b) {
  Block k = blocks_[static_cast<size_t>(b)];
  Pool& p = pool(k.stream, k.small);
  const int64_t pg = page(p);
  const int64_t begin = ((k.ptr + pg - 1) / pg) * pg, end = ((k.ptr + k.size) / pg) * pg;
  if (begin >= end) return;
  erase_free(b);
  if (begin > k.ptr) {  // prev? → before_free → block
    Block before = k;
    before.size = begin - k.ptr;
    before.next = b;
    const int f = new_block(before);
    if (k.prev >= 0) blocks_[static_cast<size_t>(k.prev)].next = f;
    blocks_[static_cast<size_t>(b)].prev = f;
    insert_free(f);
  }
  if (end < k.ptr + k.size) {  // block → after_free → next?
    Block after = k;
    after.ptr = end;
    after.size = k.ptr + k.size - end;
    after.prev = b;
    after.next = blocks_[static_cast<size_t>(b)].next;
    const int a = new_block(after);
    if (after.next >= 0) blocks_[static_cast<size_t>(after.next)].prev = a;
    blocks_[static_cast<size_t>(b)].next = a;
    insert_free(a);
  }
  Block& u = blocks_[static_cast<size_t>(b)];
  u.ptr = begin, u.size = end - begin, u.mapped = false;
  shrink_reserved(end - begin, k.stream);
  try_merge_blocks(b, blocks_[static_cast<size_t>(b)].prev);
  try_merge_blocks(b, blocks_[static_cast<size_t>(b)].next);
  p.unmapped.emplace(blocks_[static_cast<size_t>(b)].ptr, b);
}

}  // namespace zerosim
