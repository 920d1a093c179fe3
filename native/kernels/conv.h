// Convolution over 1 to 3 spatial dimensions (grouped, strided, dilated, padded):
// forward and both gradients. Layout: x [n, cin, in...], w [cout, cin/groups, k...],
// y [n, cout, out...], all contiguous. Fewer spatial dims are given with leading
// size-1 axes (kernel 1, stride 1, padding 0, dilation 1).
#pragma once
#include <cstdint>

namespace tsv {

struct ConvGeom {
  int64_t n, cin, cout, groups;
  int64_t in[3], k[3], s[3], p[3], d[3], out[3];
};

// What runs on each output row while it is in cache: + bias (per output channel, or
// null), then an activation (a unary op with its parameters; op < 0 for none).
struct ConvEpilogue {
  const float* bias = nullptr;
  int op = -1;
  float p0 = 0.0f, p1 = 0.0f;
};

// y = act(conv(x, w) + bias), overwritten.
void conv_forward(const ConvGeom& g, const float* x, const float* w, const ConvEpilogue& ep, float* y);
// dx = d(sum(y * dy))/dx, overwritten.
void conv_backward_input(const ConvGeom& g, const float* w, const float* dy, float* dx);
// dw = d(sum(y * dy))/dw, overwritten.
void conv_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dw);

}  // namespace tsv
