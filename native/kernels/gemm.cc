// SGEMM driver: blocking, packing, threading and dispatch to the microkernel of
// the active ISA (gemm_avx512.cc 12x32, gemm_avx2.cc 6x16, portable 4x8 below).
//
// Loop nest for one thread's block of C (Goto/BLIS, mirrored for row-major C: the
// MR rows of a tile come from A, its NR columns are the vector direction of B):
//
//   for i0 in [0, M) step MC        A block: MC x KC, packed once per K step
//     for p0 in [0, K) step KC
//       pack op(A)[i0:+MC, p0:+KC] -> Ap
//       for j0 in [0, N) step NC    B block: KC x NC, sized to stay in L2
//         pack op(B)[p0:+KC, j0:+NC] -> Bp
//         for ir in [0, MC) step MR       A micro-panel, reused from L1
//           for jr in [0, NC) step NR     B micro-panels, streamed from L2
//             microkernel(Ap panel ir, Bp panel jr, C tile (i0+ir, j0+jr))
//
// Packed formats: an A panel holds MR rows of op(A) over KC steps of k, k-major
// (Ap[k*MR + r]); a B panel holds NR columns of op(B), k-major (Bp[k*NR + c]).
// Panels are zero-padded to MR rows / NR columns, so the microkernel has no k or
// padding tails and only stores the valid m x n part of a tile; consecutive
// panels are MR*KC (NR*KC) + 16 floats apart (see panel_stride). An operand that
// would be reused too little to repay the copy is read in place instead: A when C
// has few columns and op(A) = A, B when A has few rows, op(B) = B and K is short.
// alpha and beta are applied in the microkernel's store: beta on the first K
// step, then 1.
//
// Threads: C is cut along the larger of M and N (see piece_of) into MR/NR-aligned
// pieces, one per thread (times the batch entries), claimed from a shared counter.
// Each thread packs into its own buffers, so there is no other synchronisation
// and each core keeps its B block in its own L2.
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <numeric>

#include "../cpu.h"
#include "../threadpool.h"
#include "gemm_internal.h"

namespace tsv {
namespace gemm {
namespace {

// Multiply-adds per thread below which another thread does not pay: measured
// break-even near 72^3 in total with a spinning pool (a fork-join costs ~1.5 us).
constexpr double kMinWorkPerThread = 196608;

// ---- Portable microkernel: plain loops the compiler vectorises (SSE2, NEON). ----

// 4 x 8: eight 4-float accumulators plus operands fit SSE2's 16 registers.
constexpr int kPortableMr = 4, kPortableNr = 8;

inline float madd(float a, float b, float c) {
#if defined(FP_FAST_FMAF)
  return std::fma(a, b, c);  // a single instruction here (e.g. arm64)
#else
  return a * b + c;
#endif
}

// R rows of a tile. Packed A and B only (the portable KernelSet reads neither in
// place: GCC would vectorise an in-place A loop along k, not along the row of C).
template <int R>
void portable_tile(int n, int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                   float alpha, float beta) {
  float acc[R][kPortableNr] = {};
  for (int64_t k = 0; k < kc; k++, a += kPortableMr, b += kPortableNr) {
#pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
#pragma GCC unroll 8
      for (int j = 0; j < kPortableNr; j++) acc[i][j] = madd(a[i], b[j], acc[i][j]);
    }
  }
  for (int i = 0; i < R; i++, c += ldc) {
    if (beta == 0.0f)
      for (int j = 0; j < n; j++) c[j] = alpha * acc[i][j];
    else
      for (int j = 0; j < n; j++) c[j] = alpha * acc[i][j] + beta * c[j];
  }
}

void microkernel_portable(int m, int n, int64_t kc, const float* a, int64_t /*lda: 0*/,
                          const float* bp, int64_t /*ldb: kPortableNr*/, float* c, int64_t ldc,
                          float alpha, float beta) {
  using TileFn = void (*)(int, int64_t, const float*, const float*, float*, int64_t, float, float);
  static const TileFn tiles[kPortableMr] = {portable_tile<1>, portable_tile<2>, portable_tile<3>,
                                            portable_tile<4>};
  tiles[m - 1](n, kc, a, bp, c, ldc, alpha, beta);
}

// ---- Packing ----

// Copies w (<= W) floats into a W-float group, zero-filling the rest.
template <int W>
inline void copy_group(const float* src, int w, float* dst) {
  if (w == W) {
    for (int j = 0; j < W; j++) dst[j] = src[j];
  } else {
    for (int j = 0; j < w; j++) dst[j] = src[j];
    for (int j = w; j < W; j++) dst[j] = 0.0f;
  }
}

// A PackFn (gemm_internal.h) in plain C++. op(A) packs as X = op(A)^T, op(B) as X = op(B).
template <int W>
void pack_panels(bool contiguous, const float* x, int64_t ld, int64_t n, int64_t kc, float* dst,
                 int64_t stride) {
  if (contiguous) {
    // A few rows at a time across all panels, so that source rows are read in
    // long sequential runs (see gemm_avx512.cc).
    constexpr int64_t kRows = 8;
    for (int64_t k0 = 0; k0 < kc; k0 += kRows) {
      const int64_t k1 = std::min(kc, k0 + kRows);
      float* panel = dst;
      for (int64_t j0 = 0; j0 < n; j0 += W, panel += stride) {
        const int w = static_cast<int>(std::min<int64_t>(W, n - j0));
        for (int64_t k = k0; k < k1; k++) copy_group<W>(x + k * ld + j0, w, panel + k * W);
      }
    }
    return;
  }
  for (int64_t j0 = 0; j0 < n; j0 += W, dst += stride) {
    // A transpose: each of the w source rows is read sequentially.
    const int w = static_cast<int>(std::min<int64_t>(W, n - j0));
    const float* src = x + j0 * ld;
    for (int j = 0; j < w; j++, src += ld)
      for (int64_t k = 0; k < kc; k++) dst[k * W + j] = src[k];
    for (int64_t k = 0; k < kc; k++)
      for (int j = w; j < W; j++) dst[k * W + j] = 0.0f;
  }
}

struct KernelSet {
  int mr, nr;
  int64_t mc, kc, nc;  // block sizes: A block MC x KC, B block KC x NC
  // Up to this many columns of C, op(A) = A is read in place rather than packed:
  // packing pays off through reuse across B panels, which few columns do not give.
  int64_t a_in_place_max_n;
  // Whether the kernel can read op(B) = B in place (see b_in_place()).
  bool b_in_place;
  MicroKernel kernel;
  PackFn pack_a, pack_b;
};

// Blocks: B (KC x NC, 768 KiB) stays in the 1 MiB L2, A (MC x KC) in L3. Other KC
// in 256..512 and NC in 256..1024 measured the same within noise.
const KernelSet& kernel_set() {
  // mr, nr, mc, kc, nc, a_in_place_max_n, b_in_place, kernel, pack_a, pack_b
#if defined(__x86_64__)
  static const KernelSet avx512 = {kAvx512Mr, kAvx512Nr, 2304, 384, 512, 256, true,
                                   microkernel_avx512, pack_a_avx512, pack_b_avx512};
  static const KernelSet avx2 = {kAvx2Mr, kAvx2Nr, 2304, 384, 512, 256, false, microkernel_avx2,
                                 pack_panels<kAvx2Mr>, pack_panels<kAvx2Nr>};
  if (active_isa() == Isa::Avx512) return avx512;
  if (active_isa() == Isa::Avx2) return avx2;
#endif
  static const KernelSet portable = {kPortableMr, kPortableNr, 2304, 256, 512, 0, false,
                                     microkernel_portable, pack_panels<kPortableMr>,
                                     pack_panels<kPortableNr>};
  return portable;
}

// ---- Per-thread packing buffers: 64-byte aligned, grown on demand, kept across calls ----

class Scratch {
 public:
  ~Scratch() { std::free(p_); }
  float* get(int64_t n) {
    if (n > cap_) {
      std::free(p_);
      cap_ = (n + 15) / 16 * 16;  // aligned_alloc wants a multiple of the alignment
      p_ = static_cast<float*>(std::aligned_alloc(64, cap_ * sizeof(float)));
      if (!p_) {
        cap_ = 0;
        throw std::bad_alloc();
      }
    }
    return p_;
  }

 private:
  float* p_ = nullptr;
  int64_t cap_ = 0;
};

thread_local Scratch tls_packed_a, tls_packed_b;

// ---- Driver ----

struct Gemm {  // one (sub-)problem
  bool ta, tb;
  int64_t M, N, K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float beta;
  float* C;
  int64_t ldc;
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Step for cutting n into equal blocks of at most `block`, rounded up to `align`
// (equal blocks avoid a thin last one: K = 400 is 2 x 200, not 384 + 16).
inline int64_t block_step(int64_t n, int64_t block, int64_t align) {
  return round_up(ceil_div(n, ceil_div(n, block)), align);
}

// Floats between consecutive packed panels of width w. The padding keeps panels
// off a 4 KiB multiple apart: packing writes to all panels of a block in turn,
// and with power-of-two strides those writes would compete for a few cache sets.
inline int64_t panel_stride(int w, int64_t kc) { return w * kc + 16; }

// An operand as the microkernel reads it: packed panels (ld == 0 for A, the panel
// width for B) or the matrix in place (ld = its row stride).
struct Operand {
  const float* p;
  int64_t ld;
  int64_t panel_step;  // floats from one MR-row (NR-column) panel to the next
};

// Runs the microkernel over an mc x nc block of C.
void macro_block(const KernelSet& ks, int64_t mc, int64_t nc, int64_t kc, Operand a, Operand b,
                 float* c, int64_t ldc, float alpha, float beta) {
  for (int64_t ir = 0; ir < mc; ir += ks.mr, a.p += a.panel_step) {
    const int m = static_cast<int>(std::min<int64_t>(ks.mr, mc - ir));
    const float* bj = b.p;
    for (int64_t jr = 0; jr < nc; jr += ks.nr, bj += b.panel_step) {
      const int n = static_cast<int>(std::min<int64_t>(ks.nr, nc - jr));
      ks.kernel(m, n, kc, a.p, a.ld, bj, b.ld, c + ir * ldc + jr, ldc, alpha, beta);
    }
  }
}

// With few rows of A, each B panel is used too few times to repay packing it, so
// the kernel reads B in place. Limited to a short k: B's rows are strided, often
// by a multiple of 4 KiB (conv feature maps), and a tall strided panel thrashes
// the few cache sets it maps to. (Measured: +10..20% up to M = 48, K = 256.)
bool b_in_place(const KernelSet& ks, const Gemm& g) {
  return ks.b_in_place && !g.tb && g.M <= 4 * ks.mr && g.K <= 256;
}

// The loop nest described at the top, on the calling thread.
void gemm_serial(const KernelSet& ks, const Gemm& g) {
  const bool a_in_place = !g.ta && g.N <= ks.a_in_place_max_n, b_direct = b_in_place(ks, g);
  const int64_t mstep = block_step(g.M, ks.mc, ks.mr);
  const int64_t kstep = block_step(g.K, ks.kc, 1);
  const int64_t nstep = block_step(g.N, ks.nc, ks.nr);
  float* ap = a_in_place ? nullptr : tls_packed_a.get(mstep / ks.mr * panel_stride(ks.mr, kstep));
  float* bp = b_direct ? nullptr : tls_packed_b.get(nstep / ks.nr * panel_stride(ks.nr, kstep));
  for (int64_t i0 = 0; i0 < g.M; i0 += mstep) {
    const int64_t mc = std::min(mstep, g.M - i0);
    for (int64_t p0 = 0; p0 < g.K; p0 += kstep) {
      const int64_t kc = std::min(kstep, g.K - p0);
      const float beta = p0 == 0 ? g.beta : 1.0f;
      const float* a = g.ta ? g.A + p0 * g.lda + i0 : g.A + i0 * g.lda + p0;
      Operand ao = {a, g.lda, ks.mr * g.lda};
      if (!a_in_place) {
        ao = {ap, 0, panel_stride(ks.mr, kc)};
        ks.pack_a(g.ta, a, g.lda, mc, kc, ap, ao.panel_step);
      }
      for (int64_t j0 = 0; j0 < g.N; j0 += nstep) {
        const int64_t nc = std::min(nstep, g.N - j0);
        const float* b = g.tb ? g.B + j0 * g.ldb + p0 : g.B + p0 * g.ldb + j0;
        Operand bo = {b, g.ldb, ks.nr};
        if (!b_direct) {
          bo = {bp, ks.nr, panel_stride(ks.nr, kc)};
          ks.pack_b(!g.tb, b, g.ldb, nc, kc, bp, bo.panel_step);
        }
        macro_block(ks, mc, nc, kc, ao, bo, g.C + i0 * g.ldc + j0, g.ldc, g.alpha, beta);
      }
    }
  }
}

// Rows [i0, i1) and columns [j0, j1) of g's C.
Gemm sub_block(const Gemm& g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  Gemm s = g;
  s.M = i1 - i0;
  s.N = j1 - j0;
  s.A = g.ta ? g.A + i0 : g.A + i0 * g.lda;
  s.B = g.tb ? g.B + j0 * g.ldb : g.B + j0;
  s.C = g.C + i0 * g.ldc + j0;
  return s;
}

// Piece p of `pieces`, cut along the larger of M and N. A cut along N puts one
// cache line of every C row into both pieces unless rows are 64-byte aligned; on
// short rows (N*K small) that false sharing costs more than the thread gains
// (2x slower at 32x900x27), so those are cut along M, in 4-row steps if few.
Gemm piece_of(const KernelSet& ks, const Gemm& g, int64_t p, int64_t pieces) {
  const bool rows_aligned = g.ldc % 16 == 0 && reinterpret_cast<uintptr_t>(g.C) % 64 == 0;
  const bool split_m = g.M >= g.N || (!rows_aligned && g.N * g.K < 65536);
  const int64_t row_align = g.M >= 4 * ks.mr * pieces ? ks.mr : std::min(ks.mr, 4);
  const int64_t len = split_m ? g.M : g.N, align = split_m ? row_align : ks.nr;
  const int64_t units = ceil_div(len, align);
  const int64_t lo = std::min(len, units * p / pieces * align);
  const int64_t hi = std::min(len, units * (p + 1) / pieces * align);
  return split_m ? sub_block(g, lo, hi, 0, g.N) : sub_block(g, 0, g.M, lo, hi);
}

// C = beta * C (K == 0 or alpha == 0: A and B do not contribute).
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  if (beta == 1.0f) return;
  for (int64_t i = 0; i < M; i++, C += ldc)
    for (int64_t j = 0; j < N; j++) C[j] = beta == 0.0f ? 0.0f : beta * C[j];
}

}  // namespace
}  // namespace gemm

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
           int64_t ldc) {
  sgemm_batched(1, transA, transB, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0);
}

void sgemm_batched(int64_t batch, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                   float alpha, const float* A, int64_t lda, int64_t strideA, const float* B,
                   int64_t ldb, int64_t strideB, float beta, float* C, int64_t ldc,
                   int64_t strideC) {
  using namespace gemm;
  if (batch <= 0 || M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    for (int64_t b = 0; b < batch; b++) scale_c(M, N, beta, C + b * strideC, ldc);
    return;
  }
  const KernelSet& ks = kernel_set();
  const Gemm g = {transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  auto entry = [&](int64_t b) {
    Gemm e = g;
    e.A += b * strideA;
    e.B += b * strideB;
    e.C += b * strideC;
    return e;
  };

  const double work = double(batch) * double(M) * double(N) * double(K);
  const int64_t nt = std::min<int64_t>(num_threads(), std::max(1.0, work / kMinWorkPerThread));
  if (nt == 1) {
    for (int64_t b = 0; b < batch; b++) gemm_serial(ks, entry(b));
    return;
  }
  // Tasks are (batch entry, piece) pairs; entries are cut into pieces when the
  // batch alone does not divide evenly among the threads. Tasks are claimed
  // dynamically: a thread that starts late (a worker waking from sleep, or a core
  // busy with another process) just takes fewer of them.
  const int64_t pieces = batch % nt == 0 || batch >= 8 * nt ? 1 : nt / std::gcd(batch, nt);
  const int64_t tasks = batch * pieces;
  std::atomic<int64_t> next{0};
  run_parallel([&](int tid, int) {
    if (tid >= nt) return;
    for (int64_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < tasks;) {
      Gemm p = piece_of(ks, entry(t / pieces), t % pieces, pieces);
      if (p.M > 0 && p.N > 0) gemm_serial(ks, p);
    }
  });
}

}  // namespace tsv
