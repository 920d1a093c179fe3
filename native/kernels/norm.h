// Batch normalisation over x viewed as [n, c, hw]: per-channel statistics,
// the normalise-and-affine pass, and the training-mode backward.
#pragma once
#include <cstdint>

namespace tsv {

void batch_norm_stats(const float* x, int64_t n, int64_t c, int64_t hw, float eps, float* mean,
                      float* var, float* invstd);
// gamma/beta may be null (1 and 0).
void batch_norm_forward(const float* x, int64_t n, int64_t c, int64_t hw, const float* mean,
                        const float* invstd, const float* gamma, const float* beta, float* y);
void batch_norm_backward(const float* x, const float* dy, int64_t n, int64_t c, int64_t hw,
                         const float* mean, const float* invstd, const float* gamma, float* dx,
                         float* dgamma, float* dbeta);

}  // namespace tsv
