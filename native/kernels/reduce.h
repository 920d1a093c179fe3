// Reductions over the middle axis of a [outer, r, inner] view, and softmax.
#pragma once
#include <cstdint>

namespace tsv {

#define TSV_REDUCE_OPS(X) X(sum) X(max) X(min)
#define TSV_ENUM_ENTRY(name) name,
enum class ReduceOp : int { TSV_REDUCE_OPS(TSV_ENUM_ENTRY) kCount };
#undef TSV_ENUM_ENTRY
const char* reduce_op_names();

// out[o, i] = reduce_j x[o, j, i]. sum of r == 0 is 0; max/min of r == 0 is not allowed.
// max/min propagate NaN.
void reduce(ReduceOp op, const float* x, int64_t outer, int64_t r, int64_t inner, float* out);
// Index of the first maximum (or minimum) along j; a NaN counts as the extreme.
void arg_reduce(bool is_max, const float* x, int64_t outer, int64_t r, int64_t inner,
                int32_t* out);

// Softmax (or log-softmax) along j of a [outer, r, inner] view.
void softmax(const float* x, int64_t outer, int64_t r, int64_t inner, bool log, float* y);
// dx from y = softmax(x) (or log-softmax) and gy.
void softmax_backward(const float* y, const float* gy, int64_t outer, int64_t r, int64_t inner,
                      bool log, float* dx);

}  // namespace tsv
