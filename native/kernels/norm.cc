// Batch norm kernels. Statistics use a shifted two-pass scheme in double per
// (image, channel) plane (mean first, then squared deviations), so large means do
// not cancel. Work is split over channels, so no reduction across threads is needed.
#include "norm.h"

#include <cmath>

#include "../threadpool.h"
#include "isa_kernels.h"
#include "strided.h"

namespace tsv {
namespace {

int64_t channel_grain(int64_t n, int64_t hw) { return 1 + kElementwiseGrain / (n * hw + 1); }

}  // namespace

void batch_norm_stats(const float* x, int64_t n, int64_t c, int64_t hw, float eps, float* mean,
                      float* var, float* invstd) {
  const IsaKernels& k = isa_kernels();
  parallel_for(c, channel_grain(n, hw), [&](int64_t b, int64_t e) {
    for (int64_t ch = b; ch < e; ch++) {
      double s = 0.0;
      for (int64_t i = 0; i < n; i++) s += k.sum(x + (i * c + ch) * hw, hw);
      double count = static_cast<double>(n * hw);
      double m = count > 0 ? s / count : 0.0;
      float mf = static_cast<float>(m);
      double v = 0.0;
      for (int64_t i = 0; i < n; i++) v += k.sum_sq_dev(x + (i * c + ch) * hw, hw, mf);
      v = count > 0 ? v / count : 0.0;
      mean[ch] = mf;
      var[ch] = static_cast<float>(v);
      invstd[ch] = static_cast<float>(1.0 / std::sqrt(v + eps));
    }
  });
}

void batch_norm_forward(const float* x, int64_t n, int64_t c, int64_t hw, const float* mean,
                        const float* invstd, const float* gamma, const float* beta, float* y) {
  // One plane (image, channel) is one affine map y = x * scale + shift.
  const IsaKernels& k = isa_kernels();
  parallel_for(n * c, 1 + kElementwiseGrain / (hw + 1), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++) {
      int64_t ch = pl % c;
      float scale = invstd[ch] * (gamma ? gamma[ch] : 1.0f);
      float shift = (beta ? beta[ch] : 0.0f) - mean[ch] * scale;
      k.affine(x + pl * hw, y + pl * hw, hw, scale, shift);
    }
  });
}

void batch_norm_backward(const float* x, const float* dy, int64_t n, int64_t c, int64_t hw,
                         const float* mean, const float* invstd, const float* gamma, float* dx,
                         float* dgamma, float* dbeta) {
  const IsaKernels& kern = isa_kernels();
  parallel_for(c, channel_grain(n, hw), [&](int64_t b, int64_t e) {
    for (int64_t ch = b; ch < e; ch++) {
      double sdy = 0.0, sdyx = 0.0;
      float m = mean[ch];
      for (int64_t i = 0; i < n; i++) kern.sum_prod_dev(dy + (i * c + ch) * hw, x + (i * c + ch) * hw, hw, m, &sdy, &sdyx);
      float is = invstd[ch];
      float sum_dy = static_cast<float>(sdy);
      float sum_dy_xhat = static_cast<float>(sdyx) * is;
      dbeta[ch] = sum_dy;
      dgamma[ch] = sum_dy_xhat;
      // dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
      double count = static_cast<double>(n * hw);
      float k = (gamma ? gamma[ch] : 1.0f) * is;
      float mdy = count > 0 ? static_cast<float>(sdy / count) : 0.0f;
      float mdyx = count > 0 ? static_cast<float>(sum_dy_xhat / count) : 0.0f;
      for (int64_t i = 0; i < n; i++) {
        int64_t off = (i * c + ch) * hw;
        kern.norm_backward_row(x + off, dy + off, dx + off, hw, m, k, mdy, is * mdyx);
      }
    }
  });
}

}  // namespace tsv
