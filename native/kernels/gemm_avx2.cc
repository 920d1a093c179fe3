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

constexpr int kMr = kAvx2Mr, kNr = kAvx2Nr;

using TileFn = void (*)(int n, int64_t kc, const float* a, const float* b, float* c,
                        int64_t ldc, float alpha, float beta);

// Not inlined, so that the row addresses do not stay live across the k loop.
__attribute__((noinline)) void prefetch_c(const float* c, int64_t ldc, int rows, int cols) {
  for (int i = 0; i < rows; i++, c += ldc) {
    _mm_prefetch(reinterpret_cast<const char*>(c), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + cols - 1), _MM_HINT_T0);
  }
}

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

// R rows x V vectors of 8 columns; n (<= 8 * V) columns are stored.
template <int R, int V>
void tile(int n, int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha,
          float beta) {
  prefetch_c(c, ldc, R, 8 * V);
  __m256 acc[R][V];
#pragma GCC unroll 6
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) acc[i][v] = _mm256_setzero_ps();

  for (int64_t k = 0; k < kc; k++, a += kMr, b += kNr) {
    __m256 b0 = _mm256_load_ps(b);
    __m256 b1 = V == 2 ? _mm256_load_ps(b + 8) : b0;
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
      __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      if constexpr (V == 2) acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
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

#define TSV_ROW(r) {tile<r, 1>, tile<r, 2>}
const TileFn kTiles[kMr][2] = {TSV_ROW(1), TSV_ROW(2), TSV_ROW(3),
                               TSV_ROW(4), TSV_ROW(5), TSV_ROW(6)};
#undef TSV_ROW

}  // namespace

void microkernel_avx2(int m, int n, int64_t kc, const float* ap, const float* bp, float* c,
                      int64_t ldc, float alpha, float beta) {
  kTiles[m - 1][n > 8](n, kc, ap, bp, c, ldc, alpha, beta);
}

}  // namespace gemm
}  // namespace tsv

#pragma GCC pop_options
#endif  // __x86_64__
