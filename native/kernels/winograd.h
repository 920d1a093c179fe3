// 3x3 stride-1 convolution by Winograd F(4x4, 3x3); see winograd.cc.
#pragma once
#include <cstdint>

#include "conv.h"

namespace tsv {

// Whether winograd_forward computes g: 2-D, 3x3 kernel, stride 1, no dilation, one group.
bool winograd_applies(const ConvGeom& g);
// u [36, cout, cin] = G w G^T for each filter of w [cout, cin, 3, 3].
void winograd_weights(int64_t cout, int64_t cin, const float* w, float* u);
// y = act(conv(x, w) + bias), overwritten, from u = winograd_weights(w).
void winograd_forward(const ConvGeom& g, const float* x, const float* u, const ConvEpilogue& ep, float* y);

}  // namespace tsv
