// AVX-512 SGEMM microkernel and packing. The kernel keeps a 12 x 32 tile of C in
// 24 zmm accumulators; each k step loads two vectors of B (a packed panel, or B
// in place) and broadcasts 12 values of A into the FMAs. Column tails use
// k-masks; row tails use a variant with fewer rows, so edge tiles neither overrun
// B or C nor run all 24 FMAs. Packing transposes 16 x 16 blocks in registers.
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

using TileFn = void (*)(int n, int64_t kc, const float* a, int64_t lda, const float* b,
                        int64_t ldb, float* c, int64_t ldc, float alpha, float beta);

inline __mmask16 first_lanes(int64_t count) {
  return count >= 16 ? __mmask16(0xffff) : count <= 0 ? __mmask16(0) : __mmask16((1u << count) - 1);
}

// R rows x V vectors of 16 columns; n (<= 16 * V) columns are read and stored.
// A is a packed panel (kMr floats per k) or, kInPlace, rows of A `lda` apart,
// addressed as base + {0, 1, 2} * lda from four bases (x86 addressing modes
// cover that without a register per row). B rows are `ldb` apart; masked loads
// keep an in-place B from being read past column n.
template <int R, int V, bool kInPlace>
void tile(int n, int64_t kc, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
          int64_t ldc, float alpha, float beta) {
  __mmask16 mask[V];
#pragma GCC unroll 2
  for (int v = 0; v < V; v++) mask[v] = first_lanes(n - 16 * v);
  __m512 acc[R][V];
#pragma GCC unroll 12
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) acc[i][v] = _mm512_setzero_ps();

  const float* base[4] = {a, a + (R > 3) * 3 * lda, a + (R > 6) * 6 * lda, a + (R > 9) * 9 * lda};
  for (int64_t k = 0; k < kc; k++, b += ldb) {
    __m512 b0 = _mm512_maskz_loadu_ps(mask[0], b);
    __m512 b1 = V == 2 ? _mm512_maskz_loadu_ps(mask[V - 1], b + 16) : b0;
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
      __m512 ai = _mm512_set1_ps(kInPlace ? base[i / 3][(i % 3) * lda] : a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      if constexpr (V == 2) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    if constexpr (kInPlace) {
      for (auto& p : base) p++;
    } else {
      a += kMr;
    }
  }

  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
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

#define TSV_ROW(r, in_place) {tile<r, 1, in_place>, tile<r, 2, in_place>}
#define TSV_ROWS(in_place)                                                                 \
  {TSV_ROW(1, in_place), TSV_ROW(2, in_place),  TSV_ROW(3, in_place),  TSV_ROW(4, in_place), \
   TSV_ROW(5, in_place), TSV_ROW(6, in_place),  TSV_ROW(7, in_place),  TSV_ROW(8, in_place), \
   TSV_ROW(9, in_place), TSV_ROW(10, in_place), TSV_ROW(11, in_place), TSV_ROW(12, in_place)}
const TileFn kTiles[2][kMr][2] = {TSV_ROWS(false), TSV_ROWS(true)};
#undef TSV_ROWS
#undef TSV_ROW

// In-register transpose of 16 rows of 16 floats: r[i] lane j -> r[j] lane i.
// Two rounds of shuffles within 128-bit lanes, then two of 128-bit lanes. (The
// zero-masking forms with a full mask are the plain instructions; the unmasked
// intrinsics trip GCC 12's -Wuninitialized on their undefined pass-through.)
inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
  constexpr __mmask16 all = 0xffff;
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {  // pairs of rows, interleaved
    t[i] = _mm512_maskz_unpacklo_ps(all, r[i], r[i + 1]);
    t[i + 1] = _mm512_maskz_unpackhi_ps(all, r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // quads of rows: r[i + q] holds column 4L + q in lane L
    r[i] = _mm512_maskz_shuffle_ps(all, t[i], t[i + 2], 0x44);
    r[i + 1] = _mm512_maskz_shuffle_ps(all, t[i], t[i + 2], 0xee);
    r[i + 2] = _mm512_maskz_shuffle_ps(all, t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm512_maskz_shuffle_ps(all, t[i + 1], t[i + 3], 0xee);
  }
  for (int q = 0; q < 4; q++) {  // even / odd 128-bit lanes of quads 0,1 and 2,3
    t[q] = _mm512_maskz_shuffle_f32x4(all, r[q], r[4 + q], 0x88);
    t[4 + q] = _mm512_maskz_shuffle_f32x4(all, r[q], r[4 + q], 0xdd);
    t[8 + q] = _mm512_maskz_shuffle_f32x4(all, r[8 + q], r[12 + q], 0x88);
    t[12 + q] = _mm512_maskz_shuffle_f32x4(all, r[8 + q], r[12 + q], 0xdd);
  }
  for (int q = 0; q < 4; q++) {  // lane L of all four quads
    r[q] = _mm512_maskz_shuffle_f32x4(all, t[q], t[8 + q], 0x88);
    r[8 + q] = _mm512_maskz_shuffle_f32x4(all, t[q], t[8 + q], 0xdd);
    r[4 + q] = _mm512_maskz_shuffle_f32x4(all, t[4 + q], t[12 + q], 0x88);
    r[12 + q] = _mm512_maskz_shuffle_f32x4(all, t[4 + q], t[12 + q], 0xdd);
  }
}

// Packs the w (<= W) columns of X starting at x into one W-wide panel, where
// X(k, j) = x[j*ld + k]: 16 source rows at a time, 16 k at a time, transposed.
template <int W>
void pack_panel_transposed(const float* x, int64_t ld, int w, int64_t kc, float* dst) {
  for (int g = 0; g < W; g += 16) {
    const __mmask16 store_mask = first_lanes(W - g);
    for (int64_t k0 = 0; k0 < kc; k0 += 16) {
      const int64_t kr = kc - k0 < 16 ? kc - k0 : 16;
      const __mmask16 load_mask = first_lanes(kr);
      __m512 r[16];
      for (int j = 0; j < 16; j++)
        r[j] = g + j < w ? _mm512_maskz_loadu_ps(load_mask, x + (g + j) * ld + k0)
                         : _mm512_setzero_ps();
      transpose16(r);
      for (int64_t k = 0; k < kr; k++)
        _mm512_mask_storeu_ps(dst + (k0 + k) * W + g, store_mask, r[k]);
    }
  }
}

// Copies w (<= W) floats of one row of X into a W-float group, zero-filling the rest.
template <int W>
inline void copy_group(const float* src, int w, float* dst) {
#pragma GCC unroll 2
  for (int g = 0; g < W; g += 16) {
    const __m512 v = _mm512_maskz_loadu_ps(first_lanes(w - g), src + g);
    _mm512_mask_storeu_ps(dst + g, first_lanes(W - g), v);
  }
}

template <int W>
void pack(bool contiguous, const float* x, int64_t ld, int64_t n, int64_t kc, float* dst,
          int64_t stride) {
  if (!contiguous) {
    for (int64_t j0 = 0; j0 < n; j0 += W, dst += stride)
      pack_panel_transposed<W>(x + j0 * ld, ld, n - j0 < W ? int(n - j0) : W, kc, dst);
    return;
  }
  // A few rows at a time across all panels: each source row is read in long
  // sequential runs (one panel at a time would touch a new page every W floats).
  constexpr int64_t kRows = 8;
  for (int64_t k0 = 0; k0 < kc; k0 += kRows) {
    const int64_t k1 = k0 + kRows < kc ? k0 + kRows : kc;
    float* panel = dst;
    for (int64_t j0 = 0; j0 < n; j0 += W, panel += stride) {
      const int w = n - j0 < W ? static_cast<int>(n - j0) : W;
      for (int64_t k = k0; k < k1; k++) copy_group<W>(x + k * ld + j0, w, panel + k * W);
    }
  }
}

}  // namespace

void microkernel_avx512(int m, int n, int64_t kc, const float* a, int64_t lda, const float* b,
                        int64_t ldb, float* c, int64_t ldc, float alpha, float beta) {
  kTiles[lda != 0][m - 1][n > 16](n, kc, a, lda, b, ldb, c, ldc, alpha, beta);
}

void pack_a_avx512(bool contiguous, const float* x, int64_t ld, int64_t n, int64_t kc, float* dst,
                   int64_t stride) {
  pack<kMr>(contiguous, x, ld, n, kc, dst, stride);
}

void pack_b_avx512(bool contiguous, const float* x, int64_t ld, int64_t n, int64_t kc, float* dst,
                   int64_t stride) {
  pack<kNr>(contiguous, x, ld, n, kc, dst, stride);
}

}  // namespace gemm
}  // namespace tsv

#pragma GCC pop_options
#endif  // __x86_64__
