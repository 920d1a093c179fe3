#include "elementwise.h"

#include <cmath>

#include "../cpu.h"
#include "isa_kernels.h"
#include "strided.h"

namespace tsv {

#define TSV_NAME_ENTRY(name) #name ","
const char* unary_op_names() { return TSV_UNARY_OPS(TSV_NAME_ENTRY); }
const char* binary_op_names() { return TSV_BINARY_OPS(TSV_NAME_ENTRY); }
const char* compare_op_names() { return TSV_COMPARE_OPS(TSV_NAME_ENTRY); }
#undef TSV_NAME_ENTRY

const IsaKernels& isa_kernels() {
  switch (active_isa()) {
    case Isa::Avx512: return avx512::kKernels;
    case Isa::Avx2: return avx2::kKernels;
    default: return portable::kKernels;
  }
}

void unary(UnaryOp op, const float* x, float* y, int64_t n, float p0, float p1) {
  const IsaKernels& k = isa_kernels();
  parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) { k.unary(op, x + b, y + b, e - b, p0, p1); });
}

void unary_backward(UnaryOp op, const float* x, const float* y, const float* gy, float* dx,
                    int64_t n, float p0, float p1) {
  const IsaKernels& k = isa_kernels();
  parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) {
    k.unary_backward(op, x ? x + b : nullptr, y ? y + b : nullptr, gy + b, dx + b, e - b, p0, p1);
  });
}

namespace {

// Comparisons: a uint8 result per element (not hot enough to need ISA variants).
template <typename T, typename F>
void broadcast2(int ndim, const int64_t* shape, const float* a, const int64_t* as, const float* b,
                const int64_t* bs, T* out, F f) {
  int64_t os[kMaxDims];
  contiguous_strides(ndim, shape, os);
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
  int64_t os[kMaxDims];
  contiguous_strides(ndim, shape, os);
  const int64_t* strides[3] = {os, as, bs};
  Strided<3> it(ndim, shape, strides);
  const IsaKernels& k = isa_kernels();
  it.parallel_rows(kElementwiseGrain, [&](const int64_t* off, int64_t n, const int64_t* st) {
    k.binary(op, a + off[1], st[1], b + off[2], st[2], out + off[0], n);
  });
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
  contiguous_strides(ndim, shape, os);
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
