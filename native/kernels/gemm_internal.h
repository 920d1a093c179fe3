// Shared between the SGEMM driver (gemm.cc) and its per-ISA microkernels
// (gemm_avx512.cc, gemm_avx2.cc). See gemm.cc for the packed formats.
#pragma once
#include <cstdint>

namespace tsv {
namespace gemm {

// Computes one m x n tile of C (1 <= m <= MR, 1 <= n <= NR) from packed panels:
//   C = alpha * Ap * Bp + beta * C        (beta == 0: C is written, never read)
// ap: kc groups of MR floats (one per row); bp: kc groups of NR floats (one per column).
using MicroKernel = void (*)(int m, int n, int64_t kc, const float* ap, const float* bp,
                             float* c, int64_t ldc, float alpha, float beta);

#if defined(__x86_64__)
constexpr int kAvx512Mr = 12, kAvx512Nr = 32;
void microkernel_avx512(int m, int n, int64_t kc, const float* ap, const float* bp, float* c,
                        int64_t ldc, float alpha, float beta);

constexpr int kAvx2Mr = 6, kAvx2Nr = 16;
void microkernel_avx2(int m, int n, int64_t kc, const float* ap, const float* bp, float* c,
                      int64_t ldc, float alpha, float beta);
#endif

}  // namespace gemm
}  // namespace tsv
