// Shared between the SGEMM driver (gemm.cc) and its per-ISA microkernels
// (gemm_avx512.cc, gemm_avx2.cc). See gemm.cc for the packed formats.
#pragma once
#include <cstdint>

namespace tsv {
namespace gemm {

// Computes one m x n tile of C (1 <= m <= MR, 1 <= n <= NR):
//   C = alpha * A * B + beta * C        (beta == 0: C is written, never read)
// a: if lda == 0, a packed A panel, kc groups of MR floats (one per row);
//    otherwise A in place, element (i, k) at a[i*lda + k].
// b: kc rows of B, `ldb` floats apart: a packed panel (ldb = NR, zero-padded) or,
//    where the KernelSet allows it (gemm.cc), B in place; only n columns are read.
using MicroKernel = void (*)(int m, int n, int64_t kc, const float* a, int64_t lda,
                             const float* b, int64_t ldb, float* c, int64_t ldc, float alpha,
                             float beta);

// Packs a kc x n slab of a matrix X into W-wide panels, `stride` floats apart
// (>= W*kc), for the W of the kernel it serves; a panel is k-major, W floats per k,
// columns past n zero-filled. X(k, j) = x[k*ld + j] if `contiguous`, else x[j*ld + k].
using PackFn = void (*)(bool contiguous, const float* x, int64_t ld, int64_t n, int64_t kc,
                        float* dst, int64_t stride);

#if defined(__x86_64__)
constexpr int kAvx512Mr = 12, kAvx512Nr = 32;
void microkernel_avx512(int m, int n, int64_t kc, const float* a, int64_t lda, const float* b,
                        int64_t ldb, float* c, int64_t ldc, float alpha, float beta);
void pack_a_avx512(bool contiguous, const float* x, int64_t ld, int64_t n, int64_t kc, float* dst,
                   int64_t stride);
void pack_b_avx512(bool contiguous, const float* x, int64_t ld, int64_t n, int64_t kc, float* dst,
                   int64_t stride);

constexpr int kAvx2Mr = 6, kAvx2Nr = 16;
void microkernel_avx2(int m, int n, int64_t kc, const float* a, int64_t lda, const float* b,
                      int64_t ldb, float* c, int64_t ldc, float alpha, float beta);
#endif

}  // namespace gemm
}  // namespace tsv
