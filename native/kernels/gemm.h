// Single-precision GEMM on row-major matrices.
#pragma once
#include <cstdint>

namespace tsv {

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C
// Row-major storage with leading dimensions (row strides) lda, ldb, ldc:
//   A is stored [M, lda] when !transA and [K, lda] when transA (op(A) = A^T);
//   B is stored [K, ldb] when !transB and [N, ldb] when transB.
// beta == 0 means C is only written, never read (it may hold garbage or NaN).
// K == 0 gives C = beta * C. Multi-threaded over the pool (threadpool.h).
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
           int64_t ldc);

// `batch` independent GEMMs; strideA/strideB/strideC are element offsets between
// consecutive matrices (0 broadcasts one matrix to every batch entry; strideC must not be 0).
void sgemm_batched(int64_t batch, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                   float alpha, const float* A, int64_t lda, int64_t strideA, const float* B,
                   int64_t ldb, int64_t strideB, float beta, float* C, int64_t ldc,
                   int64_t strideC);

}  // namespace tsv
