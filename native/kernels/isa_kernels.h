// The inner loops of the elementwise, reduction and softmax kernels, compiled
// three times from one source (isa_kernels_impl.h) for the portable, AVX2+FMA
// and AVX-512 targets. The callers in elementwise.cc and reduce.cc do the
// striding and threading and call the loops of the active ISA through this table.
#pragma once
#include <cstdint>

#include "elementwise.h"

namespace tsv {

// One 2-D plane of a depthwise convolution (one channel, one image).
struct DwPlane {
  int64_t ih, iw, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
};

// Floats of scratch dw_forward uses: the padded, phase-split plane and a flat output run.
inline int64_t dw_scratch_floats(const DwPlane& g) {
  int64_t pitch = (g.iw + 2 * g.pw + g.sw - 1) / g.sw * g.sw;
  return (g.ih + 2 * g.ph) * pitch + g.oh * pitch;
}

struct IsaKernels {
  // y[i] = f(x[i]) over a contiguous run.
  void (*unary)(UnaryOp op, const float* x, float* y, int64_t n, float p0, float p1);
  // dx[i] = gy[i] * f'(x[i]) (y = f(x) may be read).
  void (*unary_backward)(UnaryOp op, const float* x, const float* y, const float* gy, float* dx,
                         int64_t n, float p0, float p1);
  // o[i] = a[i*sa] op b[i*sb] over one row.
  void (*binary)(BinaryOp op, const float* a, int64_t sa, const float* b, int64_t sb, float* o,
                 int64_t n);
  // Sum of a contiguous run (several accumulators, so it vectorises and drifts less).
  float (*sum)(const float* x, int64_t n);
  // acc[i] += x[i]
  void (*accumulate)(float* acc, const float* x, int64_t n);
  // Softmax or log-softmax of one contiguous row, and its backward.
  void (*softmax_row)(const float* x, float* y, int64_t n, bool log);
  void (*softmax_backward_row)(const float* y, const float* gy, float* dx, int64_t n, bool log);
  // Depthwise convolution of one plane: y = conv(x, w) + bias (overwritten; scratch holds
  // dw_scratch_floats(g) floats, or is null for the unpadded loop), dx (overwritten), and
  // dw += the plane's weight gradient.
  void (*dw_forward)(const DwPlane& g, const float* x, const float* w, float bias, float* y, float* scratch);
  void (*dw_backward_input)(const DwPlane& g, const float* w, const float* dy, float* dx);
  void (*dw_backward_weight)(const DwPlane& g, const float* x, const float* dy, float* dw);
  // Winograd F(4x4, 3x3) transforms of one row of tw tiles (winograd.cc): six phase-split
  // padded input rows to the tiles' 36 transformed values, and 36 products back to up to
  // four output rows (+ bias).
  void (*wino_input_row)(const float* rows, int64_t rstride, int64_t pl, int64_t tw, float* v, int64_t vstride);
  void (*wino_output_row)(const float* m, int64_t mstride, int64_t tw, float bias, float* y, int64_t ldy, int rows, int64_t ow);
  // Batch norm's loops: sum of (x - m)^2; sums of g and g * (x - m), added to *sum_g and
  // *sum_gx; y = x * scale + shift; dx = k * (g - a - (x - m) * c).
  float (*sum_sq_dev)(const float* x, int64_t n, float m);
  void (*sum_prod_dev)(const float* g, const float* x, int64_t n, float m, double* sum_g, double* sum_gx);
  void (*affine)(const float* x, float* y, int64_t n, float scale, float shift);
  void (*norm_backward_row)(const float* x, const float* g, float* dx, int64_t n, float m, float k, float a, float c);
};

// The loops for the active instruction set (cpu.h).
const IsaKernels& isa_kernels();

namespace portable { extern const IsaKernels kKernels; }
namespace avx2 { extern const IsaKernels kKernels; }
namespace avx512 { extern const IsaKernels kKernels; }

}  // namespace tsv
