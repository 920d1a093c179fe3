#include "elementwise.h"

#include <cmath>

#include "strided.h"

namespace tsv {

#define TSV_NAME_ENTRY(name) #name ","
const char* unary_op_names() { return TSV_UNARY_OPS(TSV_NAME_ENTRY); }
const char* binary_op_names() { return TSV_BINARY_OPS(TSV_NAME_ENTRY); }
const char* compare_op_names() { return TSV_COMPARE_OPS(TSV_NAME_ENTRY); }
#undef TSV_NAME_ENTRY

namespace {

constexpr float kSqrtHalf = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kSqrt2OverPi = 0.79788456080286536f;

inline float sigmoid(float x) {
  // Written so that exp never overflows: exp(-|x|) is in (0, 1].
  float e = std::exp(-std::fabs(x));
  float s = 1.0f / (1.0f + e);
  return x >= 0 ? s : e * s;
}

// Applies `f` over [0, n) in parallel chunks; f(begin, end).
template <typename F>
void chunks(int64_t n, F&& f) {
  parallel_for(n, kElementwiseGrain, f);
}

#define TSV_MAP(expr)                                            \
  chunks(n, [&](int64_t b, int64_t e) {                          \
    for (int64_t i = b; i < e; i++) {                            \
      float v = x[i];                                            \
      (void)v;                                                   \
      y[i] = (expr);                                             \
    }                                                            \
  });                                                            \
  return;

#define TSV_GRAD(expr)                                           \
  chunks(n, [&](int64_t b, int64_t e) {                          \
    for (int64_t i = b; i < e; i++) {                            \
      float v = x ? x[i] : 0.0f;                                 \
      (void)v;                                                   \
      dx[i] = gy[i] * (expr);                                    \
    }                                                            \
  });                                                            \
  return;

}  // namespace

void unary(UnaryOp op, const float* x, float* y, int64_t n, float p0, float p1) {
  switch (op) {
    case UnaryOp::neg: TSV_MAP(-v)
    case UnaryOp::exp: TSV_MAP(std::exp(v))
    case UnaryOp::log: TSV_MAP(std::log(v))
    case UnaryOp::sqrt: TSV_MAP(std::sqrt(v))
    case UnaryOp::abs: TSV_MAP(std::fabs(v))
    case UnaryOp::relu: TSV_MAP(v > 0.0f ? v : (v == v ? 0.0f : v))
    case UnaryOp::sigmoid: TSV_MAP(sigmoid(v))
    case UnaryOp::tanh: TSV_MAP(std::tanh(v))
    case UnaryOp::silu: TSV_MAP(v * sigmoid(v))
    case UnaryOp::gelu: TSV_MAP(0.5f * v * (1.0f + std::erf(v * kSqrtHalf)))
    case UnaryOp::geluTanh:
      TSV_MAP(0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v))))
    case UnaryOp::hardswish: TSV_MAP(v * std::fmin(std::fmax(v + 3.0f, 0.0f), 6.0f) / 6.0f)
    case UnaryOp::hardsigmoid: TSV_MAP(std::fmin(std::fmax(v + 3.0f, 0.0f), 6.0f) / 6.0f)
    case UnaryOp::leakyRelu: TSV_MAP(v > 0.0f ? v : v * p0)
    case UnaryOp::clamp: TSV_MAP(v < p0 ? p0 : (v > p1 ? p1 : v))
    case UnaryOp::powScalar: TSV_MAP(std::pow(v, p0))
    case UnaryOp::affine: TSV_MAP(v * p0 + p1)
    case UnaryOp::sign: TSV_MAP(v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : v))
    case UnaryOp::rdiv: TSV_MAP(p0 / v)
    case UnaryOp::kCount: break;
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
      TSV_GRAD(sigmoid(v) * (1.0f + v * (1.0f - sigmoid(v))))
    }
    case UnaryOp::gelu:
      TSV_GRAD(0.5f * (1.0f + std::erf(v * kSqrtHalf)) + v * kInvSqrt2Pi * std::exp(-0.5f * v * v))
    case UnaryOp::geluTanh: {
      // d/dx [0.5 x (1 + tanh(u))], u = c (x + 0.044715 x^3)
      TSV_GRAD([&] {
        float t = std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v));
        float du = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * v * v);
        return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
      }())
    }
    case UnaryOp::hardswish: TSV_GRAD(v < -3.0f ? 0.0f : (v > 3.0f ? 1.0f : (2.0f * v + 3.0f) / 6.0f))
    case UnaryOp::hardsigmoid: TSV_GRAD(v > -3.0f && v < 3.0f ? 1.0f / 6.0f : 0.0f)
    case UnaryOp::leakyRelu: TSV_GRAD(v > 0.0f ? 1.0f : p0)
    case UnaryOp::clamp: TSV_GRAD(v >= p0 && v <= p1 ? 1.0f : 0.0f)
    case UnaryOp::powScalar: TSV_GRAD(p0 == 0.0f ? 0.0f : p0 * std::pow(v, p0 - 1.0f))
    case UnaryOp::affine: TSV_GRAD(p0)
    case UnaryOp::sign: TSV_GRAD(0.0f)
    case UnaryOp::rdiv: TSV_GRAD(-p0 / (v * v))
    case UnaryOp::kCount: break;
  }
  (void)p1;
}

namespace {

template <typename T, typename F>
void broadcast2(int ndim, const int64_t* shape, const float* a, const int64_t* as, const float* b,
                const int64_t* bs, T* out, F f) {
  int64_t os[kMaxDims];
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    os[d] = s;
    s *= shape[d];
  }
  const int64_t* strides[3] = {os, as, bs};
  Strided<3> it(ndim, shape, strides);
  it.parallel_rows(kElementwiseGrain, [&](const int64_t* off, int64_t n, const int64_t* st) {
    T* o = out + off[0];
    const float* pa = a + off[1];
    const float* pb = b + off[2];
    int64_t sa = st[1], sb = st[2];
    // Specialise the common stride patterns so the compiler vectorises them.
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < n; i++) o[i] = f(pa[i], pb[i]);
    } else if (sa == 1 && sb == 0) {
      float bv = pb[0];
      for (int64_t i = 0; i < n; i++) o[i] = f(pa[i], bv);
    } else if (sa == 0 && sb == 1) {
      float av = pa[0];
      for (int64_t i = 0; i < n; i++) o[i] = f(av, pb[i]);
    } else {
      for (int64_t i = 0; i < n; i++) o[i] = f(pa[i * sa], pb[i * sb]);
    }
  });
}

}  // namespace

void binary(BinaryOp op, int ndim, const int64_t* shape, const float* a, const int64_t* as,
            const float* b, const int64_t* bs, float* out) {
  auto run = [&](auto f) { broadcast2<float>(ndim, shape, a, as, b, bs, out, f); };
  switch (op) {
    case BinaryOp::add: return run([](float u, float v) { return u + v; });
    case BinaryOp::sub: return run([](float u, float v) { return u - v; });
    case BinaryOp::mul: return run([](float u, float v) { return u * v; });
    case BinaryOp::div: return run([](float u, float v) { return u / v; });
    case BinaryOp::pow: return run([](float u, float v) { return std::pow(u, v); });
    // NaN propagates as in PyTorch's maximum/minimum.
    case BinaryOp::maximum:
      return run([](float u, float v) { return (u != u || v != v) ? u + v : (u > v ? u : v); });
    case BinaryOp::minimum:
      return run([](float u, float v) { return (u != u || v != v) ? u + v : (u < v ? u : v); });
    case BinaryOp::kCount: return;
  }
}

void compare(CompareOp op, int ndim, const int64_t* shape, const float* a, const int64_t* as,
             const float* b, const int64_t* bs, uint8_t* out) {
  auto run = [&](auto f) { broadcast2<uint8_t>(ndim, shape, a, as, b, bs, out, f); };
  switch (op) {
    case CompareOp::eq: return run([](float u, float v) -> uint8_t { return u == v; });
    case CompareOp::ne: return run([](float u, float v) -> uint8_t { return u != v; });
    case CompareOp::lt: return run([](float u, float v) -> uint8_t { return u < v; });
    case CompareOp::le: return run([](float u, float v) -> uint8_t { return u <= v; });
    case CompareOp::gt: return run([](float u, float v) -> uint8_t { return u > v; });
    case CompareOp::ge: return run([](float u, float v) -> uint8_t { return u >= v; });
    case CompareOp::kCount: return;
  }
}

void where(int ndim, const int64_t* shape, const uint8_t* cond, const int64_t* cs, const float* a,
           const int64_t* as, const float* b, const int64_t* bs, float* out) {
  int64_t os[kMaxDims];
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    os[d] = s;
    s *= shape[d];
  }
  const int64_t* strides[4] = {os, cs, as, bs};
  Strided<4> it(ndim, shape, strides);
  it.parallel_rows(kElementwiseGrain, [&](const int64_t* off, int64_t n, const int64_t* st) {
    float* o = out + off[0];
    const uint8_t* pc = cond + off[1];
    const float* pa = a + off[2];
    const float* pb = b + off[3];
    for (int64_t i = 0; i < n; i++) o[i] = pc[i * st[1]] ? pa[i * st[2]] : pb[i * st[3]];
  });
}

}  // namespace tsv
