#include "allocator.h"

#include <sys/mman.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace tsv {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kHuge = size_t(2) << 20;  // 2 MiB
constexpr size_t kLarge = size_t(1) << 20;  // blocks from 1 MiB up are mmapped

// Size classes: below 1 MiB, four per power of two (at most 25% waste);
// from 1 MiB up, multiples of 2 MiB so transparent huge pages can back them.
size_t size_class(size_t bytes) {
  if (bytes <= kAlign) return kAlign;
  if (bytes >= kLarge) return (bytes + kHuge - 1) / kHuge * kHuge;
  size_t p = size_t(1) << (63 - __builtin_clzll(bytes - 1));  // largest power of 2 < bytes
  size_t step = p / 4 < kAlign ? kAlign : p / 4;
  return (bytes + step - 1) / step * step;
}

struct State {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_lists;
  AllocatorStats stats{0, 0, 0, 0};
  uint64_t limit = uint64_t(8) << 30;
};

State& state() {
  static State* s = new State();
  return *s;
}

void* system_alloc(size_t cls) {
  if (cls >= kLarge) {
    void* p = mmap(nullptr, cls, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
    madvise(p, cls, MADV_HUGEPAGE);
#endif
    return p;
  }
  void* p = nullptr;
  if (posix_memalign(&p, kAlign, cls) != 0) return nullptr;
  return p;
}

void system_free(void* p, size_t cls) {
  if (cls >= kLarge) munmap(p, cls);
  else std::free(p);
}

void release_all_locked(State& s) {
  for (auto& [cls, list] : s.free_lists) {
    for (void* p : list) system_free(p, cls);
    s.stats.cached_bytes -= cls * list.size();
    list.clear();
  }
}

// A large block made from a cached one of another size, so that a request never maps
// fresh memory while cached blocks sit idle (the peak resident memory would be the live
// bytes plus the cache): a larger block gives its head and returns its tail to the system;
// otherwise the largest smaller block is grown by mremap, which moves its page tables
// (its pages stay touched; only the new tail faults in). Null when no large block is cached.
void* reshape_cached_locked(State& s, size_t cls) {
  auto larger = s.free_lists.upper_bound(cls);
  while (larger != s.free_lists.end() && larger->second.empty()) ++larger;
  if (larger != s.free_lists.end()) {
    const size_t have = larger->first;
    void* p = larger->second.back();
    larger->second.pop_back();
    s.stats.cached_bytes -= have;
    munmap(static_cast<char*>(p) + cls, have - cls);
    return p;
  }
  auto smaller = s.free_lists.lower_bound(cls);
  while (smaller != s.free_lists.begin()) {
    --smaller;
    if (smaller->first < kLarge) break;
    if (smaller->second.empty()) continue;
    const size_t have = smaller->first;
    void* p = smaller->second.back();
    void* q = mremap(p, have, cls, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) return nullptr;
    smaller->second.pop_back();
    s.stats.cached_bytes -= have;
#ifdef MADV_HUGEPAGE
    madvise(q, cls, MADV_HUGEPAGE);
#endif
    return q;
  }
  return nullptr;
}

}  // namespace

void* cached_alloc(size_t bytes, size_t* capacity) {
  size_t cls = size_class(bytes == 0 ? 1 : bytes);
  *capacity = cls;
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  // The smallest cached block of this class or, for large blocks, of a class up to twice
  // its size: a fresh block costs page faults (a fresh 2 MiB block costs milliseconds on
  // a virtual machine whose host backs memory lazily), a larger one only address space.
  auto it = s.free_lists.lower_bound(cls);
  const size_t reach = cls >= kLarge ? 2 * cls : cls;
  while (it != s.free_lists.end() && it->first <= reach && it->second.empty()) ++it;
  if (it != s.free_lists.end() && it->first <= reach) {
    cls = it->first;
    *capacity = cls;
    void* p = it->second.back();  // LIFO: the most recently freed block is warmest in cache
    it->second.pop_back();
    s.stats.cached_bytes -= cls;
    s.stats.live_bytes += cls;
    s.stats.hits++;
    return p;
  }
  void* p = cls >= kLarge ? reshape_cached_locked(s, cls) : nullptr;
  if (p) {
    s.stats.live_bytes += cls;
    s.stats.hits++;
    return p;
  }
  p = system_alloc(cls);
  if (!p) {
    release_all_locked(s);
    p = system_alloc(cls);
    if (!p) throw std::bad_alloc();
  }
  s.stats.live_bytes += cls;
  s.stats.misses++;
  return p;
}

void cached_free(void* ptr, size_t capacity) {
  if (!ptr) return;
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.stats.live_bytes -= capacity;
  if (s.stats.cached_bytes + capacity > s.limit) {
    system_free(ptr, capacity);
    return;
  }
  s.free_lists[capacity].push_back(ptr);
  s.stats.cached_bytes += capacity;
}

void empty_cache() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  release_all_locked(s);
}

AllocatorStats allocator_stats() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.stats;
}

void set_cache_limit(uint64_t bytes) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.limit = bytes;
}

}  // namespace tsv
