// Float math written so that the compiler vectorises it: no library calls, no
// branches (selects only), bit casts through memcpy. Included by the per-ISA
// kernel files after their `#pragma GCC target`, so the same source becomes SSE2,
// AVX2 or AVX-512 code. Accuracy: vexp within 2 ulp; vtanh and vsigmoid within a
// few ulp (absolute error < 1e-7 near 0 for tanh).
#pragma once
#include <cstdint>
#include <cstring>

namespace tsv {
namespace vmath {

static inline float bits_to_float(int32_t i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}

// exp(x) = 2^n * p(r), n = round(x / ln2), r = x - n ln2 (ln2 split in two parts
// so r is exact), p a degree-6 Taylor/minimax polynomial on |r| <= ln2/2.
static inline float vexp(float x) {
  const float hi = 88.7228391f, lo = -87.3365447505531f;  // ln(FLT_MAX), ln(FLT_MIN)
  float xc = x > hi ? hi : (x < lo ? lo : x);
  // Round to nearest by the 1.5*2^23 trick (vectorises on SSE2, unlike nearbyint).
  float t = xc * 1.44269504088896341f + 12582912.0f;
  float n = t - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n as two factors, since n reaches 128 just below ln(FLT_MAX).
  int32_t ni = static_cast<int32_t>(n);
  int32_t half = ni >> 1;
  float y = p * bits_to_float((half + 127) << 23) * bits_to_float((ni - half + 127) << 23);
  y = x > hi ? __builtin_inff() : y;
  y = x < lo ? 0.0f : y;
  return x != x ? x : y;
}

// sigmoid without overflow: e = exp(-|x|) is in (0, 1].
static inline float vsigmoid(float x) {
  float ax = x < 0.0f ? -x : x;
  float e = vexp(-ax);
  float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : (x != x ? x : e * s);
}

// tanh(|x|) = -expm1(-2|x|) / (2 + expm1(-2|x|)); expm1 by its Taylor series
// near 0 (where exp(y) - 1 would cancel), by exp(y) - 1 elsewhere.
static inline float vtanh(float x) {
  float ax = x < 0.0f ? -x : x;
  float y = -2.0f * ax;
  float series = y * (1.0f + y * (0.5f + y * (1.0f / 6 + y * (1.0f / 24 + y * (1.0f / 120 + y * (1.0f / 720 + y * (1.0f / 5040)))))));
  float em1 = ax < 0.25f ? series : vexp(y) - 1.0f;
  float t = -em1 / (2.0f + em1);
  t = ax > 9.0f ? 1.0f : t;
  float r = x < 0.0f ? -t : t;
  return x != x ? x : r;
}

}  // namespace vmath
}  // namespace tsv
