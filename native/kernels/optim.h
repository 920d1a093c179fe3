// Fused optimizer updates: one pass over a parameter tensor and its state,
// with PyTorch's exact update rules (torch.optim, 1.13 single-tensor paths).
#pragma once
#include <cstdint>

namespace tsv {

// Hyper-parameters are doubles, as Python floats are in PyTorch: derived scalars
// such as 1 - beta2 are formed in double and only then rounded to float.
struct AdamParams {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;     // 1 on the first update
  bool decoupled;   // AdamW: param *= 1 - lr*wd, instead of grad += wd*param
  bool amsgrad;
};
// max_exp_avg_sq may be null unless amsgrad.
void adam_step(const AdamParams& p, int64_t n, float* param, const float* grad, float* exp_avg,
               float* exp_avg_sq, float* max_exp_avg_sq);

struct SgdParams {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, first;  // first: the momentum buffer is initialised to the gradient
};
// buf may be null when momentum == 0.
void sgd_step(const SgdParams& p, int64_t n, float* param, const float* grad, float* buf);

struct RmspropParams {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered;
};
// grad_avg may be null unless centered; buf may be null unless momentum > 0.
void rmsprop_step(const RmspropParams& p, int64_t n, float* param, const float* grad, float* square_avg,
                  float* grad_avg, float* buf);

}  // namespace tsv
