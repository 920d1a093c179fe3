// A small fork-join pool: the calling (JS) thread is worker 0, plus nthreads-1
// workers. After a region the workers spin for a short, timed while (so back-to-back
// ops do not pay a futex wake-up), then sleep on a condition variable.
#pragma once
#include <cstdint>
#include <functional>

namespace tsv {

// Number of threads a parallel region uses (caller included).
int num_threads();
// Resize the pool (n >= 1). Not to be called from inside a region.
void set_num_threads(int n);

// Runs fn(tid, nthreads) once on each of the pool's threads and waits for all.
// Kernels that need per-thread state (GEMM packing buffers) use this directly.
void run_parallel(const std::function<void(int tid, int nthreads)>& fn);

// Splits [0, n) into at most num_threads() contiguous chunks of at least `grain`
// items and runs fn(begin, end) on each; tiny ranges stay on the caller.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Sets flush-to-zero / denormals-are-zero for the scope of a kernel call on the
// calling thread and restores the previous mode afterwards (JS math must keep
// IEEE denormals). Worker threads keep FTZ/DAZ permanently.
struct DenormalScope {
  DenormalScope();
  ~DenormalScope();
  unsigned saved;
};

}  // namespace tsv
