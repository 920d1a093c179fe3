// AVX-512 SGEMM microkernel: a 12 x 32 tile of C in 24 zmm accumulators. Each k
// step loads two vectors of the packed B panel and broadcasts 12 values of the
// packed A panel into the FMAs. Column tails use k-masks; row tails use a variant
// with fewer rows, so edge tiles neither overrun C nor waste all 24 FMAs.
#if defined(__x86_64__)
#include <cstdint>

#include <immintrin.h>

#include "gemm_internal.h"

// Everything below is compiled for AVX-512; no standard header may follow.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,fma")

namespace tsv {
namespace gemm {
namespace {

constexpr int kMr = kAvx512Mr, kNr = kAvx512Nr;

using TileFn = void (*)(int n, int64_t kc, const float* a, const float* b, float* c,
                        int64_t ldc, float alpha, float beta);

// C is needed only after the k loop: start fetching it now (the first, middle and
// last line of each row segment, which may straddle three lines). Not inlined, so
// that the row addresses do not stay live across the k loop and crowd out registers.
__attribute__((noinline)) void prefetch_c(const float* c, int64_t ldc, int rows, int cols) {
  for (int i = 0; i < rows; i++, c += ldc) {
    _mm_prefetch(reinterpret_cast<const char*>(c), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + cols / 2), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + cols - 1), _MM_HINT_T0);
  }
}

// R rows x V vectors of 16 columns; n (<= 16 * V) columns are stored.
template <int R, int V>
void tile(int n, int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha,
          float beta) {
  prefetch_c(c, ldc, R, 16 * V);
  __m512 acc[R][V];
#pragma GCC unroll 12
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) acc[i][v] = _mm512_setzero_ps();

  for (int64_t k = 0; k < kc; k++, a += kMr, b += kNr) {
    __m512 b0 = _mm512_load_ps(b);
    __m512 b1 = V == 2 ? _mm512_load_ps(b + 16) : b0;
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
      __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      if constexpr (V == 2) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }

  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  __mmask16 mask[V];
#pragma GCC unroll 2
  for (int v = 0; v < V; v++) {
    int cols = n - 16 * v;
    mask[v] = cols >= 16 ? __mmask16(0xffff) : __mmask16((1u << cols) - 1);
  }
#pragma GCC unroll 12
  for (int i = 0; i < R; i++) {
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) {
      float* p = c + i * ldc + 16 * v;
      __m512 r = _mm512_mul_ps(acc[i][v], va);
      if (beta != 0.0f) r = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask[v], p), vb, r);
      _mm512_mask_storeu_ps(p, mask[v], r);
    }
  }
}

#define TSV_ROW(r) {tile<r, 1>, tile<r, 2>}
const TileFn kTiles[kMr][2] = {TSV_ROW(1), TSV_ROW(2), TSV_ROW(3),  TSV_ROW(4),
                               TSV_ROW(5), TSV_ROW(6), TSV_ROW(7),  TSV_ROW(8),
                               TSV_ROW(9), TSV_ROW(10), TSV_ROW(11), TSV_ROW(12)};
#undef TSV_ROW

}  // namespace

void microkernel_avx512(int m, int n, int64_t kc, const float* ap, const float* bp, float* c,
                        int64_t ldc, float alpha, float beta) {
  kTiles[m - 1][n > 16](n, kc, ap, bp, c, ldc, alpha, beta);
}

}  // namespace gemm
}  // namespace tsv

#pragma GCC pop_options
#endif  // __x86_64__
