// Elementwise kernels: unary maps (and their derivatives), broadcasting binary
// arithmetic and comparisons, `where`, fills and dtype casts.
#pragma once
#include <cstdint>

namespace tsv {

// The op codes are indices into these lists; the TypeScript side checks at load
// that its own lists are identical (see unary_op_names()).
#define TSV_UNARY_OPS(X)                                                              \
  X(neg) X(exp) X(log) X(sqrt) X(abs) X(relu) X(sigmoid) X(tanh) X(silu) X(gelu)      \
  X(geluTanh) X(hardswish) X(hardsigmoid) X(leakyRelu) X(clamp) X(powScalar) X(affine) \
  X(sign) X(rdiv)
#define TSV_BINARY_OPS(X) X(add) X(sub) X(mul) X(div) X(pow) X(maximum) X(minimum)
#define TSV_COMPARE_OPS(X) X(eq) X(ne) X(lt) X(le) X(gt) X(ge)

#define TSV_ENUM_ENTRY(name) name,
enum class UnaryOp : int { TSV_UNARY_OPS(TSV_ENUM_ENTRY) kCount };
enum class BinaryOp : int { TSV_BINARY_OPS(TSV_ENUM_ENTRY) kCount };
enum class CompareOp : int { TSV_COMPARE_OPS(TSV_ENUM_ENTRY) kCount };
#undef TSV_ENUM_ENTRY

// Comma-separated names in code order, for the binding's consistency check.
const char* unary_op_names();
const char* binary_op_names();
const char* compare_op_names();

// y = f(x; p0, p1) over n contiguous elements (y may alias x).
void unary(UnaryOp op, const float* x, float* y, int64_t n, float p0, float p1);
// dx = gy * f'(x) over n elements; y = f(x) is passed for ops whose derivative is
// cheaper from the output (exp, sqrt, sigmoid, tanh); it may be null for the others.
void unary_backward(UnaryOp op, const float* x, const float* y, const float* gy, float* dx,
                    int64_t n, float p0, float p1);

// out = a op b, with out contiguous of `shape` and a, b read through strides
// (stride 0 on a broadcast dimension).
void binary(BinaryOp op, int ndim, const int64_t* shape, const float* a, const int64_t* a_strides,
            const float* b, const int64_t* b_strides, float* out);
void compare(CompareOp op, int ndim, const int64_t* shape, const float* a,
             const int64_t* a_strides, const float* b, const int64_t* b_strides, uint8_t* out);
// out = cond ? a : b (cond nonzero bytes), broadcasting like binary.
void where(int ndim, const int64_t* shape, const uint8_t* cond, const int64_t* c_strides,
           const float* a, const int64_t* a_strides, const float* b, const int64_t* b_strides,
           float* out);

}  // namespace tsv
