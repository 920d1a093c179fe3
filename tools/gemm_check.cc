// Standalone correctness check and benchmark for tsvision's SGEMM (not part of the addon).
//
// Build (from the repository root):
//   g++ -O3 -std=c++17 -pthread -Inative tools/gemm_check.cc native/kernels/gemm.cc native/kernels/gemm_avx2.cc native/kernels/gemm_avx512.cc native/threadpool.cc native/cpu.cc -ldl -o /tmp/gemm_check
// Run:
//   /tmp/gemm_check            correctness on every ISA path, then the benchmark
//   /tmp/gemm_check check      correctness only
//   /tmp/gemm_check bench      benchmark only (tsvision vs OpenBLAS, 1 and 2 threads)
//   /tmp/gemm_check bench M N K [tA tB]   benchmark one shape
//   TSVISION_ISA=avx2 /tmp/gemm_check bench   the AVX2 kernels (cf. OpenBLAS's Haswell ones)
//
// Correctness: sgemm against a float64 triple loop, for every ISA the CPU has
// (force_isa), every transpose combination, awkward sizes, padded leading
// dimensions (padding filled with NaN, so reading it shows), alpha/beta variants,
// beta == 0 over a NaN-filled C, C's padding checked untouched, and batched calls
// with stride-0 broadcasts. Benchmark: OpenBLAS's cblas_sgemm loaded at run time
// (dlopen("libopenblas.so.0"); no headers needed), the two sides interleaved,
// best of several rounds each.
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cpu.h"
#include "kernels/gemm.h"
#include "threadpool.h"

namespace {

using tsv::Isa;
const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kSentinel = 12345.0f;
std::mt19937_64 rng(42);

// threadpool.cc's workers read the pool's generation counter only once they run,
// so a region started (or a resize) before a new worker gets there is missed and
// the pool hangs. Give new workers time to start.
void set_threads(int n) {
  tsv::set_num_threads(n);
  usleep(20000);
}

float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); }
int64_t pick(const std::vector<int64_t>& v) { return v[rng() % v.size()]; }

struct Case {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
  int64_t pad_a, pad_b, pad_c;  // extra leading-dimension elements
  int64_t batch = 1;
  bool bcast_a = false, bcast_b = false;  // stride 0
};

// A matrix stored as `rows` x `ld`, valid part rows x cols, the rest `pad_value`.
std::vector<float> make_matrix(int64_t rows, int64_t cols, int64_t ld, float pad_value) {
  std::vector<float> m(std::max<int64_t>(1, rows * ld), pad_value);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) m[r * ld + c] = uniform(-1, 1);
  return m;
}

// Checks one case on the active ISA; prints and returns false on a mismatch.
bool run_case(const Case& t) {
  const int64_t a_rows = t.ta ? t.K : t.M, a_cols = t.ta ? t.M : t.K;
  const int64_t b_rows = t.tb ? t.N : t.K, b_cols = t.tb ? t.K : t.N;
  const int64_t lda = a_cols + t.pad_a, ldb = b_cols + t.pad_b, ldc = t.N + t.pad_c;
  const int64_t na = t.bcast_a ? 1 : t.batch, nb = t.bcast_b ? 1 : t.batch;
  std::vector<std::vector<float>> A, B, C0;
  for (int64_t i = 0; i < na; i++) A.push_back(make_matrix(a_rows, a_cols, lda, kNaN));
  for (int64_t i = 0; i < nb; i++) B.push_back(make_matrix(b_rows, b_cols, ldb, kNaN));
  for (int64_t i = 0; i < t.batch; i++) {
    C0.push_back(make_matrix(t.M, t.N, ldc, kSentinel));
    if (t.beta == 0.0f)  // must never be read
      for (int64_t r = 0; r < t.M; r++) std::fill_n(&C0.back()[r * ldc], t.N, kNaN);
  }
  // One contiguous allocation per operand, so batched calls use real strides.
  auto flatten = [](const std::vector<std::vector<float>>& v) {
    std::vector<float> f;
    for (auto& m : v) f.insert(f.end(), m.begin(), m.end());
    return f;
  };
  std::vector<float> fa = flatten(A), fb = flatten(B), fc = flatten(C0);
  const int64_t sa = t.bcast_a ? 0 : int64_t(A[0].size());
  const int64_t sb = t.bcast_b ? 0 : int64_t(B[0].size());
  const int64_t sc = int64_t(C0[0].size());
  if (t.batch == 1)
    tsv::sgemm(t.ta, t.tb, t.M, t.N, t.K, t.alpha, fa.data(), lda, fb.data(), ldb, t.beta,
               fc.data(), ldc);
  else
    tsv::sgemm_batched(t.batch, t.ta, t.tb, t.M, t.N, t.K, t.alpha, fa.data(), lda, sa, fb.data(),
                       ldb, sb, t.beta, fc.data(), ldc, sc);

  int bad = 0;
  for (int64_t e = 0; e < t.batch; e++) {
    const float* a = fa.data() + e * sa;
    const float* b = fb.data() + e * sb;
    const float* c0 = C0[e].data();
    const float* c = fc.data() + e * sc;
    for (int64_t i = 0; i < t.M; i++) {
      for (int64_t j = 0; j < ldc; j++) {
        float got = c[i * ldc + j];
        if (j >= t.N) {  // padding: untouched
          if (got != kSentinel && bad++ < 3)
            std::printf("    C padding (%lld,%lld) written\n", (long long)i, (long long)j);
          continue;
        }
        double sum = 0, mag = 0;
        for (int64_t k = 0; k < t.K; k++) {
          double x = t.ta ? a[k * lda + i] : a[i * lda + k];
          double y = t.tb ? b[j * ldb + k] : b[k * ldb + j];
          sum += x * y;
          mag += std::fabs(x * y);
        }
        double ref = t.alpha * sum, tol_mag = std::fabs(t.alpha) * mag;
        if (t.beta != 0.0f) {
          ref += double(t.beta) * c0[i * ldc + j];
          tol_mag += std::fabs(double(t.beta) * c0[i * ldc + j]);
        }
        double tol = 2.0 * (t.K + 4) * std::numeric_limits<float>::epsilon() * tol_mag + 1e-30;
        if (!(std::fabs(got - ref) <= tol) && bad++ < 3)
          std::printf("    [%lld] C(%lld,%lld) = %.8g, expected %.8g\n", (long long)e, (long long)i,
                      (long long)j, got, ref);
      }
    }
  }
  if (bad)
    std::printf("  FAIL %s tA=%d tB=%d M=%lld N=%lld K=%lld alpha=%g beta=%g pads=%lld,%lld,%lld "
                "batch=%lld bcast=%d%d threads=%d: %d bad\n",
                tsv::isa_name(tsv::active_isa()), t.ta, t.tb, (long long)t.M, (long long)t.N,
                (long long)t.K, t.alpha, t.beta, (long long)t.pad_a, (long long)t.pad_b,
                (long long)t.pad_c, (long long)t.batch, t.bcast_a, t.bcast_b, tsv::num_threads(),
                bad);
  return bad == 0;
}

// Every transpose combination of one shape with random alpha, beta and padding.
int run_shape(int64_t M, int64_t N, int64_t K, int64_t batch = 1, bool bcast_a = false,
              bool bcast_b = false) {
  const float alphas[] = {1.0f, -0.75f, 2.5f}, betas[] = {0.0f, 1.0f, 0.5f};
  int failures = 0;
  for (int tr = 0; tr < 4; tr++) {
    Case t{bool(tr & 1), bool(tr & 2), M, N, K, alphas[rng() % 3], betas[rng() % 3],
           int64_t(rng() % 2 * 3), int64_t(rng() % 2 * 5), int64_t(rng() % 2 * 2)};
    t.batch = batch;
    t.bcast_a = bcast_a;
    t.bcast_b = bcast_b;
    failures += !run_case(t);
  }
  return failures;
}

int check_isa(Isa isa, int threads) {
  tsv::force_isa(isa);
  set_threads(threads);
  if (tsv::active_isa() != isa) return 0;
  int failures = 0, cases = 0;
  auto shape = [&](int64_t M, int64_t N, int64_t K, int64_t batch = 1, bool ba = false,
                   bool bb = false) {
    failures += run_shape(M, N, K, batch, ba, bb);
    cases += 4;
  };
  const std::vector<int64_t> sizes = {1, 2, 3, 5, 7, 11, 12, 13, 16, 17, 31, 32,
                                      33, 47, 63, 64, 65, 127, 129};
  for (int i = 0; i < 150; i++) shape(pick(sizes), pick(sizes), pick(sizes));
  for (int64_t s : sizes) shape(1, s, pick(sizes)), shape(s, 1, pick(sizes));
  // Wide enough that A is packed rather than read in place.
  for (int i = 0; i < 12; i++) shape(pick(sizes), pick({257, 300, 515}), pick(sizes));
  // Empty and degenerate: M or N = 0 is a no-op, K = 0 gives beta * C.
  shape(0, 5, 7), shape(5, 0, 7), shape(5, 7, 0), shape(13, 33, 0), shape(1, 1, 1);
  // Several K, M and N blocks, and shapes large enough to be threaded.
  shape(300, 301, 1000), shape(2500, 40, 50), shape(2500, 300, 20), shape(37, 1100, 20);
  shape(129, 127, 400);
  // Shapes from convolutions and linear layers.
  shape(64, 3136, 72), shape(32, 900, 27), shape(256, 10, 1024), shape(576, 196, 96);
  shape(13, 2000, 30), shape(40, 3000, 200);
  // Batched, including stride-0 broadcast of A or B, odd and large batches.
  shape(47, 65, 33, 3), shape(47, 65, 33, 3, true), shape(47, 65, 33, 5, false, true);
  shape(100, 90, 80, 3, true, false), shape(13, 17, 31, 20), shape(1, 300, 200, 7, false, true);
  shape(5, 7, 20000, 3);  // threaded, entries cut into more pieces than N has panels
  // alpha == 0: A and B are not used, C = beta * C.
  for (float beta : {0.0f, 0.5f}) {
    Case t{false, false, 9, 9, 9, 0.0f, beta, 0, 0, 1};
    failures += !run_case(t);
    cases++;
  }
  std::printf("%-8s threads=%d: %d cases, %d failed\n", tsv::isa_name(isa), threads, cases,
              failures);
  return failures;
}

// ---- Benchmark ----

using CblasSgemm = void (*)(int order, int transA, int transB, int M, int N, int K, float alpha,
                            const float* A, int lda, const float* B, int ldb, float beta, float* C,
                            int ldc);
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

struct OpenBlas {
  CblasSgemm sgemm = nullptr;
  void (*set_num_threads)(int) = nullptr;
  char* (*corename)() = nullptr;
  bool load() {
    void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) return false;
    sgemm = reinterpret_cast<CblasSgemm>(dlsym(h, "cblas_sgemm"));
    set_num_threads = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
    corename = reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_corename"));
    return sgemm && set_num_threads;
  }
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// GFLOP/s of `fn` over one timed round of at least ~0.1 s.
template <typename F>
double gflops(double flop, F&& fn) {
  fn();  // warm caches and the threads
  int iters = 0;
  double t0 = now(), t;
  do {
    fn();
    iters++;
    t = now() - t0;
  } while (t < 0.1);
  return flop * iters / t * 1e-9;
}

void bench_shape(const OpenBlas& ob, int64_t M, int64_t N, int64_t K, bool ta, bool tb,
                 int rounds) {
  const int64_t lda = ta ? M : K, ldb = tb ? K : N, ldc = N;
  std::vector<float> A = make_matrix(ta ? K : M, lda, lda, 0);
  std::vector<float> B = make_matrix(tb ? N : K, ldb, ldb, 0);
  std::vector<float> C(M * N, 0.0f);
  const double flop = 2.0 * M * N * K;
  for (int threads : {1, 2}) {
    set_threads(threads);
    if (ob.sgemm) ob.set_num_threads(threads);
    double best_t = 0, best_o = 0;
    auto ours = [&] {
      best_t = std::max(best_t, gflops(flop, [&] {
        tsv::sgemm(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), ldc);
      }));
    };
    auto theirs = [&] {
      if (!ob.sgemm) return;
      best_o = std::max(best_o, gflops(flop, [&] {
        ob.sgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, int(M), int(N), int(K),
                 1.0f, A.data(), int(lda), B.data(), int(ldb), 0.0f, C.data(), int(ldc));
      }));
    };
    for (int r = 0; r < rounds; r++) {
      // Alternate which side goes first; OpenBLAS's idle workers keep spinning
      // (sched_yield) for a while after a call, so give them time to sleep.
      if (r % 2 == 0) ours(), theirs();
      else theirs(), ours();
      usleep(200000);
    }
    char shape[64];
    std::snprintf(shape, sizeof shape, "%lldx%lldx%lld%s%s", (long long)M, (long long)N,
                  (long long)K, ta ? " tA" : "", tb ? " tB" : "");
    std::printf("%-22s %2d  %8.1f  %8.1f  %6.2f\n", shape, threads, best_t, best_o,
                best_o > 0 ? best_t / best_o : 0.0);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  tsv::DenormalScope denormals;  // as the addon does around every kernel call
  tsv::num_threads();             // create the pool
  usleep(20000);
  const std::string mode = argc > 1 ? argv[1] : "all";
  const Isa best_isa = tsv::active_isa();  // what the CPU has, capped by TSVISION_ISA
  int failures = 0;
  if (mode == "all" || mode == "check") {
    for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512})
      for (int threads : {1, 2}) failures += check_isa(isa, threads);
    std::printf("correctness: %s\n", failures ? "FAILED" : "all passed");
  }
  if (mode == "all" || mode == "bench") {
    tsv::force_isa(best_isa);
    OpenBlas ob;
    if (!ob.load()) std::printf("OpenBLAS not found (%s); tsvision only\n", dlerror());
    else if (ob.corename) std::printf("OpenBLAS core: %s\n", ob.corename());
    std::printf("tsvision ISA: %s\n", tsv::isa_name(tsv::active_isa()));
    std::printf("%-22s %2s  %8s  %8s  %6s\n", "M x N x K", "th", "tsv GF/s", "oblas", "ratio");
    const int rounds = 7;  // best of: the machine is shared, noise only slows down
    if (argc >= 5) {
      bool ta = argc > 5 && std::atoi(argv[5]), tb = argc > 6 && std::atoi(argv[6]);
      bench_shape(ob, std::atoll(argv[2]), std::atoll(argv[3]), std::atoll(argv[4]), ta, tb,
                  rounds);
    } else {
      for (int64_t n : {256, 1024, 2048}) bench_shape(ob, n, n, n, false, false, rounds);
      bench_shape(ob, 1024, 1024, 1024, true, false, rounds);
      bench_shape(ob, 1024, 1024, 1024, false, true, rounds);
      bench_shape(ob, 64, 3136, 576, false, false, rounds);
      bench_shape(ob, 576, 784, 96, false, false, rounds);
      bench_shape(ob, 32, 900, 27, false, false, rounds);
      bench_shape(ob, 256, 10, 1024, false, false, rounds);
      bench_shape(ob, 256, 10, 1024, false, true, rounds);
    }
  }
  return failures ? 1 : 0;
}
