// Data movement: strided copies (permute, slice, pad, concat, broadcast), fills,
// dtype casts, and indexed reads / scatter-adds along one axis.
#pragma once
#include <cstdint>

namespace tsv {

// dst[dst_offset + sum_d i_d*dst_strides[d]] = src[src_offset + sum_d i_d*src_strides[d]]
// for every index i of `shape`; elem_size is 1 or 4 (float32 and int32 share a copy).
void copy_strided(int elem_size, int ndim, const int64_t* shape, const void* src,
                  int64_t src_offset, const int64_t* src_strides, void* dst, int64_t dst_offset,
                  const int64_t* dst_strides);
// dst[...] += src[...] with the same addressing (float32). Used by backward passes
// of views that may overlap (broadcast reads are summed with reduce instead).
void add_strided(int ndim, const int64_t* shape, const float* src, int64_t src_offset,
                 const int64_t* src_strides, float* dst, int64_t dst_offset,
                 const int64_t* dst_strides);

void fill(float* out, int64_t n, float value);

// Casts between float32 (0), int32 (1) and uint8 (2); float -> int truncates toward zero.
void cast(int from, const void* src, int to, void* dst, int64_t n);

// out[o, j, i] = x[o, idx[j], i] for x [outer, n, inner] and idx [k]: idx values are checked by the caller.
void index_select(const float* x, int64_t outer, int64_t n, int64_t inner, const int32_t* idx,
                  int64_t k, float* out);
// out[o, idx[j], i] += g[o, j, i]
void index_add(const float* g, int64_t outer, int64_t n, int64_t inner, const int32_t* idx,
               int64_t k, float* out);
// out[o, j, i] = x[o, idx[o, j, i], i] for x [outer, n, inner], idx and out [outer, k, inner].
void gather(const float* x, int64_t outer, int64_t n, int64_t inner, const int32_t* idx,
            int64_t k, float* out);
// out[o, idx[o, j, i], i] += g[o, j, i]
void scatter_add(const float* g, int64_t outer, int64_t n, int64_t inner, const int32_t* idx,
                 int64_t k, float* out);

}  // namespace tsv
