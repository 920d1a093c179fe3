// Included by isa_portable.cc, isa_avx2.cc and isa_avx512.cc after their target
// pragma, inside the namespace that names the ISA. No headers here: the
// including file has already included everything (see the note in isa_avx2.cc).
// Everything is plain loops over contiguous or strided runs; the compiler
// vectorises them for the target, and vmath.h supplies branch-free exp/tanh/sigmoid.

namespace {

using vmath::vexp;
using vmath::vsigmoid;
using vmath::vtanh;

constexpr float kSqrtHalf = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kSqrt2OverPi = 0.79788456080286536f;

#define TSV_MAP(expr)                          \
  for (int64_t i = 0; i < n; i++) {            \
    float v = x[i];                            \
    y[i] = (expr);                             \
  }                                            \
  return;

#define TSV_GRAD(expr)                         \
  for (int64_t i = 0; i < n; i++) {            \
    float v = x[i];                            \
    (void)v;                                   \
    dx[i] = gy[i] * (expr);                    \
  }                                            \
  return;

void unary(UnaryOp op, const float* x, float* y, int64_t n, float p0, float p1) {
  switch (op) {
    case UnaryOp::neg: TSV_MAP(-v)
    case UnaryOp::exp: TSV_MAP(vexp(v))
    case UnaryOp::log: TSV_MAP(std::log(v))
    case UnaryOp::sqrt: TSV_MAP(std::sqrt(v))
    case UnaryOp::abs: TSV_MAP(std::fabs(v))
    case UnaryOp::relu: TSV_MAP(v > 0.0f ? v : (v == v ? 0.0f : v))
    case UnaryOp::sigmoid: TSV_MAP(vsigmoid(v))
    case UnaryOp::tanh: TSV_MAP(vtanh(v))
    case UnaryOp::silu: TSV_MAP(v * vsigmoid(v))
    case UnaryOp::gelu: TSV_MAP(0.5f * v * (1.0f + std::erf(v * kSqrtHalf)))
    case UnaryOp::geluTanh:
      TSV_MAP(0.5f * v * (1.0f + vtanh(kSqrt2OverPi * (v + 0.044715f * v * v * v))))
    case UnaryOp::hardswish: TSV_MAP(v * std::fmin(std::fmax(v + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f))
    case UnaryOp::hardsigmoid: TSV_MAP(std::fmin(std::fmax(v + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f))
    case UnaryOp::leakyRelu: TSV_MAP(v > 0.0f ? v : v * p0)
    case UnaryOp::clamp: TSV_MAP(v < p0 ? p0 : (v > p1 ? p1 : v))
    case UnaryOp::powScalar: TSV_MAP(std::pow(v, p0))
    case UnaryOp::affine: TSV_MAP(v * p0 + p1)
    case UnaryOp::sign: TSV_MAP(v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : v))
    case UnaryOp::rdiv: TSV_MAP(p0 / v)
    case UnaryOp::kCount: return;
  }
}

void unary_backward(UnaryOp op, const float* x, const float* y, const float* gy, float* dx,
                    int64_t n, float p0, float p1) {
  switch (op) {
    case UnaryOp::neg: TSV_GRAD(-1.0f)
    case UnaryOp::exp: TSV_GRAD(y[i])
    case UnaryOp::log: TSV_GRAD(1.0f / v)
    case UnaryOp::sqrt: TSV_GRAD(0.5f / y[i])
    case UnaryOp::abs: TSV_GRAD(v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f))
    case UnaryOp::relu: TSV_GRAD(v > 0.0f ? 1.0f : 0.0f)
    case UnaryOp::sigmoid: TSV_GRAD(y[i] * (1.0f - y[i]))
    case UnaryOp::tanh: TSV_GRAD(1.0f - y[i] * y[i])
    case UnaryOp::silu: {
      for (int64_t i = 0; i < n; i++) {
        float v = x[i], s = vsigmoid(v);
        dx[i] = gy[i] * (s * (1.0f + v * (1.0f - s)));
      }
      return;
    }
    case UnaryOp::gelu:
      TSV_GRAD(0.5f * (1.0f + std::erf(v * kSqrtHalf)) + v * kInvSqrt2Pi * vexp(-0.5f * v * v))
    case UnaryOp::geluTanh: {
      // d/dx [0.5 x (1 + tanh(u))], u = c (x + 0.044715 x^3)
      for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float t = vtanh(kSqrt2OverPi * (v + 0.044715f * v * v * v));
        float du = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] = gy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
      }
      return;
    }
    case UnaryOp::hardswish:
      TSV_GRAD(v < -3.0f ? 0.0f : (v > 3.0f ? 1.0f : (2.0f * v + 3.0f) * (1.0f / 6.0f)))
    case UnaryOp::hardsigmoid: TSV_GRAD(v > -3.0f && v < 3.0f ? 1.0f / 6.0f : 0.0f)
    case UnaryOp::leakyRelu: TSV_GRAD(v > 0.0f ? 1.0f : p0)
    case UnaryOp::clamp: TSV_GRAD(v >= p0 && v <= p1 ? 1.0f : 0.0f)
    case UnaryOp::powScalar: TSV_GRAD(p0 == 0.0f ? 0.0f : p0 * std::pow(v, p0 - 1.0f))
    case UnaryOp::affine: TSV_GRAD(p0)
    case UnaryOp::sign: TSV_GRAD(0.0f)
    case UnaryOp::rdiv: TSV_GRAD(-p0 / (v * v))
    case UnaryOp::kCount: return;
  }
}

#undef TSV_MAP
#undef TSV_GRAD

// One row of a broadcasting binary op; the common stride patterns get their own
// loops so that they vectorise.
template <typename F>
inline void binary_row(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n, F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    float bv = b[0];
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    float av = a[0];
    for (int64_t i = 0; i < n; i++) o[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i * sa], b[i * sb]);
  }
}

void binary(BinaryOp op, const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n) {
  switch (op) {
    case BinaryOp::add: return binary_row(a, sa, b, sb, o, n, [](float u, float v) { return u + v; });
    case BinaryOp::sub: return binary_row(a, sa, b, sb, o, n, [](float u, float v) { return u - v; });
    case BinaryOp::mul: return binary_row(a, sa, b, sb, o, n, [](float u, float v) { return u * v; });
    case BinaryOp::div: return binary_row(a, sa, b, sb, o, n, [](float u, float v) { return u / v; });
    case BinaryOp::pow: return binary_row(a, sa, b, sb, o, n, [](float u, float v) { return std::pow(u, v); });
    // NaN propagates, as in PyTorch's maximum/minimum.
    case BinaryOp::maximum:
      return binary_row(a, sa, b, sb, o, n, [](float u, float v) { return (u != u || v != v) ? u + v : (u > v ? u : v); });
    case BinaryOp::minimum:
      return binary_row(a, sa, b, sb, o, n, [](float u, float v) { return (u != u || v != v) ? u + v : (u < v ? u : v); });
    case BinaryOp::kCount: return;
  }
}

// 32 float lanes within blocks of 4096 elements, block totals in double: the
// error stays near float rounding of the result even for millions of terms.
float sum(const float* x, int64_t n) {
  double total = 0.0;
  for (int64_t start = 0; start < n; start += 4096) {
    int64_t end = start + 4096 < n ? start + 4096 : n;
    float acc[32] = {0};
    int64_t i = start;
    for (; i + 32 <= end; i += 32)
      for (int k = 0; k < 32; k++) acc[k] += x[i + k];
    float s = 0.0f;
    for (; i < end; i++) s += x[i];
    for (int k = 0; k < 32; k++) s += acc[k];
    total += s;
  }
  return static_cast<float>(total);
}

// Sum of (x - m)^2, blocked as sum().
float sum_sq_dev(const float* x, int64_t n, float m) {
  double total = 0.0;
  for (int64_t start = 0; start < n; start += 4096) {
    int64_t end = start + 4096 < n ? start + 4096 : n;
    float acc[32] = {0};
    int64_t i = start;
    for (; i + 32 <= end; i += 32)
      for (int k = 0; k < 32; k++) {
        float d = x[i + k] - m;
        acc[k] += d * d;
      }
    float s = 0.0f;
    for (; i < end; i++) s += (x[i] - m) * (x[i] - m);
    for (int k = 0; k < 32; k++) s += acc[k];
    total += s;
  }
  return static_cast<float>(total);
}

// Sums of g and of g * (x - m) together (one pass over both), blocked as sum().
void sum_prod_dev(const float* g, const float* x, int64_t n, float m, double* sum_g, double* sum_gx) {
  double tg = 0.0, tgx = 0.0;
  for (int64_t start = 0; start < n; start += 4096) {
    int64_t end = start + 4096 < n ? start + 4096 : n;
    float a[16] = {0}, b[16] = {0};
    int64_t i = start;
    for (; i + 16 <= end; i += 16)
      for (int k = 0; k < 16; k++) {
        a[k] += g[i + k];
        b[k] += g[i + k] * (x[i + k] - m);
      }
    float sa = 0.0f, sb = 0.0f;
    for (; i < end; i++) {
      sa += g[i];
      sb += g[i] * (x[i] - m);
    }
    for (int k = 0; k < 16; k++) {
      sa += a[k];
      sb += b[k];
    }
    tg += sa;
    tgx += sb;
  }
  *sum_g += tg;
  *sum_gx += tgx;
}

// y = x * scale + shift
void affine(const float* x, float* y, int64_t n, float scale, float shift) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale + shift;
}

// dx = k * (g - a - (x - m) * c)   (batch norm's input gradient)
void norm_backward_row(const float* x, const float* g, float* dx, int64_t n, float m, float k, float a, float c) {
  for (int64_t i = 0; i < n; i++) dx[i] = k * (g[i] - a - (x[i] - m) * c);
}

void accumulate(float* acc, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; i++) acc[i] += x[i];
}

float row_max(const float* x, int64_t n) {
  float m = -__builtin_inff();
  for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

void softmax_row(const float* x, float* y, int64_t n, bool log) {
  float m = row_max(x, n);
  for (int64_t i = 0; i < n; i++)
    if (x[i] != x[i]) m = x[i];  // a NaN makes the whole row NaN
  if (m == -__builtin_inff()) m = 0.0f;  // all -inf: NaN results, as in PyTorch
  // Sum in double: a float sum of 10^5 terms drifts by ~1e-4.
  double s = 0.0;
  if (log) {
    for (int64_t i = 0; i < n; i++) s += vexp(x[i] - m);
    float lse = m + static_cast<float>(std::log(s));
    for (int64_t i = 0; i < n; i++) y[i] = x[i] - lse;
  } else {
    for (int64_t i = 0; i < n; i++) {
      float e = vexp(x[i] - m);
      y[i] = e;
      s += e;
    }
    float inv = static_cast<float>(1.0 / s);
    for (int64_t i = 0; i < n; i++) y[i] *= inv;
  }
}

void softmax_backward_row(const float* y, const float* gy, float* dx, int64_t n, bool log) {
  double s = 0.0;
  if (log) {
    // dx = gy - softmax * sum(gy)
    for (int64_t i = 0; i < n; i++) s += gy[i];
    float sf = static_cast<float>(s);
    for (int64_t i = 0; i < n; i++) dx[i] = gy[i] - vexp(y[i]) * sf;
  } else {
    // dx = y * (gy - sum(gy * y))
    for (int64_t i = 0; i < n; i++) s += gy[i] * y[i];
    float sf = static_cast<float>(s);
    for (int64_t i = 0; i < n; i++) dx[i] = y[i] * (gy[i] - sf);
  }
}

// ---- depthwise convolution, one plane -------------------------------------
// Each output row is the sum over kernel taps of a shifted (strided) input row
// times one weight: the inner loops run along the row and vectorise for stride 1.

// Outputs [lo, hi) of a row whose input column o*s + off lies inside [0, n).
inline void dw_cols(int64_t off, int64_t s, int64_t n, int64_t out, int64_t* lo, int64_t* hi) {
  int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t b = n - off <= 0 ? 0 : (n - off + s - 1) / s;
  *lo = a < out ? a : out;
  *hi = b < out ? b : out;
  if (*hi < *lo) *hi = *lo;
}

// Any kernel, stride and dilation, straight from the unpadded plane.
void dw_forward_generic(const DwPlane& g, const float* x, const float* w, float bias, float* y) {
  for (int64_t oy = 0; oy < g.oh; oy++) {
    float* yr = y + oy * g.ow;
    for (int64_t o = 0; o < g.ow; o++) yr[o] = bias;
    for (int64_t ky = 0; ky < g.kh; ky++) {
      int64_t iy = oy * g.sh - g.ph + ky * g.dh;
      if (iy < 0 || iy >= g.ih) continue;
      const float* xr = x + iy * g.iw;
      for (int64_t kx = 0; kx < g.kw; kx++) {
        float wv = w[ky * g.kw + kx];
        int64_t off = kx * g.dw - g.pw, lo, hi;
        dw_cols(off, g.sw, g.iw, g.ow, &lo, &hi);
        if (g.sw == 1) {
          const float* xs = xr + off;
          for (int64_t o = lo; o < hi; o++) yr[o] += wv * xs[o];
        } else {
          for (int64_t o = lo; o < hi; o++) yr[o] += wv * xr[o * g.sw + off];
        }
      }
    }
  }
}

// n outputs y[o] = bias + sum_t w[t] * src[off[t] + o]: all T taps of an output in
// registers, vectorised along o (T is a compile-time constant, so the tap loop unrolls).
template <int T>
void dw_line(const float* src, const int64_t* off, const float* w, float bias, float* y, int64_t n) {
  // 32 outputs at a time: four independent vector accumulators hide the FMA latency that a
  // single chain of T dependent multiply-adds would expose
  constexpr int kB = 32;
  int64_t o = 0;
  for (; o + kB <= n; o += kB) {
    float acc[kB];
    for (int j = 0; j < kB; j++) acc[j] = bias;
#pragma GCC unroll 49
    for (int t = 0; t < T; t++) {
      const float* p = src + off[t] + o;
      const float wt = w[t];
      for (int j = 0; j < kB; j++) acc[j] += wt * p[j];
    }
    for (int j = 0; j < kB; j++) y[o + j] = acc[j];
  }
  for (; o + 8 <= n; o += 8) {
    float acc[8];
    for (int j = 0; j < 8; j++) acc[j] = bias;
#pragma GCC unroll 49
    for (int t = 0; t < T; t++) {
      const float* p = src + off[t] + o;
      const float wt = w[t];
      for (int j = 0; j < 8; j++) acc[j] += wt * p[j];
    }
    for (int j = 0; j < 8; j++) y[o + j] = acc[j];
  }
  for (; o < n; o++) {
    float acc = bias;
#pragma GCC unroll 49
    for (int t = 0; t < T; t++) acc += w[t] * src[off[t] + o];
    y[o] = acc;
  }
}

// Square kernels of 3, 5 or 7 taps without dilation (every depthwise layer of the model
// zoo). The plane is first copied into `scratch` with its zero padding and, for stride s,
// its columns split into s phases (phase q holds padded columns q, q+s, ...), so every
// tap of every output row is a contiguous run and the loop has no edge cases. Small
// planes at stride 1 are computed as one flat run over the padded width (the columns past
// the row's end are discarded), so a 7x7 plane is one loop of 61 rather than seven of 7.
// scratch holds dw_scratch_floats(g) floats.
// Phase q of one padded row (entry j: padded column j*S + q, input column j*S + q - pw),
// zeros outside the input. S is a template argument so that the strided read vectorises.
template <int S>
inline void dw_phase(const float* xr, int64_t iw, int64_t pw, int64_t q, int64_t pl, float* ph) {
  const int64_t first = q - pw;  // input column of entry 0
  const int64_t lo = first >= 0 ? 0 : (-first + S - 1) / S;
  const int64_t end = (iw - first + S - 1) / S, hi = end < pl ? end : pl;
  for (int64_t j = 0; j < lo; j++) ph[j] = 0.0f;
  for (int64_t j = lo; j < hi; j++) ph[j] = xr[j * S + first];
  for (int64_t j = hi > lo ? hi : lo; j < pl; j++) ph[j] = 0.0f;
}

template <int K>
void dw_forward_k(const DwPlane& g, const float* x, const float* w, float bias, float* y, float* scratch) {
  const int64_t s = g.sw, hp = g.ih + 2 * g.ph, wp = g.iw + 2 * g.pw;
  const int64_t pl = (wp + s - 1) / s;  // floats per phase
  const int64_t pitch = s * pl;         // floats per padded row
  float* xp = scratch;
  // only the border rows are zeroed here; each input row zeroes its own padding
  for (int64_t i = 0; i < g.ph * pitch; i++) xp[i] = 0.0f;
  for (int64_t i = (g.ph + g.ih) * pitch; i < hp * pitch; i++) xp[i] = 0.0f;
  for (int64_t r = 0; r < g.ih; r++) {
    const float* xr = x + r * g.iw;
    float* row = xp + (r + g.ph) * pitch;
    if (s == 1) {
      for (int64_t c = 0; c < g.pw; c++) row[c] = 0.0f;
      for (int64_t c = 0; c < g.iw; c++) row[g.pw + c] = xr[c];
      for (int64_t c = g.pw + g.iw; c < pitch; c++) row[c] = 0.0f;
    } else if (s == 2) {
      for (int64_t q = 0; q < 2; q++) dw_phase<2>(xr, g.iw, g.pw, q, pl, row + q * pl);
    } else {
      for (int64_t q = 0; q < s; q++) {
        float* ph = row + q * pl;
        const int64_t first = q - g.pw;
        for (int64_t j = 0; j < pl; j++) {
          const int64_t c = j * s + first;
          ph[j] = c >= 0 && c < g.iw ? xr[c] : 0.0f;
        }
      }
    }
  }
  int64_t off[K * K];
  for (int ky = 0; ky < K; ky++)
    for (int kx = 0; kx < K; kx++) off[ky * K + kx] = ky * pitch + (kx % s) * pl + kx / s;
  if (s == 1 && g.sh == 1 && g.ow < 32) {
    float* z = xp + hp * pitch;
    dw_line<K * K>(xp, off, w, bias, z, (g.oh - 1) * pitch + g.ow);
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t o = 0; o < g.ow; o++) y[oy * g.ow + o] = z[oy * pitch + o];
    return;
  }
  for (int64_t oy = 0; oy < g.oh; oy++) dw_line<K * K>(xp + oy * g.sh * pitch, off, w, bias, y + oy * g.ow, g.ow);
}

void dw_forward(const DwPlane& g, const float* x, const float* w, float bias, float* y, float* scratch) {
  const bool square = g.kh == g.kw && g.dh == 1 && g.dw == 1 && scratch;
  if (square && g.kh == 3) return dw_forward_k<3>(g, x, w, bias, y, scratch);
  if (square && g.kh == 5) return dw_forward_k<5>(g, x, w, bias, y, scratch);
  if (square && g.kh == 7) return dw_forward_k<7>(g, x, w, bias, y, scratch);
  dw_forward_generic(g, x, w, bias, y);
}

void dw_backward_input(const DwPlane& g, const float* w, const float* dy, float* dx) {
  for (int64_t i = 0; i < g.ih * g.iw; i++) dx[i] = 0.0f;
  for (int64_t oy = 0; oy < g.oh; oy++) {
    const float* gr = dy + oy * g.ow;
    for (int64_t ky = 0; ky < g.kh; ky++) {
      int64_t iy = oy * g.sh - g.ph + ky * g.dh;
      if (iy < 0 || iy >= g.ih) continue;
      float* xr = dx + iy * g.iw;
      for (int64_t kx = 0; kx < g.kw; kx++) {
        float wv = w[ky * g.kw + kx];
        int64_t off = kx * g.dw - g.pw, lo, hi;
        dw_cols(off, g.sw, g.iw, g.ow, &lo, &hi);
        if (g.sw == 1) {
          float* xs = xr + off;
          for (int64_t o = lo; o < hi; o++) xs[o] += wv * gr[o];
        } else {
          for (int64_t o = lo; o < hi; o++) xr[o * g.sw + off] += wv * gr[o];
        }
      }
    }
  }
}

// Dot product with 16 independent partial sums, so it vectorises without
// reassociation flags.
inline float dot(const float* a, const float* b, int64_t n) {
  float acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; k++) acc[k] += a[i + k] * b[i + k];
  float s = 0.0f;
  for (; i < n; i++) s += a[i] * b[i];
  for (int k = 0; k < 16; k++) s += acc[k];
  return s;
}

void dw_backward_weight(const DwPlane& g, const float* x, const float* dy, float* dw) {
  for (int64_t ky = 0; ky < g.kh; ky++)
    for (int64_t kx = 0; kx < g.kw; kx++) {
      int64_t off = kx * g.dw - g.pw, lo, hi;
      dw_cols(off, g.sw, g.iw, g.ow, &lo, &hi);
      float acc = 0.0f;
      for (int64_t oy = 0; oy < g.oh; oy++) {
        int64_t iy = oy * g.sh - g.ph + ky * g.dh;
        if (iy < 0 || iy >= g.ih) continue;
        const float* xr = x + iy * g.iw;
        const float* gr = dy + oy * g.ow;
        float row = 0.0f;
        if (g.sw == 1) {
          row = dot(gr + lo, xr + off + lo, hi - lo);
        } else {
          for (int64_t o = lo; o < hi; o++) row += gr[o] * xr[o * g.sw + off];
        }
        acc += row;
      }
      dw[ky * g.kw + kx] += acc;
    }
}

// ---- Winograd F(4x4, 3x3) tile transforms (winograd.cc has the algorithm) ----
// Eight tiles of a tile row at a time, one per lane: the rows are phase-split (phase q
// of a padded row holds its columns q, q+4, q+8, ...), so a tile's six columns 4t..4t+5
// are phases 0-3 at entry t and phases 0-1 at entry t+1, all contiguous across tiles.

// d: six values per lane -> B^T d (B^T of F(4x4, 3x3): rows 4 0 -5 0 1 0 / 0 -4 -4 1 1 0 /
// 0 4 -4 -1 1 0 / 0 -2 -1 2 1 0 / 0 2 -1 -2 1 0 / 0 4 0 -5 0 1).
inline void wino_bt(const float (*d)[8], float (*o)[8]) {
  for (int i = 0; i < 8; i++) {
    const float d0 = d[0][i], d1 = d[1][i], d2 = d[2][i], d3 = d[3][i], d4 = d[4][i], d5 = d[5][i];
    o[0][i] = 4.0f * d0 - 5.0f * d2 + d4;
    o[1][i] = -4.0f * (d1 + d2) + d3 + d4;
    o[2][i] = 4.0f * (d1 - d2) - d3 + d4;
    o[3][i] = 2.0f * (d3 - d1) - d2 + d4;
    o[4][i] = 2.0f * (d1 - d3) - d2 + d4;
    o[5][i] = 4.0f * d1 - 5.0f * d3 + d5;
  }
}

// m: six values per lane -> A^T m (A^T: rows 1 1 1 1 1 0 / 0 1 -1 2 -2 0 / 0 1 1 4 4 0 /
// 0 1 -1 8 -8 1).
inline void wino_at(const float (*m)[8], float (*o)[8]) {
  for (int i = 0; i < 8; i++) {
    const float a = m[1][i] + m[2][i], b = m[1][i] - m[2][i], c = m[3][i] + m[4][i], d = m[3][i] - m[4][i];
    o[0][i] = m[0][i] + a + c;
    o[1][i] = b + 2.0f * d;
    o[2][i] = a + 4.0f * c;
    o[3][i] = b + 8.0f * d + m[5][i];
  }
}

// One tile row's input transform: rows[r * rstride + q * pl + t] is phase q of padded row
// r (0..5), entries 0..tw (padded to whole groups of 8, plus one); writes the 36 values
// of tile t to v[xi * vstride + t], xi = 6 * row + column of B^T d B.
void wino_input_row(const float* rows, int64_t rstride, int64_t pl, int64_t tw, float* v, int64_t vstride) {
  for (int64_t t0 = 0; t0 < tw; t0 += 8) {
    float d[6][8], h[6][6][8], c[6][8], o[6][8];
    for (int r = 0; r < 6; r++) {
      const float* row = rows + r * rstride + t0;
      for (int i = 0; i < 8; i++) {
        d[0][i] = row[i];
        d[1][i] = row[pl + i];
        d[2][i] = row[2 * pl + i];
        d[3][i] = row[3 * pl + i];
        d[4][i] = row[i + 1];
        d[5][i] = row[pl + i + 1];
      }
      wino_bt(d, h[r]);  // h[r][j]: row r across the tile's columns
    }
    const int64_t n = tw - t0 < 8 ? tw - t0 : 8;
    for (int j = 0; j < 6; j++) {
      for (int r = 0; r < 6; r++)
        for (int i = 0; i < 8; i++) c[r][i] = h[r][j][i];
      wino_bt(c, o);  // o[k]: element (k, j) of B^T d B
      for (int k = 0; k < 6; k++) {
        float* dst = v + (6 * k + j) * vstride + t0;
        if (n == 8) {
          for (int i = 0; i < 8; i++) dst[i] = o[k][i];
        } else {
          for (int64_t i = 0; i < n; i++) dst[i] = o[k][i];
        }
      }
    }
  }
}

// One tile row's output transform: reads tile t's 36 products at m[xi * mstride + t] and
// writes A^T M A + bias to `rows` (<= 4) rows of y, `ldy` apart, columns [0, ow).
void wino_output_row(const float* m, int64_t mstride, int64_t tw, float bias, float* y, int64_t ldy, int rows, int64_t ow) {
  for (int64_t t0 = 0; t0 < tw; t0 += 8) {
    float p[6][8], s[4][6][8], q[6][8], o[4][4][8];
    for (int j = 0; j < 6; j++) {  // down each column of M: s[k][j] = (A^T M)[k][j]
      for (int r = 0; r < 6; r++)
        for (int i = 0; i < 8; i++) p[r][i] = m[(6 * r + j) * mstride + t0 + i];
      float a[4][8];
      wino_at(p, a);
      for (int k = 0; k < 4; k++)
        for (int i = 0; i < 8; i++) s[k][j][i] = a[k][i];
    }
    for (int k = 0; k < 4; k++) {  // along each row: o[k][l] = (A^T M A)[k][l]
      for (int j = 0; j < 6; j++)
        for (int i = 0; i < 8; i++) q[j][i] = s[k][j][i];
      wino_at(q, o[k]);
    }
    const int64_t x0 = 4 * t0, cols = ow - x0 < 32 ? ow - x0 : 32;
    for (int k = 0; k < rows; k++) {
      float line[32];
      for (int i = 0; i < 8; i++)
        for (int l = 0; l < 4; l++) line[4 * i + l] = o[k][l][i] + bias;
      float* dst = y + k * ldy + x0;
      for (int64_t c = 0; c < cols; c++) dst[c] = line[c];
    }
  }
}

}  // namespace

const IsaKernels kKernels = {unary, unary_backward, binary, sum, accumulate, softmax_row, softmax_backward_row,
                             dw_forward, dw_backward_input, dw_backward_weight,
                             wino_input_row, wino_output_row,
                             sum_sq_dev, sum_prod_dev, affine, norm_backward_row};
