#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define TSV_X86 1
#endif

namespace tsv {
namespace {

void cpu_relax() {
#if TSV_X86
  _mm_pause();
#endif
}

unsigned set_ftz_daz() {
#if TSV_X86
  unsigned old = _mm_getcsr();
  _mm_setcsr(old | 0x8040);  // FTZ (bit 15) | DAZ (bit 6)
  return old;
#else
  return 0;
#endif
}

class Pool {
 public:
  explicit Pool(int n) { start(n); }
  ~Pool() { stop(); }

  int size() const { return nthreads_.load(std::memory_order_relaxed); }

  void resize(int n) {
    if (n < 1) n = 1;
    // wait for a region another JS thread (a worker_thread) may be running
    for (bool idle = false; !busy_.compare_exchange_weak(idle, true, std::memory_order_acquire); idle = false) std::this_thread::yield();
    if (n != nthreads_) {
      stop();
      start(n);
    }
    busy_.store(false, std::memory_order_release);
  }

  // One region at a time: a caller that finds the pool busy (a nested call from
  // inside a region, or another JS thread such as a data-loading worker) runs
  // the whole job itself, as fn(0, 1).
  void run(const std::function<void(int, int)>& fn) {
    bool idle = false;
    if (nthreads_ == 1 || !busy_.compare_exchange_strong(idle, true, std::memory_order_acquire)) {
      fn(0, 1);
      return;
    }
    if (nthreads_ == 1) {  // resized to one thread since the check above
      busy_.store(false, std::memory_order_release);
      fn(0, 1);
      return;
    }
    job_ = &fn;
    pending_.store(nthreads_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    fn(0, nthreads_);
    // Wait for the workers; they finish at about the same time as we do.
    while (pending_.load(std::memory_order_acquire) != 0) cpu_relax();
    job_ = nullptr;
    busy_.store(false, std::memory_order_release);
  }

 private:
  void start(int n) {
    nthreads_ = n;
    quit_ = false;
    // Workers start from the current generation, read here and not in the new
    // thread: a region started before a worker first runs must not be missed.
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int t = 1; t < n; t++) workers_.emplace_back([this, t, gen] { loop(t, gen); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    nthreads_ = 1;
  }

  void loop(int tid, uint64_t seen) {
    set_ftz_daz();
    for (;;) {
      // Spin for a while (timed, not counted: a pause costs very different
      // amounts on different cores), then sleep.
      auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      uint64_t g;
      int spins = 0;
      while ((g = generation_.load(std::memory_order_acquire)) == seen) {
        cpu_relax();
        if (++spins % 64 == 0 && std::chrono::steady_clock::now() > spin_until) {
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        }
      }
      seen = g;
      if (quit_) return;
      (*job_)(tid, nthreads_);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  std::atomic<int> nthreads_{1};
  std::atomic<bool> busy_{false};
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  const std::function<void(int, int)>* job_ = nullptr;
  bool quit_ = false;
};

int default_threads() {
  if (const char* env = std::getenv("TSVISION_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

Pool& pool() {
  static Pool* p = new Pool(default_threads());  // never destroyed: workers may outlive statics
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }
void set_num_threads(int n) { pool().resize(n); }

void run_parallel(const std::function<void(int, int)>& fn) { pool().run(fn); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t chunks = (n + grain - 1) / grain;
  int nt = num_threads();
  if (chunks <= 1 || nt == 1) {
    fn(0, n);
    return;
  }
  // Up to 4 parts per thread, claimed one at a time: a thread that starts late
  // (a worker waking from sleep, a vCPU lent to another process) takes fewer,
  // instead of everyone waiting for its fixed share.
  const int64_t parts = std::min<int64_t>(chunks, 4 * static_cast<int64_t>(nt));
  std::atomic<int64_t> next{0};
  run_parallel([&](int, int) {
    for (int64_t p; (p = next.fetch_add(1, std::memory_order_relaxed)) < parts;) {
      int64_t begin = n * p / parts, end = n * (p + 1) / parts;
      if (begin < end) fn(begin, end);
    }
  });
}

DenormalScope::DenormalScope() : saved(set_ftz_daz()) {}
DenormalScope::~DenormalScope() {
#if TSV_X86
  _mm_setcsr(saved);
#endif
}

}  // namespace tsv
