// AVX2+FMA SGEMM microkernel: a 6 x 16 tile of C in 12 ymm accumulators (two
// vector loads of packed B and six broadcasts of packed A per k step). Row tails
// use a variant with fewer rows; column tails go through vmaskmovps, which is slow
// on some cores, so full-width tiles use plain loads and stores.
#if defined(__x86_64__)
#include <cstdint>

#include <immintrin.h>

#include "gemm_internal.h"

// Everything below is compiled for AVX2+FMA; no standard header may follow.
#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace tsv {
namespace gemm {
namespace {

constexpr int kMr = kAvx2Mr;

using TileFn = void (*)(int n, int64_t kc, const float* a, int64_t lda, const float* b,
                        int64_t ldb, float* c, int64_t ldc, float alpha, float beta);

// Lane mask for the first `cols` of 8 columns (any count <= 0 or >= 8 works).
__m256i lane_mask(int cols) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// C = alpha * acc + beta * C for one vector of a row; mask == nullptr: all 8 lanes.
inline void store(float* p, __m256 acc, __m256 va, __m256 vb, bool read_c, const __m256i* mask) {
  __m256 r = _mm256_mul_ps(acc, va);
  if (mask) {
    if (read_c) r = _mm256_fmadd_ps(_mm256_maskload_ps(p, *mask), vb, r);
    _mm256_maskstore_ps(p, *mask, r);
  } else {
    if (read_c) r = _mm256_fmadd_ps(_mm256_loadu_ps(p), vb, r);
    _mm256_storeu_ps(p, r);
  }
}

// R rows x V vectors of 8 columns; n (<= 8 * V) columns are stored. A is a
// packed panel (kMr floats per k) or, kInPlace, rows of A `lda` apart, addressed
// as base + {0, 1, 2} * lda from two bases (no register per row). B rows are
// `ldb` apart and read in full vectors: packed (zero-padded) panels only.
template <int R, int V, bool kInPlace>
void tile(int n, int64_t kc, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
          int64_t ldc, float alpha, float beta) {
  __m256 acc[R][V];
#pragma GCC unroll 6
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) acc[i][v] = _mm256_setzero_ps();

  const float* base[2] = {a, a + (R > 3) * 3 * lda};
  for (int64_t k = 0; k < kc; k++, b += ldb) {
    __m256 b0 = _mm256_loadu_ps(b);
    __m256 b1 = V == 2 ? _mm256_loadu_ps(b + 8) : b0;
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
      __m256 ai = _mm256_broadcast_ss(kInPlace ? &base[i / 3][(i % 3) * lda] : a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      if constexpr (V == 2) acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    if constexpr (kInPlace) {
      for (auto& p : base) p++;
    } else {
      a += kMr;
    }
  }

  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  const bool read_c = beta != 0.0f;
  if (n == 8 * V) {
#pragma GCC unroll 6
    for (int i = 0; i < R; i++)
#pragma GCC unroll 2
      for (int v = 0; v < V; v++) store(c + i * ldc + 8 * v, acc[i][v], va, vb, read_c, nullptr);
    return;
  }
  __m256i mask[V];
#pragma GCC unroll 2
  for (int v = 0; v < V; v++) mask[v] = lane_mask(n - 8 * v);
#pragma GCC unroll 6
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) store(c + i * ldc + 8 * v, acc[i][v], va, vb, read_c, &mask[v]);
}

#define TSV_ROW(r, in_place) {tile<r, 1, in_place>, tile<r, 2, in_place>}
#define TSV_ROWS(in_place)                                                \
  {TSV_ROW(1, in_place), TSV_ROW(2, in_place), TSV_ROW(3, in_place), \
   TSV_ROW(4, in_place), TSV_ROW(5, in_place), TSV_ROW(6, in_place)}
const TileFn kTiles[2][kMr][2] = {TSV_ROWS(false), TSV_ROWS(true)};
#undef TSV_ROWS
#undef TSV_ROW

}  // namespace

void microkernel_avx2(int m, int n, int64_t kc, const float* a, int64_t lda, const float* b,
                      int64_t ldb, float* c, int64_t ldc, float alpha, float beta) {
  kTiles[lda != 0][m - 1][n > 8](n, kc, a, lda, b, ldb, c, ldc, alpha, beta);
}

}  // namespace gemm
}  // namespace tsv

#pragma GCC pop_options
#endif  // __x86_64__
