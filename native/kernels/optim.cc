// The arithmetic follows torch/optim/{adam,sgd,rmsprop}.py term by term (same
// operation order, float32 throughout), so parameters agree with PyTorch to a
// few ulp after many steps.
#include "optim.h"

#include <cmath>

#include "../threadpool.h"
#include "strided.h"

namespace tsv {

void adam_step(const AdamParams& p, int64_t n, float* param, const float* grad, float* exp_avg,
               float* exp_avg_sq, float* max_exp_avg_sq) {
  double bc1 = 1.0 - std::pow(p.beta1, static_cast<double>(p.step));
  double bc2 = 1.0 - std::pow(p.beta2, static_cast<double>(p.step));
  float step_size = static_cast<float>(p.lr / bc1);
  float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  float decay = static_cast<float>(1.0 - p.lr * p.weight_decay);
  float b1 = static_cast<float>(p.beta1), omb1 = static_cast<float>(1.0 - p.beta1);
  float b2 = static_cast<float>(p.beta2), omb2 = static_cast<float>(1.0 - p.beta2);
  float wd = static_cast<float>(p.weight_decay), eps = static_cast<float>(p.eps);
  parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      float g = grad[i];
      if (wd != 0.0f) {
        if (p.decoupled) param[i] *= decay;
        else g = g + wd * param[i];
      }
      float m = exp_avg[i] * b1 + omb1 * g;
      float v = exp_avg_sq[i] * b2 + omb2 * g * g;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      if (p.amsgrad) {
        float mx = max_exp_avg_sq[i] > v ? max_exp_avg_sq[i] : v;
        max_exp_avg_sq[i] = mx;
        v = mx;
      }
      float denom = std::sqrt(v) / bc2_sqrt + eps;
      param[i] -= step_size * (m / denom);
    }
  });
}

void sgd_step(const SgdParams& p, int64_t n, float* param, const float* grad, float* buf) {
  float lr = static_cast<float>(p.lr), mom = static_cast<float>(p.momentum);
  float omd = static_cast<float>(1.0 - p.dampening), wd = static_cast<float>(p.weight_decay);
  parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      float d = grad[i];
      if (wd != 0.0f) d = d + wd * param[i];
      if (mom != 0.0f) {
        float bv = p.first ? d : buf[i] * mom + omd * d;
        buf[i] = bv;
        d = p.nesterov ? d + mom * bv : bv;
      }
      param[i] -= lr * d;
    }
  });
}

void rmsprop_step(const RmspropParams& p, int64_t n, float* param, const float* grad, float* square_avg,
                  float* grad_avg, float* buf) {
  float lr = static_cast<float>(p.lr), a = static_cast<float>(p.alpha), oma = static_cast<float>(1.0 - p.alpha);
  float eps = static_cast<float>(p.eps), wd = static_cast<float>(p.weight_decay), mom = static_cast<float>(p.momentum);
  parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      float g = grad[i];
      if (wd != 0.0f) g = g + wd * param[i];
      float sq = square_avg[i] * a + oma * g * g;
      square_avg[i] = sq;
      float avg;
      if (p.centered) {
        float ga = grad_avg[i] * a + oma * g;
        grad_avg[i] = ga;
        avg = std::sqrt(sq - ga * ga) + eps;
      } else {
        avg = std::sqrt(sq) + eps;
      }
      if (mom > 0.0f) {
        float bv = buf[i] * mom + g / avg;
        buf[i] = bv;
        param[i] -= lr * bv;
      } else {
        param[i] -= lr * (g / avg);
      }
    }
  });
}

}  // namespace tsv
